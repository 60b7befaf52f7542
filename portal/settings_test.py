"""Test settings: speed knobs only."""

import os
import secrets

# The suite runs as production does (debug off), so it needs a key of its own; subprocesses
# started by the tests (a Celery worker) inherit it.
os.environ.setdefault("DJANGO_SECRET_KEY", secrets.token_urlsafe(50))
# One test process counts its own request rates, on SQLite or PostgreSQL alike.
os.environ.setdefault("CACHE_URL", "locmemcache://")

from .settings import *  # noqa: E402, F403
from .settings import BASE_DIR, DATABASES  # noqa: E402

# The browser tests' live server answers each request in a thread of its own: connections
# kept open after a request would pile up until the test database cannot be dropped.
DATABASES["default"]["CONN_MAX_AGE"] = 0

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
CELERY_TASK_ALWAYS_EAGER = True
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
PRIVATE_MEDIA_ROOT = BASE_DIR / ".test-media"
STORAGES = {
    "default": {
        "BACKEND": "django.core.files.storage.InMemoryStorage",
        "OPTIONS": {"base_url": None},
    },
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
LOGGING = {"version": 1, "disable_existing_loggers": False}
# The test client speaks plain HTTP to "testserver"; TLS is the proxy's job in production.
SECURE_SSL_REDIRECT = False
