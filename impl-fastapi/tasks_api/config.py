"""Settings from the environment, read once per process (spec/README.md, "Configuration")."""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cache
from pathlib import Path

# <repo>/spec and <repo>/web: this file is <repo>/impl-fastapi/tasks_api/config.py.
DEFAULT_SPEC_DIR = Path(__file__).resolve().parents[2] / "spec"
DEFAULT_WEB_DIR = Path(__file__).resolve().parents[2] / "web"


@dataclass(frozen=True)
class Settings:
    """Every knob the port has; the shared ones every port reads come first (spec "Configuration")."""

    database_url: str = "sqlite:///tasks.db"
    secret_key: str = "insecure-dev-secret-change-me"
    token_ttl_seconds: int = 86400
    cors_allow_origins: tuple[str, ...] = ()
    spec_dir: Path = DEFAULT_SPEC_DIR
    web_dir: Path = DEFAULT_WEB_DIR
    redis_url: str = ""  # empty: no Redis, streams poll the events table
    events_poll_seconds: float = 1.0
    events_heartbeat_seconds: float = 15.0
    events_stream_seconds: float = 300.0
    events_retention_seconds: int = 604800
    # The longest any request waits on the database (connect, lock, statement, pool checkout, SQLite's
    # busy timeout) before it is answered 503; the watchdog enforces it on a database that hangs.
    database_timeout_seconds: float = 5.0
    idempotency_lease_seconds: int = 60  # a claim older than this may be taken over by a retry
    idempotency_retention_seconds: int = 86400  # an idempotency record is kept this long
    login_max_failures: int = 5  # failed logins per email in one window before 429
    login_window_seconds: int = 300
    hash_concurrency: int = 2  # argon2 computations one process runs at once
    # Threads that run sync endpoints and dependencies (FastAPI's threadpool), per worker process.
    # The SQLAlchemy pool is sized from it so that a thread never waits for a connection.
    threadpool_size: int = 20
    max_body_bytes: int = 1024 * 1024
    # A client that stops sending its body is cut off after this long (the body never becomes a request).
    body_timeout_seconds: float = 10.0


def _origins(raw: str) -> tuple[str, ...]:
    return tuple(origin.strip() for origin in raw.split(",") if origin.strip())


@cache
def get_settings() -> Settings:
    """The settings of this process (cached: the environment does not change while we serve)."""
    env = os.environ
    return Settings(
        database_url=env.get("DATABASE_URL", "sqlite:///tasks.db"),
        secret_key=env.get("SECRET_KEY", "insecure-dev-secret-change-me"),
        token_ttl_seconds=int(env.get("TOKEN_TTL_SECONDS", "86400")),
        cors_allow_origins=_origins(env.get("CORS_ALLOW_ORIGINS", "")),
        spec_dir=Path(env.get("SPEC_DIR") or DEFAULT_SPEC_DIR),
        web_dir=Path(env.get("WEB_DIR") or DEFAULT_WEB_DIR),
        redis_url=env.get("REDIS_URL", "").strip(),
        # Event timings may be fractional (the unit tests run streams of a fraction of a second).
        events_poll_seconds=float(env.get("EVENTS_POLL_SECONDS", "1")),
        events_heartbeat_seconds=float(env.get("EVENTS_HEARTBEAT_SECONDS", "15")),
        events_stream_seconds=float(env.get("EVENTS_STREAM_SECONDS", "300")),
        events_retention_seconds=int(env.get("EVENTS_RETENTION_SECONDS", "604800")),
        # Fractional, so that the unit tests can wait a fraction of a second.
        database_timeout_seconds=float(env.get("DATABASE_TIMEOUT_SECONDS", "5")),
        idempotency_lease_seconds=int(env.get("IDEMPOTENCY_LEASE_SECONDS", "60")),
        idempotency_retention_seconds=int(env.get("IDEMPOTENCY_RETENTION_SECONDS", "86400")),
        login_max_failures=int(env.get("LOGIN_MAX_FAILURES", "5")),
        login_window_seconds=int(env.get("LOGIN_WINDOW_SECONDS", "300")),
        hash_concurrency=int(env.get("HASH_CONCURRENCY", "2")),
        threadpool_size=int(env.get("THREADPOOL_SIZE", "20")),
    )
