"""Heeded's settings: every value comes from the environment (see .env.example).

Defaults run a fresh checkout on an embedded SQLite database under ``var/``.
"""

from __future__ import annotations

import re
import secrets
import zoneinfo
from pathlib import Path

import dj_database_url

from lib.env import (
    ConfigError,
    env_bool,
    env_choice,
    env_colour,
    env_file,
    env_int,
    env_list,
    env_networks,
    env_str,
    parse_email_url,
)

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = Path(env_str("HEEDED_DATA_DIR", str(BASE_DIR / "var"))).resolve()
DATA_DIR.mkdir(parents=True, exist_ok=True)

DEBUG = env_bool("HEEDED_DEBUG", False)


def _secret_key() -> str:
    configured = env_str("HEEDED_SECRET_KEY")
    if configured:
        if len(configured) < 32:
            raise ConfigError("HEEDED_SECRET_KEY: use at least 32 characters")
        return configured
    # Embedded default: one random key per data directory, created on first start,
    # so a fresh checkout works and sessions survive restarts.
    key_file = DATA_DIR / "secret.key"
    if not key_file.exists():
        key_file.write_text(secrets.token_urlsafe(50), encoding="utf-8")
        key_file.chmod(0o600)
    return key_file.read_text(encoding="utf-8").strip()


SECRET_KEY = _secret_key()
ALLOWED_HOSTS = env_list("HEEDED_ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("HEEDED_CSRF_TRUSTED_ORIGINS")
HEEDED_BASE_URL = env_str("HEEDED_BASE_URL", "http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "axes",
    "csp",
    "heeded",
    "lib",
    "accounts",
    "clients",
    "catalog",
    "recommendations",
    "ledger",
    "followup",
    "answers",
    "api",
    "web",
    "tracker",
    "verification",
    "reports",
]

MIDDLEWARE = [
    # First, so every response and every log line of the request carries its id.
    "lib.requestid.RequestIdMiddleware",
    # /healthz answers here, before sessions, CSRF and the HTTPS redirect.
    "heeded.health.HealthMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Before anything reads the body: an oversized upload is refused unread.
    "lib.uploads.RequestSizeLimitMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Ends idle and too old sessions (HEEDED_SESSION_IDLE_MINUTES, _MAX_HOURS).
    "accounts.sessions.SessionExpiryMiddleware",
    "accounts.middleware.UserLanguageMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    # After authentication: a user who must have a second factor sets it up first.
    "accounts.mfa.MfaRequiredMiddleware",
    # Logs a page that refused (404, 403) with the actor and the request id.
    "accounts.securityevents.SecurityEventMiddleware",
    # Axes must come last: it inspects the outcome of authentication.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "heeded.urls"
WSGI_APPLICATION = "heeded.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "csp.context_processors.nonce",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------
SQLITE_DEFAULT = f"sqlite:///{DATA_DIR / 'heeded.sqlite3'}"
DATABASE_URL = env_str("DATABASE_URL", SQLITE_DEFAULT)
try:
    _db = dj_database_url.parse(DATABASE_URL, conn_max_age=env_int("HEEDED_DB_CONN_MAX_AGE", 0))
except ValueError as exc:
    raise ConfigError(f"DATABASE_URL: {exc}") from exc
if _db["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets readers work beside the single writer; IMMEDIATE takes the write
    # lock at BEGIN, so two writers queue on the busy timeout instead of one of
    # them failing half-way with "database is locked" on upgrade.
    _db["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": env_int("HEEDED_SQLITE_BUSY_TIMEOUT", 30, minimum=1),
        "init_command": (
            "PRAGMA journal_mode=WAL;PRAGMA synchronous=NORMAL;PRAGMA foreign_keys=ON;"
        ),
    }
    _db["TEST"] = {"NAME": str(DATA_DIR / "test.sqlite3")}
elif _db["ENGINE"] == "django.db.backends.postgresql":
    _db.setdefault("OPTIONS", {})
else:
    raise ConfigError("DATABASE_URL: Heeded supports sqlite:// and postgres:// URLs")
DATABASES = {"default": _db}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Auth -----------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
# Axes first: it refuses a locked-out attempt before any password is hashed. Then
# allauth's backend alone (a ModelBackend subclass, so permissions still work), made
# to check each account once: with Django's ModelBackend beside it, and an e-mail
# login looked up twice, a failed attempt hashed the password two or three times.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "accounts.backends.StaffAuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 10},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "web:dashboard"
ACCOUNT_LOGIN_METHODS = {"username", "email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "username*", "password1*", "password2*"]
ACCOUNT_EMAIL_VERIFICATION = "none"
# accounts.adapters.StaffAccountAdapter with its e-mails queued in the outbox.
ACCOUNT_ADAPTER = "web.accountmail.OutboxAccountAdapter"
# Password reset (accounts/passwords.py): the same answer whether or not an account
# has the address, no mail at all to an unknown one, the key made at delivery.
ACCOUNT_PREVENT_ENUMERATION = True
ACCOUNT_EMAIL_UNKNOWN_ACCOUNTS = False
PASSWORD_RESET_TIMEOUT = env_int("HEEDED_PASSWORD_RESET_MINUTES", 60, minimum=5) * 60
ACCOUNT_LOGOUT_REDIRECT_URL = "account_login"
ACCOUNT_SESSION_REMEMBER = False
# A security key (WebAuthn, through fido2) is a second factor beside the authenticator
# app; it is bound to the site's host name, so it works only over HTTPS (or localhost).
# Passkey sign-in without a password stays off: the password is the first factor.
MFA_SUPPORTED_TYPES = ["totp", "webauthn", "recovery_codes"]
MFA_TOTP_ISSUER = "Heeded"
MFA_ADAPTER = "accounts.mfa.StaffMFAAdapter"
# Accept the code of the previous and next 30-second step too: phones drift. A code
# counts once whatever the step (allauth marks it used in the shared cache).
MFA_TOTP_TOLERANCE = 1
# Who must sign in with a second factor (accounts/mfa.py): admins, all staff, or none.
HEEDED_MFA_REQUIRED = env_choice("HEEDED_MFA_REQUIRED", ["admins", "all", "none"], "admins")
# Login lockout (accounts/lockout.py, docs/operations.md "Login lockout"): refused,
# within the cool-off hour, while the account (whatever spelling names it) has
# AXES_FAILURE_LIMIT failures from this address, the address has
# HEEDED_LOGIN_ADDRESS_FAILURE_LIMIT failures, or the account has
# HEEDED_LOGIN_ACCOUNT_FAILURE_LIMIT failures from all addresses together.
AXES_FAILURE_LIMIT = env_int("HEEDED_LOGIN_FAILURE_LIMIT", 10, minimum=1)
HEEDED_LOGIN_ADDRESS_FAILURE_LIMIT = env_int("HEEDED_LOGIN_ADDRESS_FAILURE_LIMIT", 30, minimum=1)
HEEDED_LOGIN_ACCOUNT_FAILURE_LIMIT = env_int("HEEDED_LOGIN_ACCOUNT_FAILURE_LIMIT", 100, minimum=1)
AXES_COOLOFF_TIME = 1  # hours
# Documents what LockoutHandler.get_failures counts; any one of them locks.
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"], "ip_address", "username"]
AXES_USERNAME_CALLABLE = "accounts.lockout.account_key"
AXES_CLIENT_IP_CALLABLE = "lib.clientip.client_ip"
AXES_HANDLER = "accounts.lockout.LockoutHandler"
AXES_RESET_ON_SUCCESS = True
AXES_ENABLED = env_bool("HEEDED_AXES_ENABLED", True)
# Reverse proxies (addresses or CIDR networks) whose X-Forwarded-For is believed when
# finding the client address for lockouts, rate limits and answer-link logs.
HEEDED_TRUSTED_PROXIES = env_networks("HEEDED_TRUSTED_PROXIES")

# --- Cache ----------------------------------------------------------------------
# allauth's login and e-mail rate limits live in the default cache. Django's default,
# a per-process memory cache, gives every gunicorn worker and every node its own
# counters; the database is what all of them already share. The table is created by
# the accounts migration 0002 (and by Django for the test database). MAX_ENTRIES is
# high because past it Django deletes a third of the entries, counters included.
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.db.DatabaseCache",
        "LOCATION": "heeded_cache",
        "OPTIONS": {"MAX_ENTRIES": 100_000},
    }
}

# --- Security -------------------------------------------------------------------
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
# Staff sessions (accounts/sessions.py): over after this long unused, and this long
# after sign-in whatever happens; the cookie itself lives no longer than the latter.
HEEDED_SESSION_IDLE_MINUTES = env_int("HEEDED_SESSION_IDLE_MINUTES", 60, minimum=1)
HEEDED_SESSION_MAX_HOURS = env_int("HEEDED_SESSION_MAX_HOURS", 12, minimum=1, maximum=24 * 30)
SESSION_COOKIE_AGE = HEEDED_SESSION_MAX_HOURS * 3600
SESSION_COOKIE_SECURE = env_bool("HEEDED_SECURE_COOKIES", False)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_SSL_REDIRECT = env_bool("HEEDED_SSL_REDIRECT", False)
SECURE_HSTS_SECONDS = env_int("HEEDED_HSTS_SECONDS", 0, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = SECURE_HSTS_SECONDS > 0
SECURE_HSTS_PRELOAD = env_bool("HEEDED_HSTS_PRELOAD", False)
if env_bool("HEEDED_BEHIND_PROXY", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
        "base-uri": ["'self'"],
        "object-src": ["'none'"],
    },
}

# --- I18N -----------------------------------------------------------------------
LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("it", "Italiano")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env_str("HEEDED_TIME_ZONE", "Europe/Rome")
try:
    zoneinfo.ZoneInfo(TIME_ZONE)
except (zoneinfo.ZoneInfoNotFoundError, ValueError):
    raise ConfigError(f"HEEDED_TIME_ZONE: unknown time zone {TIME_ZONE!r}") from None
USE_I18N = True
USE_TZ = True

# --- Static files ---------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = DATA_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)  # whitenoise warns about a missing folder
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True
# Source maps are for a developer's browser tools, and brotli at its best level on the
# API reference's 4 MB maps made every `heeded serve` start take a minute: serve them
# uncompressed. The list is whitenoise's own plus "map".
WHITENOISE_SKIP_COMPRESS_EXTENSIONS = (
    *("jpg", "jpeg", "png", "gif", "webp", "zip", "gz", "tgz", "bz2", "tbz", "xz", "br"),
    *("swf", "flv", "woff", "woff2", "3gp", "3gpp", "asf", "avi", "m4v", "mov", "mp4"),
    *("mpeg", "mpg", "webm", "wmv", "map"),
)
WHITENOISE_AUTOREFRESH = DEBUG

# --- E-mail ---------------------------------------------------------------------
_email_url = env_str("HEEDED_EMAIL_URL", f"file://{DATA_DIR / 'mail'}")
globals().update(parse_email_url("HEEDED_EMAIL_URL", _email_url))
DEFAULT_FROM_EMAIL = env_str("HEEDED_FROM_EMAIL", "Heeded <heeded@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
HEEDED_MESSAGE_ID_DOMAIN = env_str("HEEDED_MESSAGE_ID_DOMAIN", "heeded.localhost")

# --- Client answers -------------------------------------------------------------


def _encryption_keys() -> list[str]:
    configured = env_list("HEEDED_ENCRYPTION_KEYS")
    if configured:
        return configured
    # Embedded default, like the secret key: one Fernet key per data directory.
    key_file = DATA_DIR / "encryption.keys"
    if not key_file.exists():
        from cryptography.fernet import Fernet

        key_file.write_text(Fernet.generate_key().decode("ascii") + "\n", encoding="utf-8")
        key_file.chmod(0o600)
    return [k.strip() for k in key_file.read_text(encoding="utf-8").split(",") if k.strip()]


# Fernet keys for evidence at rest, newest first; older keys still decrypt.
HEEDED_ENCRYPTION_KEYS = _encryption_keys()
# Days a signed answer link stays valid.
HEEDED_ANSWER_LINK_DAYS = env_int("HEEDED_ANSWER_LINK_DAYS", 30, minimum=1, maximum=365)
# Replies go to this address with a token added: replies+TOKEN@example.com.
HEEDED_REPLY_ADDRESS = env_str("HEEDED_REPLY_ADDRESS", "replies@heeded.localhost")
# The authserv-id of the MSP's own mail server, whose Authentication-Results header
# is trusted; empty means only Heeded's own DKIM check counts.
HEEDED_TRUSTED_AUTHSERV_ID = env_str("HEEDED_TRUSTED_AUTHSERV_ID", "")
# How that server's header is told from one a sender wrote: by its authserv-id, or, for a
# Microsoft 365 mailbox, by where Exchange Online puts the header it stamps without one
# (docs/inbound-mail.md, section 5, Exchange Online). That mode needs the tenant id.
HEEDED_MAIL_AUTH_MODE = env_choice(
    "HEEDED_MAIL_AUTH_MODE", ["authserv-id", "exchange-online"], "authserv-id"
)
HEEDED_EXCHANGE_TENANT_ID = env_str("HEEDED_EXCHANGE_TENANT_ID", "").lower()
if HEEDED_MAIL_AUTH_MODE == "exchange-online" and not re.fullmatch(
    r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", HEEDED_EXCHANGE_TENANT_ID
):
    # Checked here so a typo stops start-up instead of sending every reply to review.
    raise ConfigError(
        "HEEDED_EXCHANGE_TENANT_ID: the exchange-online mail auth mode needs the Microsoft "
        "365 tenant id, a GUID such as 3f2b9c1e-6a4d-4e8f-9b7a-1c2d3e4f5a6b"
    )

# --- Outbox and worker ----------------------------------------------------------
HEEDED_OUTBOX_MAX_ATTEMPTS = env_int("HEEDED_OUTBOX_MAX_ATTEMPTS", 8, minimum=1, maximum=50)
HEEDED_OUTBOX_LEASE_SECONDS = env_int("HEEDED_OUTBOX_LEASE_SECONDS", 120, minimum=5)
HEEDED_WORKER_IDLE_SECONDS = env_int("HEEDED_WORKER_IDLE_SECONDS", 5, minimum=1)
# /healthz fails when the newest worker heartbeat (every 15 s) is older than this.
HEEDED_HEALTH_WORKER_MAX_AGE = env_int("HEEDED_HEALTH_WORKER_MAX_AGE", 300, minimum=30)
# How long a periodic job (verify pass, compliance snapshot, scheduled reports) stays
# with the worker that started it before another worker may take it over.
HEEDED_JOB_LEASE_SECONDS = env_int("HEEDED_JOB_LEASE_SECONDS", 900, minimum=5)
# Minutes between two verify passes run by the worker.
HEEDED_VERIFY_EVERY_MINUTES = env_int("HEEDED_VERIFY_EVERY_MINUTES", 15, minimum=1, maximum=1440)

# --- PSA (followup/psa, docs/followup.md) -----------------------------------------
# A PSA mailbox that turns e-mails into tickets; empty: no e-mail-to-ticket.
HEEDED_PSA_EMAIL_TO = env_str("HEEDED_PSA_EMAIL_TO", "")
# Autotask REST (the zone's base URL, e.g. https://webservices5.autotask.net/ATServicesRest);
# empty: tickets are not mirrored to Autotask.
HEEDED_AUTOTASK_URL = env_str("HEEDED_AUTOTASK_URL", "")
HEEDED_AUTOTASK_INTEGRATION_CODE = env_str("HEEDED_AUTOTASK_INTEGRATION_CODE", "")
HEEDED_AUTOTASK_USERNAME = env_str("HEEDED_AUTOTASK_USERNAME", "")
HEEDED_AUTOTASK_SECRET = env_str("HEEDED_AUTOTASK_SECRET", "")
HEEDED_AUTOTASK_COMPANY_ID = env_int("HEEDED_AUTOTASK_COMPANY_ID", 0, minimum=0)
HEEDED_AUTOTASK_QUEUE_ID = env_int("HEEDED_AUTOTASK_QUEUE_ID", 0, minimum=0)
# Signing secret (whsec_…) of PSA status callbacks to /followup/psa/callback/;
# empty: the endpoint answers 404.
HEEDED_PSA_CALLBACK_SECRET = env_str("HEEDED_PSA_CALLBACK_SECRET", "")

# --- API ------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.authentication.HashedTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["api.v1.permissions.IsStaffUser"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PAGINATION_CLASS": "api.v1.pagination.CursorByIdPagination",
    "PAGE_SIZE": 50,
    "EXCEPTION_HANDLER": "api.v1.errors.exception_handler",
    "DEFAULT_PARSER_CLASSES": ["api.v1.parsers.LimitedJSONParser"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
# Limits of an API request body (api/v1/parsers.py, docs/api.md "Limits"): the largest
# body read, and the deepest nesting of JSON arrays and objects accepted.
HEEDED_API_MAX_BODY_BYTES = 1024 * 1024
# The largest page request: a 20 MB tracker upload and its form fields.
HEEDED_MAX_REQUEST_BYTES = 21 * 1024 * 1024
HEEDED_API_MAX_JSON_DEPTH = 32
SPECTACULAR_SETTINGS = {
    "TITLE": "Heeded API",
    "DESCRIPTION": "Recommendations, client decisions and the evidence ledger.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # Tickets and deliveries also have a "status", refused reports a "reason" and
    # devices a "state": name their enums apart.
    "ENUM_NAME_OVERRIDES": {
        "StatusEnum": "recommendations.choices.Status",
        "TicketStatusEnum": "followup.models.TicketStatus",
        "DeliveryStatusEnum": "followup.choices.OutboxStatus",
        "LanguageEnum": "lib.languages.Language",
        "ReviewReasonEnum": "verification.choices.ReviewReason",
        "DeviceStateEnum": "verification.choices.DeviceState",
    },
}

# --- Verification on endpoints (docs/collector.md) -------------------------------
# A device with no report for this many days counts as stale, never as compliant.
HEEDED_VERIFY_STALE_DAYS = env_int("HEEDED_VERIFY_STALE_DAYS", 14, minimum=1)
# Share (percent) of in-scope devices that must comply before an item becomes verified.
HEEDED_VERIFY_THRESHOLD = env_int("HEEDED_VERIFY_THRESHOLD", 100, minimum=1, maximum=100)
# Largest endpoint report accepted, refused from Content-Length before reading the body.
HEEDED_REPORT_MAX_BYTES = env_int("HEEDED_REPORT_MAX_BYTES", 2_000_000, minimum=10_000)

# --- Reports ---------------------------------------------------------------------
# The MSP's name, logo and colour on QBR and portfolio reports (docs/reports.md).
HEEDED_MSP_NAME = env_str("HEEDED_MSP_NAME", "Heeded")
HEEDED_MSP_LOGO = env_file("HEEDED_MSP_LOGO", suffixes=[".png", ".jpg", ".jpeg", ".svg"])
HEEDED_MSP_COLOUR = env_colour("HEEDED_MSP_COLOUR", "#1a5fb4")

# --- Logging --------------------------------------------------------------------
LOG_LEVEL = env_choice("HEEDED_LOG_LEVEL", ["DEBUG", "INFO", "WARNING", "ERROR"], "INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    # Every line carries the request id (lib/requestid.py; "-" outside a request).
    "filters": {"request_id": {"()": "lib.requestid.RequestIdFilter"}},
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s]: %(message)s"}
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "filters": ["request_id"],
        }
    },
    "root": {"handlers": ["console"], "level": "WARNING"},
    "loggers": {"heeded": {"handlers": ["console"], "level": LOG_LEVEL, "propagate": False}},
}
