"""Settings for the test suite: the production settings plus test-only helpers."""

from heeded.settings import *  # noqa: F403
from heeded.settings import INSTALLED_APPS
from lib.env import env_bool

# heeded.testing overrides `flush` so TransactionTestCase can empty the append-only
# ledger between tests; production never installs it.
INSTALLED_APPS = ["heeded.testing", *INSTALLED_APPS]
# Fast MD5, counted: the lockout tests assert how many passwords were hashed.
PASSWORD_HASHERS = ["heeded.testing.hashers.CountingMD5PasswordHasher"]
# Off unless a test turns it on (or a child process is started with it on).
AXES_ENABLED = env_bool("HEEDED_AXES_ENABLED", False)
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
# Most tests sign users in with force_login and no second factor; the tests of the
# requirement (accounts/tests/test_mfa.py, the browser test) turn it on.
HEEDED_MFA_REQUIRED = "none"
