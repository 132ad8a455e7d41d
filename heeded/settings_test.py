"""Settings for the test suite: the production settings plus test-only helpers."""

from heeded.settings import *  # noqa: F403
from heeded.settings import INSTALLED_APPS

# heeded.testing overrides `flush` so TransactionTestCase can empty the append-only
# ledger between tests; production never installs it.
INSTALLED_APPS = ["heeded.testing", *INSTALLED_APPS]
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
AXES_ENABLED = False
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
