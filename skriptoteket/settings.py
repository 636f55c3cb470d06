"""Settings for Skriptoteket: one module, every deployment-specific value from the environment."""

import os
from pathlib import Path
from typing import Any

import dj_database_url
import django_stubs_ext
from csp.constants import NONE, SELF, UNSAFE_INLINE
from django.core.exceptions import ImproperlyConfigured

# Lets generic Django classes (ModelAdmin[User], QuerySet[Project]) be subscripted at run time.
django_stubs_ext.monkeypatch()


def env_str(name: str, default: str | None = None) -> str:
    value = os.environ.get(name)
    if value is None or value == "":
        if default is None:
            raise ImproperlyConfigured(f"Environment variable {name} is required.")
        return default
    return value


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name, "").strip().lower()
    if value == "":
        return default
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"Environment variable {name} must be a boolean, got {value!r}.")


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    if value == "":
        return default
    try:
        return int(value)
    except ValueError:
        raise ImproperlyConfigured(f"Environment variable {name} must be an integer.") from None


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in env_str(name, default).split(",") if item.strip()]


# --- Paths -------------------------------------------------------------------------------------
BASE_DIR = Path(__file__).resolve().parent.parent

# --- Security ----------------------------------------------------------------------------------
DEBUG = env_bool("DEBUG", False)
# No production default: a missing key is a configuration error unless DEBUG.
SECRET_KEY = env_str(
    "SECRET_KEY", "insecure-development-key-only-used-when-debug" if DEBUG else None
)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]" if DEBUG else "")
# HTTPS hardening is on by default outside DEBUG; `make run` serves plain HTTP on localhost and
# turns it off explicitly.
HTTPS = env_bool("HTTPS", not DEBUG)
SECURE_SSL_REDIRECT = HTTPS
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
SECURE_HSTS_SECONDS = 31_536_000 if HTTPS else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = HTTPS
SECURE_HSTS_PRELOAD = HTTPS
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if HTTPS else None
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
CSRF_TRUSTED_ORIGINS = env_list(
    "CSRF_TRUSTED_ORIGINS", "http://localhost:8000,http://127.0.0.1:8000"
)
# Content-Security-Policy on every response (django-csp): nothing from another origin, so tool
# output shown in a page (markdown, html_sandboxed) cannot make a viewer's browser call home.
# No inline script anywhere (Swagger UI's start script is served as a file). Inline styles are
# allowed: CodeMirror injects <style> elements, and the html_sandboxed frame inherits this policy
# while tools style their HTML inline; they fetch nothing, as images and fonts come only from
# 'self' (images also data:). The frame adds its own stricter policy
# (static/js/shared/run-results.js). See "Security headers" in docs/architecture.md.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF, UNSAFE_INLINE],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [NONE],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    },
}

# --- Apps --------------------------------------------------------------------------------------
INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    # Trigram index expressions (OpClass in an index needs the app's registered wrappers).
    "django.contrib.postgres",
    "rest_framework",
    "django_filters",
    "guardian",
    "axes",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "apps.core",
    "apps.accounts",
    "apps.projects",
    "apps.kvcollections",
    "apps.locks",
    "apps.tools",
    "apps.runs",
    "apps.sandbox",
    "apps.sandbox_projects",
    "apps.editor",
    "apps.portal",
]

# --- Middleware --------------------------------------------------------------------------------
MIDDLEWARE = [
    "apps.core.middleware.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Above ItemReadMiddleware, so its answers get these headers too.
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "apps.core.middleware.RequestBodyLimitMiddleware",
    "apps.kvcollections.middleware.CollectionsBodyLimitMiddleware",
    # The data API's plain item reads need nothing below (apps/kvcollections/api/item_reads.py).
    "apps.kvcollections.middleware.ItemReadMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # Last, as axes asks: turns a sign-in refused by the sign-in limits into the lockout page.
    "axes.middleware.AxesMiddleware",
]
ROOT_URLCONF = "skriptoteket.urls"
WSGI_APPLICATION = "skriptoteket.wsgi.application"

# --- Database ----------------------------------------------------------------------------------
DATABASE_URL = env_str(
    "DATABASE_URL", "postgres://postgres@127.0.0.1:5432/skriptoteket" if DEBUG else None
)
DATABASES = {
    "default": dj_database_url.parse(DATABASE_URL, conn_max_age=env_int("DB_CONN_MAX_AGE", 600)),
}
# No CONN_HEALTH_CHECKS: it costs a `SELECT 1` round trip on every request; a connection broken
# by a database restart fails one request and is then replaced (Django drops it on error).
# Server-side parameter binding lets psycopg prepare statements a connection runs repeatedly,
# so PostgreSQL stops re-planning the per-request auth and access queries.
DATABASES["default"].setdefault("OPTIONS", {}).update(
    server_side_binding=True, prepare_threshold=env_int("DB_PREPARE_THRESHOLD", 5)
)
if not DATABASES["default"]["ENGINE"].endswith("postgresql"):
    raise ImproperlyConfigured(
        "Skriptoteket runs on PostgreSQL only (DATABASE_URL=postgres://...)."
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache and Redis ---------------------------------------------------------------------------
REDIS_URL = env_str("REDIS_URL", "redis://127.0.0.1:6379/0" if DEBUG else None)
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": "skt",
        "TIMEOUT": 300,
        # A Redis that stops answering costs a request at most a second, never a hung worker.
        "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
    }
}
# Sessions live in PostgreSQL only: cached_db raises when Redis is down (its cache delete on
# sign-in and sign-out is not guarded), and signing in must not depend on Redis. The session
# row is one primary-key read per request.
SESSION_ENGINE = "django.contrib.sessions.backends.db"

# --- Auth & guardian ---------------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    # First: refuses a locked-out sign-in before any password is checked.
    "apps.accounts.backends.SignInLimitBackend",
    "django.contrib.auth.backends.ModelBackend",
    "guardian.backends.ObjectPermissionBackend",
]
LOGIN_URL = "accounts:login"
# "home" sends each role to its landing page: the tool catalog for users, projects for authors.
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "accounts:login"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Sign-in protection (docs/development.md): failed password sign-ins are counted in Redis per
# account and per client address; either reaching its limit pauses sign-in there for the
# cool-off. With Redis down nothing is counted and sign-in works (a warning is logged).
SIGN_IN_ACCOUNT_FAILURE_LIMIT = env_int("SIGN_IN_ACCOUNT_FAILURE_LIMIT", 5)
SIGN_IN_ADDRESS_FAILURE_LIMIT = env_int("SIGN_IN_ADDRESS_FAILURE_LIMIT", 30)
SIGN_IN_COOLOFF_SECONDS = env_int("SIGN_IN_COOLOFF_SECONDS", 900)
# Proxies in front of the app that each append to X-Forwarded-For; 0 trusts no such header.
SIGN_IN_TRUSTED_PROXY_COUNT = env_int("SIGN_IN_TRUSTED_PROXY_COUNT", 0)
AXES_HANDLER = "apps.accounts.backends.SignInLimitHandler"
AXES_LOCKOUT_CALLABLE = "apps.accounts.views.sign_in_locked"
AXES_CLIENT_IP_CALLABLE = "apps.accounts.sign_in_limits.client_address"
AXES_USERNAME_FORM_FIELD = "username"
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
# The backend marks a sign-in it refused, so the handler does not count it as a new failure.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
# The counters live in Redis, not in axes' tables: no admin pages for those.
AXES_ENABLE_ADMIN = False
AXES_VERBOSE = False  # no start-up banner on every manage.py command
# Guardian's anonymous user row is not used: anonymous visitors never hold object permissions.
ANONYMOUS_USER_NAME = None
GUARDIAN_MONKEY_PATCH_USER = False

# --- Limits ------------------------------------------------------------------------------------
# Largest request body accepted on /api/v1/ (413 JSON past it).
API_MAX_BODY_BYTES = env_int("API_MAX_BODY_BYTES", 1_048_576)
# Django's own limit for form posts on HTML pages.
# The sandbox snapshot (up to 2,000,000 bytes of canonical JSON) arrives as a form field.
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("DATA_UPLOAD_MAX_MEMORY_SIZE", 8_000_000)
API_PAGE_SIZE = env_int("API_PAGE_SIZE", 50)
API_MAX_PAGE_SIZE = env_int("API_MAX_PAGE_SIZE", 200)
PROJECT_DELETION_GRACE_DAYS = env_int("PROJECT_DELETION_GRACE_DAYS", 7)
# Sandbox projects: how deep they may nest (a top-level project is depth 0).
SANDBOX_PROJECT_MAX_DEPTH = env_int("SANDBOX_PROJECT_MAX_DEPTH", 3)
# Draft locks: lifetime without a heartbeat (the editor refreshes every 60 s).
DRAFT_LOCK_TTL_SECONDS = env_int("DRAFT_LOCK_TTL_SECONDS", 600)
# Collections data API (/collections/): body, bulk and stream limits.
COLLECTIONS_MAX_BODY_BYTES = env_int("COLLECTIONS_MAX_BODY_BYTES", 10_000_000)
COLLECTIONS_MAX_BULK_ITEMS = env_int("COLLECTIONS_MAX_BULK_ITEMS", 1000)
COLLECTIONS_DEFAULT_LIMIT = env_int("COLLECTIONS_DEFAULT_LIMIT", 1000)
COLLECTIONS_MAX_LIMIT = env_int("COLLECTIONS_MAX_LIMIT", 10_000)
COLLECTIONS_MAX_PATTERN_LENGTH = env_int("COLLECTIONS_MAX_PATTERN_LENGTH", 512)
# Rows per keyset query while streaming; no transaction or cursor spans two pages.
COLLECTIONS_PAGE_SIZE = env_int("COLLECTIONS_PAGE_SIZE", 500)
# ...and at most this many bytes of values per page (at least one item), so memory stays flat.
COLLECTIONS_PAGE_MAX_BYTES = env_int("COLLECTIONS_PAGE_MAX_BYTES", 8_000_000)
# Pattern queries that cannot use the key index (e.g. "*abc*") stop after this long.
COLLECTIONS_PATTERN_TIMEOUT_MS = env_int("COLLECTIONS_PATTERN_TIMEOUT_MS", 5000)
API_TOKEN_MAX_EXPIRY_DAYS = env_int("API_TOKEN_MAX_EXPIRY_DAYS", 3650)
# A token's last_used_at is written at most this often, so authentication stays read-only.
API_TOKEN_LAST_USED_RESOLUTION_SECONDS = 60

# --- Runs and the sandbox runner ---------------------------------------------------------------
# Backend that executes tool code: "bwrap" (bubblewrap, default) or "docker" (production hosts).
SANDBOX_RUNNER = env_str("SANDBOX_RUNNER", "bwrap")
_RUNNING_AS_ROOT = os.geteuid() == 0
# Per-run folders bind-mounted at /work, and the Python environment tools run with (built by
# scripts/sandbox.sh from requirements/runner.txt with Debian's /usr/bin/python3). The sandbox
# uid must be able to reach both, so a root worker keeps them outside any home folder.
_SANDBOX_HOME = Path("/var/lib/skriptoteket") if _RUNNING_AS_ROOT else BASE_DIR / ".data"
SANDBOX_WORK_ROOT = Path(env_str("SANDBOX_WORK_ROOT", str(_SANDBOX_HOME / "runs")))
SANDBOX_RUNNER_VENV = Path(env_str("SANDBOX_RUNNER_VENV", str(_SANDBOX_HOME / "runner-venv")))
# Host uids the sandbox runs as when the worker is root: one per concurrency slot, because
# RLIMIT_NPROC counts the processes of a uid.
SANDBOX_UID_BASE = env_int("SANDBOX_UID_BASE", 10001)
SANDBOX_UID_SLOTS = env_int("SANDBOX_UID_SLOTS", 16)
# Where root workers keep the slot locks of those uids: one place for every checkout and worker.
SANDBOX_UID_LOCK_ROOT = Path(env_str("SANDBOX_UID_LOCK_ROOT", str(_SANDBOX_HOME)))
# Where a root worker creates the cgroup of each bwrap run, relative to each cgroup hierarchy's
# root (docs/runner.md). Without cgroups the bwrap backend refuses to run tools unless DEBUG.
SANDBOX_CGROUP_PARENT = env_str("SANDBOX_CGROUP_PARENT", "skriptoteket-runs")
SANDBOX_DOCKER_IMAGE = env_str("SANDBOX_DOCKER_IMAGE", "skriptoteket-runner:latest")
# Uploads waiting for their run, artifacts of finished runs, session files: all in the
# storage STORAGES["runfiles"] (apps/runs/session_files.py). "filesystem" keeps them under
# RUN_FILES_ROOT, which every web and worker host must then share; "s3" keeps them in a bucket
# of any S3-compatible service, so hosts share nothing but the bucket (docs/runner.md).
RUN_FILES_ROOT = Path(env_str("RUN_FILES_ROOT", str(BASE_DIR / ".data/run-files")))
RUN_FILES_BACKEND = env_str("RUN_FILES_BACKEND", "filesystem")
# Artifact downloads: "stream" sends the bytes through Django; "redirect" (s3 only) answers
# with a signed URL of the object, valid RUN_FILES_S3_URL_EXPIRE_SECONDS.
RUN_FILES_DOWNLOADS = env_str("RUN_FILES_DOWNLOADS", "stream")
RUN_FILES_STORAGE: dict[str, Any]
if RUN_FILES_BACKEND == "filesystem":
    RUN_FILES_STORAGE = {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        # A run's files keep the names the code gives them: never a renamed copy beside.
        "OPTIONS": {"location": str(RUN_FILES_ROOT), "allow_overwrite": True},
    }
elif RUN_FILES_BACKEND == "s3":
    RUN_FILES_STORAGE = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": env_str("RUN_FILES_S3_BUCKET"),
            "endpoint_url": env_str("RUN_FILES_S3_ENDPOINT_URL", "") or None,
            "region_name": env_str("RUN_FILES_S3_REGION", "") or None,
            "access_key": env_str("RUN_FILES_S3_ACCESS_KEY_ID", "") or None,
            "secret_key": env_str("RUN_FILES_S3_SECRET_ACCESS_KEY", "") or None,
            "location": env_str("RUN_FILES_S3_PREFIX", ""),
            "querystring_expire": env_int("RUN_FILES_S3_URL_EXPIRE_SECONDS", 60),
            "file_overwrite": True,
            "default_acl": None,
            "addressing_style": env_str("RUN_FILES_S3_ADDRESSING_STYLE", "") or None,
        },
    }
else:
    raise ImproperlyConfigured("RUN_FILES_BACKEND must be filesystem or s3.")
if RUN_FILES_DOWNLOADS not in ("stream", "redirect") or (
    RUN_FILES_DOWNLOADS == "redirect" and RUN_FILES_BACKEND != "s3"
):
    raise ImproperlyConfigured("RUN_FILES_DOWNLOADS must be stream, or redirect with s3.")
RUN_WALL_SECONDS_SANDBOX = env_int("RUN_WALL_SECONDS_SANDBOX", 60)
RUN_WALL_SECONDS_PRODUCTION = env_int("RUN_WALL_SECONDS_PRODUCTION", 120)
RUN_CPU_SECONDS = env_int("RUN_CPU_SECONDS", 60)
RUN_MEMORY_BYTES = env_int("RUN_MEMORY_BYTES", 1 << 30)
RUN_MAX_PROCESSES = env_int("RUN_MAX_PROCESSES", 64)
# /tmp and /dev/shm of a run together; /dev/shm gets RUN_SHM_BYTES of it, /tmp the rest.
RUN_TMP_BYTES = env_int("RUN_TMP_BYTES", 256 << 20)
RUN_SHM_BYTES = env_int("RUN_SHM_BYTES", 64 << 20)
# CPU rate of a whole run, in cores (its cgroup's CPU quota).
RUN_CPUS = env_int("RUN_CPUS", 1)
RUN_FILE_BYTES = env_int("RUN_FILE_BYTES", 64 << 20)
RUN_WORK_MAX_BYTES = env_int("RUN_WORK_MAX_BYTES", 256 << 20)
RUN_STDOUT_MAX_BYTES = env_int("RUN_STDOUT_MAX_BYTES", 200_000)
RUN_STDERR_MAX_BYTES = env_int("RUN_STDERR_MAX_BYTES", 200_000)
RUN_ERROR_SUMMARY_MAX_BYTES = env_int("RUN_ERROR_SUMMARY_MAX_BYTES", 20_000)
RUN_RESULT_MAX_BYTES = env_int("RUN_RESULT_MAX_BYTES", 4_000_000)
# Queued or running runs one user may have at once (429 RUN_LIMIT_REACHED past it).
RUN_MAX_CONCURRENT_PER_USER = env_int("RUN_MAX_CONCURRENT_PER_USER", 4)
# A queued run not picked up within this many seconds is sent to the queue again.
RUN_REQUEUE_AFTER_SECONDS = env_int("RUN_REQUEUE_AFTER_SECONDS", 120)
# The reaper (beat job reap-stuck-runs, every RUN_REAPER_INTERVAL_SECONDS) times out a run still
# "running" this long past its wall limit: its worker died. A run whose worker was killed thus
# ends at most wall limit + grace + interval after it started (docs/runner.md, "Worker deaths").
RUN_STUCK_GRACE_SECONDS = env_int("RUN_STUCK_GRACE_SECONDS", 20)
RUN_REAPER_INTERVAL_SECONDS = env_int("RUN_REAPER_INTERVAL_SECONDS", 10)
UPLOAD_MAX_FILES = env_int("UPLOAD_MAX_FILES", 20)
UPLOAD_MAX_FILE_BYTES = env_int("UPLOAD_MAX_FILE_BYTES", 20_000_000)
UPLOAD_MAX_TOTAL_BYTES = env_int("UPLOAD_MAX_TOTAL_BYTES", 50_000_000)
SESSION_FILES_TTL_SECONDS = env_int("SESSION_FILES_TTL_SECONDS", 86_400)
ARTIFACTS_RETENTION_DAYS = env_int("ARTIFACTS_RETENTION_DAYS", 7)
# A production run's input files are kept this long after it ends, so it can be run again with
# the same files (run detail page, POST /api/v1/runs/{id}/rerun); the hourly clean-up removes them.
RUN_INPUTS_RETENTION_DAYS = env_int("RUN_INPUTS_RETENTION_DAYS", ARTIFACTS_RETENTION_DAYS)
SANDBOX_SNAPSHOT_MAX_BYTES = env_int("SANDBOX_SNAPSHOT_MAX_BYTES", 2_000_000)
SANDBOX_SNAPSHOT_TTL_SECONDS = env_int("SANDBOX_SNAPSHOT_TTL_SECONDS", 86_400)
# Sandbox settings of a draft head nobody has touched for this long are deleted.
SANDBOX_SETTINGS_RETENTION_DAYS = env_int("SANDBOX_SETTINGS_RETENTION_DAYS", 30)
# Run endpoints take multipart uploads: their bodies may be this large (413 JSON past it).
API_MAX_RUN_BODY_BYTES = env_int("API_MAX_RUN_BODY_BYTES", 60_000_000)

# --- Django REST framework ---------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "apps.accounts.api.authentication.BearerTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PARSER_CLASSES": ["apps.core.api.parsers.JSONParser"],
    "DEFAULT_RENDERER_CLASSES": ["apps.core.api.renderers.JSONRenderer"],
    "DEFAULT_PAGINATION_CLASS": "apps.core.api.pagination.PageNumberPagination",
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_THROTTLE_CLASSES": [
        "apps.core.api.throttling.AnonRateThrottle",
        "apps.core.api.throttling.UserRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "anon": env_str("API_THROTTLE_ANON", "60/min"),
        "user": env_str("API_THROTTLE_USER", "6000/min"),
    },
    "EXCEPTION_HANDLER": "apps.core.api.exception_handler.handle_api_exception",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Skriptoteket API",
    "DESCRIPTION": (
        "The Skriptoteket API: under /api/v1 API tokens, projects and members, sandboxes and "
        "merges, collections management, tools and the editor (draft locks, versions, review), "
        "runs and the sandbox preview; errors use the envelope of docs/api.md. Also the "
        "/collections/ data API, version 2 (header `x-api-version: 2`), with its flat error "
        "bodies; version 1 is the separate document /api/schema/collections-v1/."
    ),
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    # No badge image from validator.swagger.io: the page loads nothing from another host.
    "SWAGGER_UI_SETTINGS": {"deepLinking": True, "validatorUrl": None},
    "REDOC_DIST": "SIDECAR",
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,
    "PREPROCESSING_HOOKS": [
        "apps.core.api.schema.only_api_v1",
        "apps.kvcollections.api.schema.with_collections_v2",
    ],
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "apps.core.api.schema.add_error_responses",
    ],
}

# --- Celery ------------------------------------------------------------------------------------
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", REDIS_URL)
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_SOFT_TIME_LIMIT = env_int("CELERY_TASK_SOFT_TIME_LIMIT", 300)
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT", 360)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_TASK_ROUTES = {
    "apps.runs.tasks.execute_sandbox_run_task": {"queue": "sandbox"},
    "apps.runs.tasks.execute_production_run_task": {"queue": "runs"},
}
CELERY_BEAT_SCHEDULE = {
    "record-worker-heartbeat": {
        "task": "apps.core.tasks.record_worker_heartbeat_task",
        "schedule": 30.0,
    },
    "sweep-expired-draft-locks": {
        "task": "apps.locks.tasks.sweep_expired_draft_locks_task",
        "schedule": 60.0,
    },
    "recount-collection-counters": {
        "task": "apps.kvcollections.tasks.recount_collection_counters_task",
        "schedule": 3600.0,
    },
    # Both run every RUN_REAPER_INTERVAL_SECONDS; one not picked up by the next is dropped
    # (expires), so a busy queue never piles them up in front of runs.
    "reap-stuck-runs": {
        "task": "apps.runs.tasks.reap_stuck_runs_task",
        "schedule": float(RUN_REAPER_INTERVAL_SECONDS),
        "options": {"expires": float(RUN_REAPER_INTERVAL_SECONDS)},
    },
    # Runs on the `runs` queue, which the workers of runner hosts consume: folders are local.
    # As often as the reaper, so the folder of a run it ended goes one interval later.
    "sweep-run-folders": {
        "task": "apps.runs.tasks.sweep_run_folders_task",
        "schedule": float(RUN_REAPER_INTERVAL_SECONDS),
        "options": {"queue": "runs", "expires": float(RUN_REAPER_INTERVAL_SECONDS)},
    },
    "cleanup-run-files": {
        "task": "apps.runs.tasks.cleanup_run_files_task",
        "schedule": 3600.0,
    },
    "expire-sandbox-snapshots": {
        "task": "apps.sandbox.tasks.expire_sandbox_snapshots_task",
        "schedule": 3600.0,
    },
    "sync-sandbox-collections": {
        "task": "apps.sandbox_projects.tasks.sync_all_sandbox_collections_task",
        "schedule": 300.0,
    },
    "purge-scheduled-projects": {
        "task": "apps.projects.tasks.purge_scheduled_projects_task",
        "schedule": 3600.0,
    },
}
# Retry-After of the 503 answered while PostgreSQL or Redis cannot be reached.
UNAVAILABLE_RETRY_AFTER_SECONDS = env_int("UNAVAILABLE_RETRY_AFTER_SECONDS", 2)
# A worker whose heartbeat is older than this is reported as stale by /healthz.
WORKER_HEARTBEAT_STALE_SECONDS = 120

# --- Templates and static files ----------------------------------------------------------------
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
            ],
        },
    },
]
STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = BASE_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
    "runfiles": RUN_FILES_STORAGE,
}
WHITENOISE_USE_FINDERS = True
# Files served at the site root: /favicon.ico, which browsers and tools ask for on every site.
WHITENOISE_ROOT = BASE_DIR / "static" / "root"
LANGUAGE_CODE = "en"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Logging -----------------------------------------------------------------------------------
LOG_LEVEL = env_str("LOG_LEVEL", "INFO")
LOG_FORMAT = env_str("LOG_FORMAT", "json")  # "json" or "console"
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "structured": {
            "()": "apps.core.logs.build_formatter",
            "fmt": LOG_FORMAT,
        },
    },
    "handlers": {
        "stderr": {"class": "logging.StreamHandler", "formatter": "structured"},
    },
    "filters": {"outage": {"()": "apps.core.unavailable.OutageTracebackFilter"}},
    "root": {"handlers": ["stderr"], "level": LOG_LEVEL},
    "loggers": {
        # Access lines come from apps.core.middleware; Django's own 4xx warnings repeat them.
        # An outage's 503s are one warning line each, not a traceback (apps/core/unavailable.py).
        "django.request": {"level": "ERROR", "filters": ["outage"]},
        "django.server": {"level": "WARNING"},
    },
}
