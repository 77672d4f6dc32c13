"""Django settings: only what the API uses, each read once from the environment (tasks_api.config parses)."""

from tasks_api import config, db

# Every variable is read here, the one place a Django developer looks; tasks_api.config says how each
# kind of value is parsed and refused at start-up. The code reads django.conf.settings, never os.environ.

# Django's signing key, and (the same value) the cursor HMAC key shared by every port and replica.
SECRET_KEY = config.text("SECRET_KEY", "insecure-dev-secret-change-me")
# Off unless DJANGO_DEBUG=1: DEBUG pages would show tracebacks and HTML instead of problem+json.
DEBUG = config.flag("DJANGO_DEBUG")
# CommonMiddleware refuses a Host not listed here (a DNS-rebinding defence); local names by default.
ALLOWED_HOSTS = config.names("ALLOWED_HOSTS", "127.0.0.1,localhost,[::1]")

# One app; no admin, auth, contenttypes, sessions, messages, staticfiles: bearer tokens live in our tables.
INSTALLED_APPS = ["tasks_api.apps.TasksApiConfig"]

# startproject's seven, each kept or left out for a reason (each costs every request a call):
# CommonMiddleware stays: it validates Host against ALLOWED_HOSTS (get_host()) and sets Content-Length
# (APPEND_SLASH is off below). CsrfViewMiddleware goes (no cookies, so no CSRF), as do SessionMiddleware,
# AuthenticationMiddleware and MessageMiddleware (bearer tokens in our tables: no session, no
# request.user, no messages), SecurityMiddleware (HSTS, HTTPS redirects and nosniff: headers the spec
# does not list, the TLS-terminating proxy's job) and XFrameOptionsMiddleware (no HTML to frame).
# Ours around it, outermost first, each for what the spec asks and Django does not do:
MIDDLEWARE = [
    "tasks_api.middleware.RequestIdMiddleware",  # outermost: logs the status the client really gets
    "tasks_api.middleware.FramingMiddleware",  # HEAD without a body, 204/304 without Content-*
    "tasks_api.middleware.CorsMiddleware",
    "django.middleware.common.CommonMiddleware",  # Host in ALLOWED_HOSTS, Content-Length
    "tasks_api.middleware.HostRequiredMiddleware",  # an HTTP/1.1 request without Host is 400
    "tasks_api.middleware.TransferCodingMiddleware",
    "tasks_api.middleware.ProblemMiddleware",  # innermost: ApiError from a view -> problem+json
]

ROOT_URLCONF = "tasks_project.urls"
WSGI_APPLICATION = "tasks_project.wsgi.application"
TEMPLATES: list[dict[str, object]] = []

# Bad weather (spec/README.md): the longest any request waits on the database before it is answered 503.
DATABASE_TIMEOUT_SECONDS = config.seconds("DATABASE_TIMEOUT_SECONDS", 5)
DATABASES = {
    "default": db.database_settings(
        config.text("DATABASE_URL", "sqlite:///tasks.db"), DATABASE_TIMEOUT_SECONDS
    )
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

USE_TZ = True
TIME_ZONE = "UTC"
USE_I18N = False

# Overrides of Django defaults that contradict the spec:
# CommonMiddleware would answer a 404 for "/projects/" with a redirect to it; the spec says 404.
APPEND_SLASH = False  # "/projects/" is an unknown path (404), never a redirect to "/projects".
DATA_UPLOAD_MAX_MEMORY_SIZE = 1_048_576  # the spec's 1 MiB (Django's default is 2.5 MB); views check first.
DATA_UPLOAD_MAX_NUMBER_FIELDS = None  # unknown query parameters are ignored; gunicorn bounds the line.

# The API's own settings (the tests override them with override_settings).
TOKEN_TTL_SECONDS = config.integer("TOKEN_TTL_SECONDS", 86400)
CORS_ALLOW_ORIGINS = tuple(config.names("CORS_ALLOW_ORIGINS"))
SPEC_DIR = config.directory("SPEC_DIR", config.DEFAULT_SPEC_DIR)
WEB_DIR = config.directory("WEB_DIR", config.DEFAULT_WEB_DIR)
# Live events (spec/README.md, "Live events"): Redis only wakes streams up; empty means poll only.
REDIS_URL = config.text("REDIS_URL", "")
EVENTS_POLL_SECONDS = config.seconds("EVENTS_POLL_SECONDS", 1)
EVENTS_HEARTBEAT_SECONDS = config.seconds("EVENTS_HEARTBEAT_SECONDS", 15)
EVENTS_STREAM_SECONDS = config.seconds("EVENTS_STREAM_SECONDS", 300)
EVENTS_RETENTION_SECONDS = config.integer("EVENTS_RETENTION_SECONDS", 604800)
# Idempotent retries: a claim's lease (a stale claim may be taken over) and how long a record is kept.
IDEMPOTENCY_LEASE_SECONDS = config.integer("IDEMPOTENCY_LEASE_SECONDS", 60)
IDEMPOTENCY_RETENTION_SECONDS = config.integer("IDEMPOTENCY_RETENTION_SECONDS", 86400)
# The login limit (failures per email per window) and the per-process cap on argon2 computations.
LOGIN_MAX_FAILURES = config.integer("LOGIN_MAX_FAILURES", 5)
LOGIN_WINDOW_SECONDS = config.integer("LOGIN_WINDOW_SECONDS", 300)
HASH_CONCURRENCY = config.integer("HASH_CONCURRENCY", 2)

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
        # The access log's lines go through a queue to one writer thread (tasks_api/accesslog.py).
        "access": {"()": "tasks_api.accesslog.stdout_queue_handler"},
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
