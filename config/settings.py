"""Agora settings.

Everything that differs between a laptop and production comes from the environment:
``DATABASE_URL`` (PostgreSQL in production, SQLite when unset), ``DJANGO_SECRET_KEY``,
``DJANGO_DEBUG``, ``DJANGO_ALLOWED_HOSTS``, ``AGORA_MEDIA_ROOT``. With DEBUG off the security settings
below default to production values (HTTPS only, HSTS, secure cookies, a strict Content-Security-Policy);
docs/deploy.md lists every variable.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import dj_database_url

BASE_DIR = Path(__file__).resolve().parent.parent


def _env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


DEBUG = _env_bool("DJANGO_DEBUG", False)
# A development key is only acceptable while DEBUG is on; production must set one.
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG and not _env_bool("AGORA_ALLOW_INSECURE_KEY", False):
        from django.core.exceptions import ImproperlyConfigured

        raise ImproperlyConfigured("Set DJANGO_SECRET_KEY (or DJANGO_DEBUG=1 for local development).")
    SECRET_KEY = "insecure-development-key-not-for-production"  # noqa: S105  # nosec B105  # DEBUG only, see above

ALLOWED_HOSTS = [h for h in os.environ.get("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost").split(",") if h]
CSRF_TRUSTED_ORIGINS = [o for o in os.environ.get("DJANGO_CSRF_TRUSTED_ORIGINS", "").split(",") if o]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "knox",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "core",
    "accounts",
    "market",
    "bidding",
    "agencies",
    "search",
    "procurement",
]
# The demo story and its loader (``manage.py demo_load``): development and demonstration only.
AGORA_DEMO = DEBUG or _env_bool("AGORA_DEMO", False)
if AGORA_DEMO:
    INSTALLED_APPS.append("demo")

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Right after SecurityMiddleware: static files get its headers (HSTS, nosniff) but skip sessions and the rest.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "core.csp.ContentSecurityPolicyMiddleware",
    # A database outage raised by a view becomes a 503 here (core.faults); handler500 covers the rest.
    "core.faults.ServiceUnavailableMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]


def _database() -> dict[str, object]:
    url = os.environ.get("DATABASE_URL", "").strip()
    if url:
        # Persistent connections suit gunicorn's workers (one connection per worker thread, reused across
        # requests; the health check drops a dead one before use). Not runserver: it starts a thread per
        # request, and each would keep its own connection open, so the default is 0 while DEBUG is on.
        conn_max_age = int(os.environ.get("AGORA_DB_CONN_MAX_AGE", "0" if DEBUG else "600"))
        config = dj_database_url.parse(url, conn_max_age=conn_max_age, conn_health_checks=True)
        config.setdefault("TEST", {})
        return dict(config)
    # Embedded default. WAL lets readers run beside the one writer; IMMEDIATE takes the write
    # lock when a transaction starts, so two writers queue on the busy timeout instead of
    # failing half-way with "database is locked" when a read lock cannot be upgraded.
    name = os.environ.get("AGORA_SQLITE_PATH", str(BASE_DIR / "var" / "agora.sqlite3"))
    return {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": name,
        "OPTIONS": {
            "timeout": 20,
            "transaction_mode": "IMMEDIATE",
            # mmap: reads come straight from the OS page cache, without a copy per page (Django opens a
            # connection per request, so SQLite's own page cache starts cold each time).
            "init_command": (
                "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON; "
                "PRAGMA mmap_size=268435456;"
            ),
        },
        # A file, not :memory:, so tests with several threads share one database; one per test
        # process, so two suites run side by side (two checkouts, a developer and CI) never collide.
        "TEST": {"NAME": str(BASE_DIR / "var" / f"test-agora-{os.getpid()}.sqlite3")},
    }


DATABASES = {"default": _database()}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "home"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
# `manage.py collectstatic` fills it (bin/serve-prod runs it); WhiteNoise serves it with DEBUG off.
STATIC_ROOT = Path(os.environ.get("AGORA_STATIC_ROOT", str(BASE_DIR / "var" / "static")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    # Production: hashed names (cached for a year by browsers) and gzip copies, from the manifest collectstatic
    # writes. With DEBUG on (make demo, the tests) plain names, so nothing needs collecting first.
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}
# With DEBUG on WhiteNoise reads the apps' folders directly, as runserver does; it never scans STATIC_ROOT then.
WHITENOISE_AUTOREFRESH = DEBUG
WHITENOISE_USE_FINDERS = DEBUG
MEDIA_URL = "media/"
MEDIA_ROOT = Path(os.environ.get("AGORA_MEDIA_ROOT", str(BASE_DIR / "var" / "media")))

# Upload limits for tender attachments (bytes).
AGORA_ATTACHMENT_MAX_BYTES = int(os.environ.get("AGORA_ATTACHMENT_MAX_BYTES", str(50 * 1024 * 1024)))
# The rule profile new tenders get unless the request names one (national law, or "demo").
AGORA_DEFAULT_PROFILE = os.environ.get("AGORA_DEFAULT_PROFILE", "national")
# Seconds between passes of `manage.py clock`.
AGORA_CLOCK_INTERVAL = float(os.environ.get("AGORA_CLOCK_INTERVAL", "5"))
# Qualification scans (资质证书扫描件) an agency uploads (bytes).
AGORA_QUALIFICATION_MAX_BYTES = int(os.environ.get("AGORA_QUALIFICATION_MAX_BYTES", str(10 * 1024 * 1024)))

# The platform certificate authority. Its private key is configuration, never part of the
# repository: in production point these at files a secret store mounts (and set the password).
# `manage.py ca_init` makes a fresh CA at these paths; `make demo` does so under var/ when missing.
AGORA_CA_KEY_FILE = Path(os.environ.get("AGORA_CA_KEY_FILE", str(BASE_DIR / "var" / "ca" / "ca-key.pem")))
AGORA_CA_CERT_FILE = Path(os.environ.get("AGORA_CA_CERT_FILE", str(BASE_DIR / "var" / "ca" / "ca-cert.pem")))
AGORA_CA_KEY_PASSWORD = os.environ.get("AGORA_CA_KEY_PASSWORD", "")
AGORA_CA_NAME = os.environ.get("AGORA_CA_NAME", "Agora Public Resource Trading Platform")
# Sealed bids: the algorithm suite ("intl-v1": X25519, HKDF-SHA256, AES-256-GCM, Ed25519/P-256) and
# how many of the three opening-key holders (purchaser, supervisor, trading centre) open a tender.
AGORA_CRYPTO_SUITE = os.environ.get("AGORA_CRYPTO_SUITE", "intl-v1")
AGORA_OPENING_THRESHOLD = int(os.environ.get("AGORA_OPENING_THRESHOLD", "2"))
# The largest sealed bid accepted (bytes).
AGORA_BID_MAX_BYTES = int(os.environ.get("AGORA_BID_MAX_BYTES", str(100 * 1024 * 1024)))
# How long an issued signing or key-holder certificate is valid (days).
AGORA_CERTIFICATE_DAYS = int(os.environ.get("AGORA_CERTIFICATE_DAYS", "730"))

# Search (search/): the embedded database backend needs no server; with ELASTICSEARCH_URL set the
# public listings use Elasticsearch (server major 9, like the client) and fall back to the database
# while it is unreachable. Index names start with the prefix; the analyzer is cjk, smartcn,
# ik_max_word or ik_smart (the last three need the cluster's plugin).
ELASTICSEARCH_URL = os.environ.get("ELASTICSEARCH_URL", "").strip()
AGORA_SEARCH_BACKEND = os.environ.get("AGORA_SEARCH_BACKEND", "elasticsearch" if ELASTICSEARCH_URL else "database")
AGORA_SEARCH_PREFIX = os.environ.get("AGORA_SEARCH_PREFIX", "agora")
AGORA_SEARCH_ANALYZER = os.environ.get("AGORA_SEARCH_ANALYZER", "cjk")
AGORA_SEARCH_TIMEOUT = float(os.environ.get("AGORA_SEARCH_TIMEOUT", "5"))
AGORA_SEARCH_SYNC_INTERVAL = float(os.environ.get("AGORA_SEARCH_SYNC_INTERVAL", "2"))
# The embedded backend counts a listing's total and facets over at most this many matches (beyond, the
# total is a lower bound and the facets count that many): its cost per listing grows with it.
AGORA_SEARCH_TOTAL_CAP = int(os.environ.get("AGORA_SEARCH_TOTAL_CAP", "10000"))

REST_FRAMEWORK = {
    # Token first: an unauthenticated API call then gets 401 with a WWW-Authenticate header.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # Hashed, expiring, revocable tokens (django-rest-knox); the header stays `Authorization: Token …`.
        "knox.auth.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "core.errors.api_exception_handler",
    "DEFAULT_PAGINATION_CLASS": "core.pagination.NewestFirstCursorPagination",
    "PAGE_SIZE": 20,
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}

# API tokens: each expires this many hours after it is made (accounts/tokens.py).
REST_KNOX = {
    "TOKEN_TTL": timedelta(hours=float(os.environ.get("AGORA_TOKEN_TTL_HOURS", "10"))),
    # Why B105 is marked: bandit takes any "TOKEN" key for a password; this is knox's per-user token limit (none).
    "TOKEN_LIMIT_PER_USER": None,  # nosec B105
    "AUTO_REFRESH": False,
}

# Throttled doors (accounts/throttling.py): failures allowed per account and per address within the window
# (seconds) before the door answers 429 until the window has passed. Registration counts every attempt.
AGORA_THROTTLE = {
    "login": {
        "account": int(os.environ.get("AGORA_LOGIN_FAILURES_PER_ACCOUNT", "5")),
        "address": int(os.environ.get("AGORA_LOGIN_FAILURES_PER_ADDRESS", "20")),
        "window": int(os.environ.get("AGORA_LOGIN_WINDOW_SECONDS", "900")),
    },
    "registration": {
        "account": int(os.environ.get("AGORA_REGISTRATIONS_PER_ACCOUNT", "5")),
        "address": int(os.environ.get("AGORA_REGISTRATIONS_PER_ADDRESS", "10")),
        "window": int(os.environ.get("AGORA_REGISTRATION_WINDOW_SECONDS", "3600")),
    },
}
# How many reverse proxies in front of the site add to X-Forwarded-For (0: use REMOTE_ADDR). The client's address
# is the one that many hops from the right; never count a proxy that is not there, or clients choose their address.
AGORA_TRUSTED_PROXIES = int(os.environ.get("AGORA_TRUSTED_PROXIES", "0"))

# The cache holds the throttles' counts: Redis when REDIS_URL is set (shared by every worker and server), local
# memory otherwise (one process; counts are per worker then).
REDIS_URL = os.environ.get("REDIS_URL", "").strip()
CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL, "KEY_PREFIX": "agora"}
    if REDIS_URL
    else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "agora"}
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Agora API",
    "DESCRIPTION": "Public resource trading and the intermediary-services supermarket. "
    "公共资源交易与网上中介超市。Errors are {code, detail, detail_zh}.",
    "VERSION": "0.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Read-only fields (ids, states) only in responses, write-only ones only in requests: a client sees
    # what it must send apart from what it gets back.
    "COMPONENT_SPLIT_REQUEST": True,
    # The default hook (enums) and then every operation's error responses, {code, detail, detail_zh}.
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "core.openapi.error_responses",
    ],
    # Served from this site, not a CDN: trading centres often run on closed networks.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    # No validator badge: it would load an image from swagger.io, which the Content-Security-Policy refuses.
    "SWAGGER_UI_SETTINGS": {"deepLinking": True, "validatorUrl": None},
    "REDOC_DIST": "SIDECAR",
    "ENUM_NAME_OVERRIDES": {
        "TenderStatusEnum": "market.choices.TenderStatus",
        "NoticeKindEnum": "market.choices.NoticeKind",
        "ObjectionKindEnum": "market.choices.ObjectionKind",
        "ObjectionStatusEnum": "market.choices.ObjectionStatus",
        "AdmissionStatusEnum": "agencies.choices.AdmissionStatus",
        "RevocationReasonEnum": "agencies.choices.RevocationReason",
        "ListEntryStatusEnum": "agencies.choices.ListEntryStatus",
        "EvaluationStatusEnum": "agencies.choices.EvaluationStatus",
        "CertificatePurposeEnum": "agencies.choices.CertificatePurpose",
        "CreditListEnum": "agencies.choices.CreditList",
    },
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("AGORA_LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

# Security. Each is on by default with DEBUG off and can be turned off from the environment (for
# instance TLS terminated somewhere that cannot forward the scheme); docs/deploy.md says when.
_PRODUCTION = not DEBUG
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_HSTS_SECONDS = int(os.environ.get("AGORA_HSTS_SECONDS", "31536000" if _PRODUCTION else "0"))
SECURE_HSTS_INCLUDE_SUBDOMAINS = _env_bool("AGORA_HSTS_INCLUDE_SUBDOMAINS", _PRODUCTION)
SECURE_HSTS_PRELOAD = _env_bool("AGORA_HSTS_PRELOAD", _PRODUCTION)
SECURE_SSL_REDIRECT = _env_bool("AGORA_SSL_REDIRECT", _PRODUCTION)
# The load balancer probes /healthz over plain HTTP; a redirect to HTTPS would read as "down".
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SESSION_COOKIE_SECURE = _env_bool("AGORA_SECURE_COOKIES", _PRODUCTION)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_REFERRER_POLICY = os.environ.get("AGORA_REFERRER_POLICY", "same-origin")
X_FRAME_OPTIONS = "DENY"
if _env_bool("AGORA_BEHIND_PROXY", False):
    # Only behind a reverse proxy that sets this header itself and drops any copy a client sent: otherwise a
    # client could claim HTTPS over plain HTTP.
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# A deliberate "no" to HSTS preloading is a decision, not an oversight: keep `check --deploy` quiet about it.
SILENCED_SYSTEM_CHECKS = ["security.W021"] if SECURE_HSTS_SECONDS and not SECURE_HSTS_PRELOAD else []

# Content-Security-Policy, sent on every response by core.csp. Scripts only from this site (the API docs use
# drf-spectacular's split view, whose start-up script is a file, not inline); inline styles stay allowed because
# the site's own pages and the Swagger UI page use a <style> block and style attributes. Empty turns it off.
AGORA_CSP = os.environ.get(
    "AGORA_CSP",
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "font-src 'self' data:; object-src 'none'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'",
).strip()
