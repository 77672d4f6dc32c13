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
    # Threads that run sync endpoints and dependencies (FastAPI's threadpool), per worker process.
    # The SQLAlchemy pool is sized from it so that a thread never waits for a connection.
    threadpool_size: int = 20
    max_body_bytes: int = 1024 * 1024
    # A client that stops sending its body is cut off after this long (the body never becomes a request).
    body_timeout_seconds: float = 10.0
    idempotency_ttl_seconds: int = 24 * 3600


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
        threadpool_size=int(env.get("THREADPOOL_SIZE", "20")),
    )
