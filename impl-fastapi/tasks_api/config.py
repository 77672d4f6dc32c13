"""Settings from the environment, read once per process (spec/README.md, "Configuration")."""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cache
from pathlib import Path

# <repo>/spec: this file is <repo>/impl-fastapi/tasks_api/config.py.
DEFAULT_SPEC_DIR = Path(__file__).resolve().parents[2] / "spec"


@dataclass(frozen=True)
class Settings:
    """Every knob the port has; the first five are the shared ones every port reads."""

    database_url: str = "sqlite:///tasks.db"
    secret_key: str = "insecure-dev-secret-change-me"
    token_ttl_seconds: int = 86400
    cors_allow_origins: tuple[str, ...] = ()
    spec_dir: Path = DEFAULT_SPEC_DIR
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
        threadpool_size=int(env.get("THREADPOOL_SIZE", "20")),
    )
