"""Settings read from the environment once, at start-up (spec/README.md, "Configuration")."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

# <repo>/impl-raw-wsgi/tasks_api/config.py -> <repo>/spec, <repo>/web
_REPOSITORY = Path(__file__).resolve().parents[2]
DEFAULT_SPEC_DIR = _REPOSITORY / "spec"
DEFAULT_WEB_DIR = _REPOSITORY / "web"


@dataclass(frozen=True)
class Settings:
    """Everything the application reads from its environment; frozen so no request can change it."""

    database_url: str = "sqlite:///tasks.db"
    secret_key: str = "insecure-dev-secret-change-me"
    token_ttl_seconds: int = 86400
    cors_allow_origins: frozenset[str] = field(default_factory=frozenset)
    spec_dir: Path = DEFAULT_SPEC_DIR
    web_dir: Path = DEFAULT_WEB_DIR
    redis_url: str = ""  # empty: no Redis, streams only poll the events table
    # Live events. Seconds as floats: the poll interval may be fractional, and tests use tiny timings.
    events_poll_seconds: float = 1.0
    events_heartbeat_seconds: float = 15.0
    events_stream_seconds: float = 300.0
    events_retention_seconds: int = 604800
    # Bad weather: the longest any request waits on the database (connect, lock, statement, pool).
    database_timeout_seconds: float = 5.0
    # Idempotency: a claim's lease (then a retry may take it over) and how long a record is kept.
    idempotency_lease_seconds: int = 60
    idempotency_retention_seconds: int = 86400
    # The login limit (failures per email per window) and the per-process cap on argon2 work.
    login_max_failures: int = 5
    login_window_seconds: int = 300
    hash_concurrency: int = 2

    def __post_init__(self) -> None:
        # A zero or negative interval would make a stream spin or never wait, a zero budget or lease
        # would refuse every request: refuse such a setting at start-up instead.
        positive = (
            "events_poll_seconds",
            "events_heartbeat_seconds",
            "events_stream_seconds",
            "database_timeout_seconds",
            "idempotency_lease_seconds",
            "idempotency_retention_seconds",
            "login_max_failures",
            "login_window_seconds",
            "hash_concurrency",
        )
        for name in positive:
            if not getattr(self, name) > 0:
                raise ValueError(f"{name.upper()} must be positive")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> Settings:
        """Read the settings, falling back to the defaults of spec/README.md for what is unset."""
        default = cls()
        origins = environ.get("CORS_ALLOW_ORIGINS", "")
        return cls(
            database_url=environ.get("DATABASE_URL") or default.database_url,
            secret_key=environ.get("SECRET_KEY") or default.secret_key,
            token_ttl_seconds=int(environ.get("TOKEN_TTL_SECONDS") or default.token_ttl_seconds),
            cors_allow_origins=frozenset(o.strip() for o in origins.split(",") if o.strip()),
            spec_dir=Path(environ.get("SPEC_DIR") or default.spec_dir),
            web_dir=Path(environ.get("WEB_DIR") or default.web_dir),
            redis_url=environ.get("REDIS_URL", "").strip(),
            events_poll_seconds=float(environ.get("EVENTS_POLL_SECONDS") or default.events_poll_seconds),
            events_heartbeat_seconds=float(
                environ.get("EVENTS_HEARTBEAT_SECONDS") or default.events_heartbeat_seconds
            ),
            events_stream_seconds=float(
                environ.get("EVENTS_STREAM_SECONDS") or default.events_stream_seconds
            ),
            events_retention_seconds=int(
                environ.get("EVENTS_RETENTION_SECONDS") or default.events_retention_seconds
            ),
            database_timeout_seconds=float(
                environ.get("DATABASE_TIMEOUT_SECONDS") or default.database_timeout_seconds
            ),
            idempotency_lease_seconds=int(
                environ.get("IDEMPOTENCY_LEASE_SECONDS") or default.idempotency_lease_seconds
            ),
            idempotency_retention_seconds=int(
                environ.get("IDEMPOTENCY_RETENTION_SECONDS") or default.idempotency_retention_seconds
            ),
            login_max_failures=int(environ.get("LOGIN_MAX_FAILURES") or default.login_max_failures),
            login_window_seconds=int(environ.get("LOGIN_WINDOW_SECONDS") or default.login_window_seconds),
            hash_concurrency=int(environ.get("HASH_CONCURRENCY") or default.hash_concurrency),
        )
