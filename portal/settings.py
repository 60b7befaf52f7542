"""Settings, read from the environment (see .env.example)."""

from datetime import timedelta
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

import environ

BASE_DIR = Path(__file__).resolve().parent.parent
env = environ.Env()
if env.bool("DJANGO_READ_DOT_ENV_FILE", default=False):
    env.read_env(str(BASE_DIR / ".env"))

# On for a checkout (make demo, manage.py); every deployment sets DJANGO_DEBUG=false (README,
# .env.example), and then the key below must be its own.
DEBUG = env.bool("DJANGO_DEBUG", default=True)
DEVELOPMENT_SECRET_KEY = "insecure-development-key-change-me"
SECRET_KEY = env("DJANGO_SECRET_KEY", default=DEVELOPMENT_SECRET_KEY if DEBUG else "")
# The key signs sessions, password-reset links and CSRF tokens: outside development a key anyone
# can read (ours, the .env.example placeholder, startproject's) or guess is refused, by the rule
# of Django's deployment check.
if not DEBUG and (
    SECRET_KEY in (DEVELOPMENT_SECRET_KEY, "change-me") or SECRET_KEY.startswith("django-insecure-")
    or len(SECRET_KEY) < 50 or len(set(SECRET_KEY)) < 5
):
    raise ImproperlyConfigured(
        "DJANGO_SECRET_KEY is unset, well known or weak while DJANGO_DEBUG is off: set it to at "
        "least 50 random characters, e.g. python -c \"import secrets; "
        "print(secrets.token_urlsafe(50))\"."
    )
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "axes",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI's files, served by the portal (no CDN)
    "django_htmx",
    "csp",
    "portal",
    "dossiers",
    "signatures",
    "integrations",
    "web",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Static files come from the portal itself on every node (gunicorn included): no CDN.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "portal.locale.PortalLocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "portal.accounts.AccountOTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Staff: idle and absolute session limits, then the second step before any page.
    "portal.signin.StaffSessionMiddleware",
    "web.second_factor.middleware.SecondFactorMiddleware",
    # Last, as django-axes asks: turns a lockout into the portal's 429 page or JSON error.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "portal.urls"
WSGI_APPLICATION = "portal.wsgi.application"
AUTH_USER_MODEL = "portal.User"

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
                "web.context_processors.navigation",
            ],
        },
    },
]

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
# The embedded default: SQLite, one machine.
EMBEDDED = DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3"
if EMBEDDED:
    # IMMEDIATE takes the write lock at BEGIN, so two transitions on one dossier serialise
    # instead of failing with "database is locked" when the second one upgrades its lock.
    # Write-ahead logging lets readers go on while one process writes (another worker, the
    # demo's second walker) instead of waiting for the whole file; the database keeps the mode,
    # with its -wal and -shm files beside it.
    # The portal's backend (portal/backends/sqlite3) is Django's, with writers that take the
    # write lock in turn as soon as it is free rather than after SQLite's sleeps.
    DATABASES["default"]["ENGINE"] = "portal.backends.sqlite3"
    DATABASES["default"]["OPTIONS"] = {"transaction_mode": "IMMEDIATE", "timeout": 20,
                                       "init_command": "PRAGMA journal_mode=WAL"}
# Connections are kept between requests, and checked before each one is reused: one dropped by
# the server (a restart, a failover, an idle timeout) is opened again. On SQLite, a connection
# opened for each request also read the schema again and prepared every statement anew.
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DB_CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
# Values are sent apart from the SQL, and a statement a connection runs again and again is
# prepared once: the server neither parses nor plans it on every request. Off
# (DB_SERVER_SIDE_BINDING=0) behind a pooler in transaction mode that cannot keep prepared
# statements.
if (DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"
        and env.bool("DB_SERVER_SIDE_BINDING", default=True)):
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        server_side_binding=True, prepare_threshold=5)
ATOMIC_REQUESTS = False
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

LANGUAGE_CODE = "vi"
LANGUAGES = [("vi", "Tiếng Việt"), ("en", "English")]
TIME_ZONE = "Asia/Ho_Chi_Minh"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
# WhiteNoise serves the apps' static folders directly (no collectstatic step to forget);
# a deployment may still collect them and put a proxy in front.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG
LOCALE_PATHS = [BASE_DIR / "locale"]
LOGIN_URL = "/dang-nhap/"
# The lockout check first (django-axes, by account and by address), then the password.
AUTHENTICATION_BACKENDS = [
    "portal.signin.LockoutBackend",
    # Django's ModelBackend, reading each request's account through the cache (portal.accounts).
    "portal.accounts.AccountBackend",
]
AXES_FAILURE_LIMIT = env.int("SIGNIN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("SIGNIN_LOCKOUT_MINUTES", default=15))
# Either counter locks: the account's failures from anywhere, the address's on any account.
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_VERBOSE = False  # failures and lockouts are logged by portal.signin
AXES_CLIENT_IP_CALLABLE = "portal.api.throttling.client_address"
AXES_LOCKOUT_CALLABLE = "web.second_factor.lockout.lockout_response"
AXES_ENABLE_ACCESS_FAILURE_LOG = True
# Lockouts are lifted with manage.py axes_reset_username / axes_reset_ip (README).
AXES_ENABLE_ADMIN = False
# A right password must not clear the count: wrong second-factor codes count too.
AXES_RESET_ON_SUCCESS = False
# Staff (every role of portal.roles.Role.STAFF) give a TOTP code after the password.
OTP_TOTP_ISSUER = env("OTP_TOTP_ISSUER", default="Một Cửa")
STAFF_SESSION_IDLE_SECONDS = env.int("STAFF_SESSION_IDLE_MINUTES", default=30) * 60
STAFF_SESSION_MAX_SECONDS = env.int("STAFF_SESSION_MAX_HOURS", default=12) * 3600
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/"
# Uploaded dossier documents live outside any web root and are served only through a view
# that checks who may see them.
PRIVATE_MEDIA_ROOT = Path(env("PRIVATE_MEDIA_ROOT", default=str(BASE_DIR / "private-media")))
STORAGES = {
    "default": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": PRIVATE_MEDIA_ROOT, "base_url": None},
    },
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
UPLOAD_MAX_FILE_BYTES = env.int("UPLOAD_MAX_FILE_BYTES", default=20 * 1024 * 1024)
UPLOAD_MAX_DOSSIER_BYTES = env.int("UPLOAD_MAX_DOSSIER_BYTES", default=100 * 1024 * 1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
# Larger uploads spool to a temporary file that no killed worker can leave behind.
FILE_UPLOAD_HANDLERS = [
    "django.core.files.uploadhandler.MemoryFileUploadHandler",
    "portal.uploads.UnnamedTemporaryFileUploadHandler",
]

REST_FRAMEWORK = {
    # The pages' session (staff verified by their second factor) and tokens for scripts;
    # HTTP Basic only for local scripts against the demo, never with debug off.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "portal.api.authentication.VerifiedSessionAuthentication",
        "portal.api.authentication.ApiTokenAuthentication",
        *(["portal.api.authentication.DebugBasicAuthentication"] if DEBUG else []),
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "portal.api.schema.AutoSchema",
    "EXCEPTION_HANDLER": "portal.api.exception_handler.api_exception_handler",
    "DEFAULT_THROTTLE_RATES": {"login": "10/min", "lookup": "30/min"},
}
# Reverse proxies of ours in front of the portal, each appending the address it saw to
# X-Forwarded-For. With 0 the header is ignored (anyone can write it) and REMOTE_ADDR is the
# client; portal.api.throttling.client_address is the one reader of either.
_num_proxies = env.str("NUM_PROXIES", default="0").strip()
if not (_num_proxies.isascii() and _num_proxies.isdigit()):
    raise ImproperlyConfigured(f"NUM_PROXIES counts proxies: 0 or more, not {_num_proxies!r}.")
NUM_PROXIES = int(_num_proxies)
REST_FRAMEWORK["NUM_PROXIES"] = NUM_PROXIES

# Throttle counters live in the cache. The embedded mode is one process (runserver's threads
# share its memory); scale mode runs many processes on many nodes, which must count together:
# CACHE_URL=redis://... there, and production on a server database refuses to start without it.
CACHES = {"default": env.cache_url("CACHE_URL", default="locmemcache://")}
if not DEBUG and not env.str("CACHE_URL", default="") and not EMBEDDED:
    raise ImproperlyConfigured(
        "CACHE_URL is unset in scale mode: set it to the shared cache (redis://host:6379/1) so "
        "that every process counts the same request rates."
    )
# With a shared cache, sessions are read from it and written through to the database (a cache
# restart loses none). A per-process cache could keep a signed-out session alive in another
# process, so the embedded mode reads them from the database.
# Whether every process (web and workers) sees the same cache: not so for the per-process one.
CACHE_SHARED = not CACHES["default"]["BACKEND"].endswith(("LocMemCache", "DummyCache"))
if CACHE_SHARED:
    SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
# The signed-in account (user, roles, second-factor devices) is kept in the shared cache this
# long at most; every change made through the models drops it at once (portal.accounts). For
# the same reason as the sessions, the embedded mode's per-process cache keeps none.
SIGNIN_CACHE_SECONDS = env.int(
    "SIGNIN_CACHE_SECONDS",
    default=60 if CACHE_SHARED else 0,
)

SPECTACULAR_SETTINGS = {
    "TITLE": "Một Cửa API",
    "DESCRIPTION": "Administrative procedure e-service portal: dossiers, workflow, indicators.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Government networks block CDNs: the Swagger UI comes from our own static files.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# Celery runs eagerly (in-process) unless a broker is configured.
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default="")
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=not CELERY_BROKER_URL)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
# With workers, the applicants' emails of a burst of changes are sent together this many seconds
# after the first of them (dossiers.services.notifications).
NOTIFICATION_SWEEP_DELAY_SECONDS = env.float("NOTIFICATION_SWEEP_DELAY_SECONDS", default=1.0)
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_TIMEZONE = TIME_ZONE
# A worker that grew past this (a huge PDF under verification) is replaced after its task.
CELERY_WORKER_MAX_MEMORY_PER_CHILD = env.int("SIGNATURES_TASK_MAX_MEMORY_KB", default=512 * 1024)

# The outbox relay: which portals hear of every change, and how hard it tries.
SYNC_SYSTEMS = env.list("SYNC_SYSTEMS", default=["national", "provincial"])
OUTBOX_MAX_ATTEMPTS = env.int("OUTBOX_MAX_ATTEMPTS", default=8)
# Decision 766 transparency: how long after a change the national portal must have it.
SCORECARD_SYNC_DELAY_MINUTES = env.int("SCORECARD_SYNC_DELAY_MINUTES", default=24 * 60)
OUTBOX_BACKOFF_BASE_SECONDS = env.int("OUTBOX_BACKOFF_BASE_SECONDS", default=30)
OUTBOX_BACKOFF_MAX_SECONDS = env.int("OUTBOX_BACKOFF_MAX_SECONDS", default=3600)
OUTBOX_LEASE_SECONDS = env.int("OUTBOX_LEASE_SECONDS", default=120)
# Payments still pending this long after they were opened are settled by asking the platform.
PAYMENT_RECONCILE_AFTER_SECONDS = env.int("PAYMENT_RECONCILE_AFTER_SECONDS", default=900)

EMAIL_BACKEND = env(
    "DJANGO_EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend"
)
DEFAULT_FROM_EMAIL = env("DJANGO_DEFAULT_FROM_EMAIL", default="motcua@sct.example.gov.vn")
# A mail server that accepts and never answers must not hold a request or a worker: well under
# the five-minute lease of a notification being sent (dossiers/services/notifications.py).
EMAIL_TIMEOUT = env.int("DJANGO_EMAIL_TIMEOUT", default=30)
# Managers notified of overdue dossiers when the agency has no manager account with an email.
OVERDUE_NOTIFY_FALLBACK = env.list("OVERDUE_NOTIFY_FALLBACK", default=[])
# The apology slip (form 04) must be drafted at the latest this many working days before the
# due time (Circular 01/2018 says one); a leader approves it before the due time.
APOLOGY_DRAFT_LEAD_DAYS = env.float("APOLOGY_DRAFT_LEAD_DAYS", default=1.0)
# Public base URL used in emails and slips.
PORTAL_BASE_URL = env("PORTAL_BASE_URL", default="http://127.0.0.1:8000")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env("DJANGO_LOG_LEVEL", default="INFO")},
    # One line per eager task drowns the console; failures are still logged.
    "loggers": {
        "celery": {"level": "WARNING"},
        "fontTools": {"level": "WARNING"},  # font subsetting chatter on every result PDF
        # WeasyPrint logs each of a paper's seven rendering steps at INFO; its warnings and
        # errors (a resource it could not load) still reach the log.
        "weasyprint": {"level": "WARNING"},
    },
}

# Every page: only the portal's own files run or style it (no inline script or style, no
# eval), no page frames it, forms post only to it. A view that needs more widens its own
# policy with csp.decorators and says why (the payment page, web/applicant/views_dossier.py).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],  # Swagger UI draws its icons as data: SVG images
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    },
}
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
if not DEBUG:
    SESSION_COOKIE_SECURE = env.bool("DJANGO_SECURE_COOKIES", default=True)
    CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
    SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=31536000)
    # Only names under the portal's own host (it has none of its own); the province's other
    # sites are the parent domain's, which this header does not reach.
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
    SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
SILENCED_SYSTEM_CHECKS = [
    # HSTS preload (security.W021): the preload list takes only registrable domains, and the
    # portal is served from a name under the province's domain, whose owner alone may submit it.
    "security.W021",
]

# --- signatures: trust store, revocation fetch allowlist, result signer -----------------
# Revocation data is fetched only from these hosts ("host" or "host:port"); URLs inside
# uploaded certificates are never followed.
SIGNATURES_REVOCATION_HOSTS = env.list("SIGNATURES_REVOCATION_HOSTS", default=[])
SIGNATURES_CRL_URLS = env.list("SIGNATURES_CRL_URLS", default=[])
SIGNATURES_REVOCATION_TIMEOUT = env.float("SIGNATURES_REVOCATION_TIMEOUT", default=10.0)
SIGNATURES_REVOCATION_MAX_BYTES = env.int("SIGNATURES_REVOCATION_MAX_BYTES", default=20 * 2**20)
SIGNATURES_REVOCATION_REFRESH_MINUTES = env.int("SIGNATURES_REVOCATION_REFRESH_MINUTES", default=60)
# The agency's signing key: demo (generated at start-up), pkcs12, pkcs11 or remote.
SIGNATURES_SIGNER = env("SIGNATURES_SIGNER", default="demo")
SIGNATURES_PKCS12_PATH = env("SIGNATURES_PKCS12_PATH", default="")
SIGNATURES_PKCS12_PASSWORD = env("SIGNATURES_PKCS12_PASSWORD", default="")
SIGNATURES_PKCS11_MODULE = env("SIGNATURES_PKCS11_MODULE", default="")
SIGNATURES_PKCS11_TOKEN_LABEL = env("SIGNATURES_PKCS11_TOKEN_LABEL", default="")
SIGNATURES_PKCS11_PIN = env("SIGNATURES_PKCS11_PIN", default="")
SIGNATURES_PKCS11_KEY_LABEL = env("SIGNATURES_PKCS11_KEY_LABEL", default="")
SIGNATURES_PKCS11_CERT_LABEL = env("SIGNATURES_PKCS11_CERT_LABEL", default="")
SIGNATURES_REMOTE_URL = env("SIGNATURES_REMOTE_URL", default="")
SIGNATURES_REMOTE_TOKEN = env("SIGNATURES_REMOTE_TOKEN", default="")
SIGNATURES_REMOTE_TIMEOUT = env.float("SIGNATURES_REMOTE_TIMEOUT", default=10.0)
# Demo only: a "Ký số (demo)" button signs an applicant's uploaded PDF with a demo CA kept in
# the database (its root trusted, marked demo). Never on in a real deployment.
DEMO_SIGNING = env.bool("DEMO_SIGNING", default=False)
# PAdES B-T when a timestamp authority is set, B-B otherwise.
SIGNATURES_TSA_URL = env("SIGNATURES_TSA_URL", default="")
SIGNATURES_TSA_TIMEOUT = env.float("SIGNATURES_TSA_TIMEOUT", default=10.0)
# Above either limit, the dossiers app verifies in a Celery task instead of inline.
SIGNATURES_INLINE_MAX_BYTES = env.int("SIGNATURES_INLINE_MAX_BYTES", default=2 * 2**20)
SIGNATURES_TASK_TIME_LIMIT = env.int("SIGNATURES_TASK_TIME_LIMIT", default=120)
SIGNATURES_TASK_MAX_MEMORY_KB = env.int("SIGNATURES_TASK_MAX_MEMORY_KB", default=512 * 1024)
# Public verification endpoint, per client address.
SIGNATURES_VERIFY_RATE = env("SIGNATURES_VERIFY_RATE", default="30/min")


# --- integrations: national and provincial portals, payment platform -------------------
# Each integration turns on when its URL is set; until then its fake adapter answers in-process.
# `manage.py run_simulator --port 8001` serves all three on loopback for the demo.
NATIONAL_PORTAL_URL = env("NATIONAL_PORTAL_URL", default="")
NATIONAL_PORTAL_USERNAME = env("NATIONAL_PORTAL_USERNAME", default="")
NATIONAL_PORTAL_PASSWORD = env("NATIONAL_PORTAL_PASSWORD", default="")
NATIONAL_PORTAL_ADAPTER = env("NATIONAL_PORTAL_ADAPTER", default="")  # "" = by the URL
PROVINCIAL_PORTAL_URL = env("PROVINCIAL_PORTAL_URL", default="")
PROVINCIAL_PORTAL_USERNAME = env("PROVINCIAL_PORTAL_USERNAME", default="")
PROVINCIAL_PORTAL_PASSWORD = env("PROVINCIAL_PORTAL_PASSWORD", default="")
PROVINCIAL_PORTAL_ADAPTER = env("PROVINCIAL_PORTAL_ADAPTER", default="")
PAYMENT_PLATFORM_URL = env("PAYMENT_PLATFORM_URL", default="")
PAYMENT_PROVIDER = env("PAYMENT_PROVIDER", default="")  # "" = platform when its URL is set
PAYMENT_MERCHANT_ID = env("PAYMENT_MERCHANT_ID", default="")
PAYMENT_SECRET = env("PAYMENT_SECRET", default="")
PAYMENT_BENEFICIARY_ACCOUNT = env("PAYMENT_BENEFICIARY_ACCOUNT", default="")
PAYMENT_BENEFICIARY_BANK = env("PAYMENT_BENEFICIARY_BANK", default="")
PAYMENT_BENEFICIARY_NAME = env("PAYMENT_BENEFICIARY_NAME", default="")
PAYMENT_NOTIFY_URL = env("PAYMENT_NOTIFY_URL", default="")
# Where the platform's payment page lives when not on PAYMENT_PLATFORM_URL's host: the fee page
# lets its form lead there (Content-Security-Policy form-action, web/csp.py).
PAYMENT_PAGE_ORIGINS = env.list("PAYMENT_PAGE_ORIGINS", default=[])
PAYMENT_CALLBACK_WINDOW_SECONDS = env.int("PAYMENT_CALLBACK_WINDOW_SECONDS", default=600)
# Inbound calls (portals pushing to us) are refused unless this secret is set.
INBOUND_HMAC_SECRET = env("INBOUND_HMAC_SECRET", default="")
INBOUND_REPLAY_WINDOW_SECONDS = env.int("INBOUND_REPLAY_WINDOW_SECONDS", default=300)
INTEGRATIONS_CONNECT_TIMEOUT = env.float("INTEGRATIONS_CONNECT_TIMEOUT", default=3.05)
INTEGRATIONS_READ_TIMEOUT = env.float("INTEGRATIONS_READ_TIMEOUT", default=10.0)
INTEGRATIONS_TOKEN_SKEW = env.float("INTEGRATIONS_TOKEN_SKEW", default=30.0)


# --- electronic identity: citizens and businesses sign in through OpenID Connect ----------
# Authorization code flow with PKCE (S256), scope "openid", id_token signed RS256 and checked
# against the provider's JWKS, its issuer and our client id. Off (no link on /dang-nhap/) until
# the client and the provider's endpoints are set; `make demo` points them at the simulator's
# /idp. The claims the portal reads are listed in portal/identity.py.
OIDC_RP_CLIENT_ID = env("OIDC_RP_CLIENT_ID", default="")
OIDC_RP_CLIENT_SECRET = env("OIDC_RP_CLIENT_SECRET", default="")
OIDC_OP_ISSUER = env("OIDC_OP_ISSUER", default="")
OIDC_OP_AUTHORIZATION_ENDPOINT = env("OIDC_OP_AUTHORIZATION_ENDPOINT", default="")
OIDC_OP_TOKEN_ENDPOINT = env("OIDC_OP_TOKEN_ENDPOINT", default="")
OIDC_OP_USER_ENDPOINT = env("OIDC_OP_USER_ENDPOINT", default="")
OIDC_OP_JWKS_ENDPOINT = env("OIDC_OP_JWKS_ENDPOINT", default="")
OIDC_RP_SIGN_ALGO = "RS256"
OIDC_RP_SCOPES = "openid"
OIDC_USE_PKCE = True
OIDC_PKCE_CODE_CHALLENGE_METHOD = "S256"
OIDC_USE_NONCE = True
OIDC_TIMEOUT = (INTEGRATIONS_CONNECT_TIMEOUT, INTEGRATIONS_READ_TIMEOUT)
OIDC_AUTHENTICATION_CALLBACK_URL = "web:oidc_callback"
LOGIN_REDIRECT_URL_FAILURE = LOGIN_URL
# Electronic identity signs applicants in after the password backends (see above).
AUTHENTICATION_BACKENDS = [*AUTHENTICATION_BACKENDS, "portal.identity.IdentityBackend"]
