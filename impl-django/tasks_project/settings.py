"""Django settings: only what the API uses, every value from tasks_api.config (the environment)."""

from tasks_api import config, db

# Django's signing key, and (the same value) the cursor HMAC key shared by every port and replica.
SECRET_KEY = config.SECRET_KEY
# Off unless DJANGO_DEBUG=1: DEBUG pages would show tracebacks and HTML instead of problem+json.
DEBUG = config.DEBUG
ALLOWED_HOSTS = config.ALLOWED_HOSTS

# One app; no admin, auth, contenttypes, sessions, messages, staticfiles: bearer tokens live in our tables.
INSTALLED_APPS = ["tasks_api.apps.TasksApiConfig"]

# startproject's seven, each left out for a reason (and each would cost every request a call):
# CommonMiddleware (APPEND_SLASH redirects; our FramingMiddleware sets Content-Length), CsrfViewMiddleware
# (no cookies, so no CSRF), SessionMiddleware, AuthenticationMiddleware and MessageMiddleware (bearer
# tokens in our tables: no session, no request.user, no messages), SecurityMiddleware (HSTS, HTTPS
# redirects and nosniff: headers the spec does not list, the TLS-terminating proxy's job),
# XFrameOptionsMiddleware (no HTML to frame). Six of our own instead, outermost first:
MIDDLEWARE = [
    "tasks_api.middleware.RequestIdMiddleware",  # outermost: logs the status the client really gets
    "tasks_api.middleware.FramingMiddleware",  # Content-Length and HEAD for every response below
    "tasks_api.middleware.CorsMiddleware",
    "tasks_api.middleware.AllowedHostsMiddleware",
    "tasks_api.middleware.TransferCodingMiddleware",
    "tasks_api.middleware.ProblemMiddleware",  # innermost: ApiError from a view -> problem+json
]

ROOT_URLCONF = "tasks_project.urls"
WSGI_APPLICATION = "tasks_project.wsgi.application"
TEMPLATES: list[dict[str, object]] = []

DATABASES = {"default": db.database_settings(config.DATABASE_URL, config.DATABASE_TIMEOUT_SECONDS)}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

USE_TZ = True
TIME_ZONE = "UTC"
USE_I18N = False

# Overrides of Django defaults that contradict the spec:
APPEND_SLASH = False  # "/projects/" is an unknown path (404), never a redirect to "/projects".
DATA_UPLOAD_MAX_MEMORY_SIZE = 1_048_576  # the spec's 1 MiB (Django's default is 2.5 MB); views check first.
DATA_UPLOAD_MAX_NUMBER_FIELDS = None  # unknown query parameters are ignored; gunicorn bounds the line.

# The API's own settings (tests override them with pytest-django's `settings` fixture).
TOKEN_TTL_SECONDS = config.TOKEN_TTL_SECONDS
CORS_ALLOW_ORIGINS = config.CORS_ALLOW_ORIGINS
SPEC_DIR = config.SPEC_DIR
WEB_DIR = config.WEB_DIR
REDIS_URL = config.REDIS_URL
EVENTS_POLL_SECONDS = config.EVENTS_POLL_SECONDS
EVENTS_HEARTBEAT_SECONDS = config.EVENTS_HEARTBEAT_SECONDS
EVENTS_STREAM_SECONDS = config.EVENTS_STREAM_SECONDS
EVENTS_RETENTION_SECONDS = config.EVENTS_RETENTION_SECONDS
DATABASE_TIMEOUT_SECONDS = config.DATABASE_TIMEOUT_SECONDS
IDEMPOTENCY_LEASE_SECONDS = config.IDEMPOTENCY_LEASE_SECONDS
IDEMPOTENCY_RETENTION_SECONDS = config.IDEMPOTENCY_RETENTION_SECONDS
LOGIN_MAX_FAILURES = config.LOGIN_MAX_FAILURES
LOGIN_WINDOW_SECONDS = config.LOGIN_WINDOW_SECONDS
HASH_CONCURRENCY = config.HASH_CONCURRENCY

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        # A 503 (the database cannot serve now) already has its one line from tasks_api.bad_weather.
        "not_503": {
            "()": "django.utils.log.CallbackFilter",
            "callback": lambda r: getattr(r, "status_code", 0) != 503,
        }
    },
    "handlers": {
        # The access log's lines go through a queue to one writer thread (tasks_api/logqueue.py).
        "access": {"()": "tasks_api.logqueue.stdout_queue_handler"},
        "stderr": {"class": "logging.StreamHandler", "stream": "ext://sys.stderr"},
    },
    "loggers": {
        # One JSON object per request, on stdout.
        "tasks_api.access": {"handlers": ["access"], "level": "INFO", "propagate": False},
        # A failed Redis publish or subscribe is worth a line; the change or stream goes on without it.
        "tasks_api.events": {"handlers": ["stderr"], "level": "WARNING", "propagate": False},
        # Database failures answered 503 and watchdog cuts: one line each, the error's class, no data.
        "tasks_api.bad_weather": {"handlers": ["stderr"], "level": "WARNING", "propagate": False},
        # Django logs every 4xx as a warning (ours are normal answers) and, with DEBUG off, sends 5xx
        # tracebacks only to ADMINS by mail: keep the 5xx, on stderr.
        "django.request": {
            "handlers": ["stderr"],
            "level": "ERROR",
            "filters": ["not_503"],
            "propagate": False,
        },
        # SQL and its bind values (emails, password and token hashes) are logged only with DEBUG on,
        # and DEBUG is off: say so here, so that turning DEBUG on still keeps them out of the log.
        "django.db.backends": {"handlers": ["stderr"], "level": "WARNING", "propagate": False},
    },
}
