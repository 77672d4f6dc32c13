"""Settings from the environment, read and validated once per process (spec/README.md, "Configuration")."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Annotated

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

# <repo>/spec and <repo>/web: this file is <repo>/impl-fastapi/tasks_api/config.py.
DEFAULT_SPEC_DIR = Path(__file__).resolve().parents[2] / "spec"
DEFAULT_WEB_DIR = Path(__file__).resolve().parents[2] / "web"

Seconds = Annotated[float, Field(gt=0)]  # fractional: the unit tests run streams of a fraction of a second
WholeSeconds = Annotated[int, Field(ge=0)]
Count = Annotated[int, Field(ge=1)]


class Settings(BaseSettings):
    """Every knob the port has, each read from the variable of its name in capitals (TOKEN_TTL_SECONDS);
    the shared ones every port reads come first (spec "Configuration")."""

    # Only the environment (no .env file); an empty variable counts as unset, as `VAR= cmd` means.
    model_config = SettingsConfigDict(frozen=True, case_sensitive=False, env_ignore_empty=True)

    database_url: str = "sqlite:///tasks.db"
    secret_key: str = "insecure-dev-secret-change-me"
    token_ttl_seconds: WholeSeconds = 86400
    # A comma-separated list, not JSON (NoDecode: pydantic-settings would parse a tuple as JSON).
    cors_allow_origins: Annotated[tuple[str, ...], NoDecode] = ()
    spec_dir: Path = DEFAULT_SPEC_DIR
    web_dir: Path = DEFAULT_WEB_DIR
    redis_url: str = ""  # empty: no Redis, streams poll the events table
    events_poll_seconds: Seconds = 1.0
    events_heartbeat_seconds: Seconds = 15.0
    events_stream_seconds: Seconds = 300.0
    events_retention_seconds: WholeSeconds = 604800
    # The longest any request waits on the database (connect, lock, statement, pool checkout, SQLite's
    # busy timeout) before it is answered 503; the watchdog enforces it on a database that hangs.
    database_timeout_seconds: Seconds = 5.0
    idempotency_lease_seconds: WholeSeconds = 60  # a claim older than this may be taken over by a retry
    idempotency_retention_seconds: WholeSeconds = 86400  # an idempotency record is kept this long
    login_max_failures: Count = 5  # failed logins per email in one window before 429
    login_window_seconds: WholeSeconds = 300
    hash_concurrency: Count = 2  # argon2 computations one process runs at once
    # Threads that run sync endpoints and dependencies (FastAPI's threadpool), per worker process.
    # The SQLAlchemy pool is sized from it so that a thread never waits for a connection.
    threadpool_size: Count = 20

    @field_validator("cors_allow_origins", mode="before")
    @classmethod
    def _origins(cls, raw: object) -> object:
        if isinstance(raw, str):
            return tuple(origin.strip() for origin in raw.split(",") if origin.strip())
        return raw

    @field_validator("redis_url")
    @classmethod
    def _stripped(cls, raw: str) -> str:
        return raw.strip()


class SettingsError(Exception):
    """A variable of the environment has a value the port cannot use: the process does not start."""


@cache
def get_settings() -> Settings:
    """The settings of this process (cached: the environment does not change while we serve). A bad value
    fails here, at start (gunicorn's master applies the schema with them), naming the variable."""
    try:
        return Settings()
    except ValidationError as exc:
        problems = [
            f"{'.'.join(str(part) for part in error['loc']).upper()}={error['input']!r}: {error['msg']}"
            for error in exc.errors()
        ]
        raise SettingsError("bad environment: " + "; ".join(problems)) from None
