"""Settings for the test suite: the real settings with development defaults, plus overrides
that make tests fast and isolated. Still PostgreSQL (DATABASE_URL or the embedded server)."""

import os
from urllib.parse import urlsplit, urlunsplit

# Development defaults (generated secret key, localhost hosts); pytest-django runs tests with
# DEBUG off regardless.
os.environ.setdefault("DEBUG", "true")

from portal.settings import *  # noqa: F403
from portal.settings import REDIS_URL

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
PORTAL_BASE_URL = "http://testserver"
# The feed's settling wait is tested on its own (tests/requests/test_node_api.py).
PERMIT_FEED_SETTLE_SECONDS = 0
# Tasks run inline unless a test starts a real worker (tests/portal/test_celery_worker.py).
CELERY_TASK_ALWAYS_EAGER = True
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

if REDIS_URL:
    # The cache gets its own Redis database in tests, because every test clears the cache and
    # clearing is FLUSHDB: it must never empty the Celery broker's queues.
    parts = urlsplit(REDIS_URL)
    test_db = os.environ.get("TEST_REDIS_CACHE_DB", "15")
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": urlunsplit(parts._replace(path=f"/{test_db}")),
        }
    }

# No collected static files in tests: whitenoise serves from the finders instead of warning.
WHITENOISE_AUTOREFRESH = True
WHITENOISE_USE_FINDERS = True
