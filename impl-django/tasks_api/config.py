"""Settings from the environment, read once at start-up (Django's settings.py copies them in)."""

import os
from pathlib import Path

# <port>/tasks_api/config.py -> <repo>/spec and <repo>/web
DEFAULT_SPEC_DIR = Path(__file__).resolve().parents[2] / "spec"
DEFAULT_WEB_DIR = Path(__file__).resolve().parents[2] / "web"

DATABASE_URL: str = os.environ.get("DATABASE_URL", "sqlite:///tasks.db")
SECRET_KEY: str = os.environ.get("SECRET_KEY", "insecure-dev-secret-change-me")
TOKEN_TTL_SECONDS: int = int(os.environ.get("TOKEN_TTL_SECONDS", "86400"))
CORS_ALLOW_ORIGINS: tuple[str, ...] = tuple(
    origin.strip() for origin in os.environ.get("CORS_ALLOW_ORIGINS", "").split(",") if origin.strip()
)
SPEC_DIR: Path = Path(os.environ.get("SPEC_DIR") or DEFAULT_SPEC_DIR)
WEB_DIR: Path = Path(os.environ.get("WEB_DIR") or DEFAULT_WEB_DIR)
# Live events (spec/README.md, "Live events"): Redis only wakes streams up; empty means poll only.
REDIS_URL: str = os.environ.get("REDIS_URL", "")
EVENTS_POLL_SECONDS: float = float(os.environ.get("EVENTS_POLL_SECONDS", "1"))
EVENTS_HEARTBEAT_SECONDS: float = float(os.environ.get("EVENTS_HEARTBEAT_SECONDS", "15"))
EVENTS_STREAM_SECONDS: float = float(os.environ.get("EVENTS_STREAM_SECONDS", "300"))
EVENTS_RETENTION_SECONDS: int = int(os.environ.get("EVENTS_RETENTION_SECONDS", "604800"))
# Bad weather (spec/README.md): the longest any request waits on the database before it is answered 503.
DATABASE_TIMEOUT_SECONDS: float = float(os.environ.get("DATABASE_TIMEOUT_SECONDS", "5"))
# Idempotent retries: a claim's lease (a stale claim may be taken over) and how long a record is kept.
IDEMPOTENCY_LEASE_SECONDS: int = int(os.environ.get("IDEMPOTENCY_LEASE_SECONDS", "60"))
IDEMPOTENCY_RETENTION_SECONDS: int = int(os.environ.get("IDEMPOTENCY_RETENTION_SECONDS", "86400"))
# The login limit (failures per email per window) and the per-process cap on argon2 computations.
LOGIN_MAX_FAILURES: int = int(os.environ.get("LOGIN_MAX_FAILURES", "5"))
LOGIN_WINDOW_SECONDS: int = int(os.environ.get("LOGIN_WINDOW_SECONDS", "300"))
HASH_CONCURRENCY: int = int(os.environ.get("HASH_CONCURRENCY", "2"))
# Django refuses requests whose Host is not listed (a DNS-rebinding defence); local names by default.
ALLOWED_HOSTS: list[str] = [
    host.strip()
    for host in os.environ.get("ALLOWED_HOSTS", "127.0.0.1,localhost,[::1]").split(",")
    if host.strip()
]
DEBUG: bool = os.environ.get("DJANGO_DEBUG", "") == "1"
