"""Settings from the environment, as Flask config keys."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

# <repo>/spec and <repo>/web, found from this file so the port runs from any working directory.
REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_SPEC_DIR = REPO_ROOT / "spec"
DEFAULT_WEB_DIR = REPO_ROOT / "web"

DEFAULTS: dict[str, str] = {
    "DATABASE_URL": "sqlite:///tasks.db",
    "SECRET_KEY": "insecure-dev-secret-change-me",
    "TOKEN_TTL_SECONDS": "86400",
    "CORS_ALLOW_ORIGINS": "",
    "SPEC_DIR": str(DEFAULT_SPEC_DIR),
    "WEB_DIR": str(DEFAULT_WEB_DIR),
    "REDIS_URL": "",
    "EVENTS_POLL_SECONDS": "1",
    "EVENTS_HEARTBEAT_SECONDS": "15",
    "EVENTS_STREAM_SECONDS": "300",
    "EVENTS_RETENTION_SECONDS": "604800",
    "DATABASE_TIMEOUT_SECONDS": "5",
    "IDEMPOTENCY_LEASE_SECONDS": "60",
    "IDEMPOTENCY_RETENTION_SECONDS": "86400",
    "LOGIN_MAX_FAILURES": "5",
    "LOGIN_WINDOW_SECONDS": "300",
    "HASH_CONCURRENCY": "2",
}


def from_env(environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Read the spec's variables into typed Flask config values."""
    env = os.environ if environ is None else environ
    raw = {key: env.get(key) or default for key, default in DEFAULTS.items()}
    return {
        "DATABASE_URL": raw["DATABASE_URL"],
        # Flask's own SECRET_KEY slot holds the cursor HMAC key; the API sets no Flask session cookie.
        "SECRET_KEY": raw["SECRET_KEY"],
        "TOKEN_TTL_SECONDS": int(raw["TOKEN_TTL_SECONDS"]),
        "CORS_ALLOW_ORIGINS": parse_origins(raw["CORS_ALLOW_ORIGINS"]),
        "SPEC_DIR": Path(raw["SPEC_DIR"]),
        "WEB_DIR": Path(raw["WEB_DIR"]),
        "REDIS_URL": raw["REDIS_URL"],  # empty: no Redis, streams only poll the table
        # Seconds, possibly fractional (EVENTS_POLL_SECONDS=0.2); the stream only does arithmetic with them.
        "EVENTS_POLL_SECONDS": float(raw["EVENTS_POLL_SECONDS"]),
        "EVENTS_HEARTBEAT_SECONDS": float(raw["EVENTS_HEARTBEAT_SECONDS"]),
        "EVENTS_STREAM_SECONDS": float(raw["EVENTS_STREAM_SECONDS"]),
        "EVENTS_RETENTION_SECONDS": int(raw["EVENTS_RETENTION_SECONDS"]),
        # The longest any request waits on the database (connect, lock, statement, pool checkout); may be
        # fractional, the PostgreSQL settings take it in milliseconds.
        "DATABASE_TIMEOUT_SECONDS": float(raw["DATABASE_TIMEOUT_SECONDS"]),
        "IDEMPOTENCY_LEASE_SECONDS": int(raw["IDEMPOTENCY_LEASE_SECONDS"]),
        "IDEMPOTENCY_RETENTION_SECONDS": int(raw["IDEMPOTENCY_RETENTION_SECONDS"]),
        "LOGIN_MAX_FAILURES": int(raw["LOGIN_MAX_FAILURES"]),
        "LOGIN_WINDOW_SECONDS": int(raw["LOGIN_WINDOW_SECONDS"]),
        "HASH_CONCURRENCY": int(raw["HASH_CONCURRENCY"]),
    }


def parse_origins(value: str) -> tuple[str, ...]:
    """Split the comma-separated origin list, dropping blanks."""
    return tuple(origin.strip() for origin in value.split(",") if origin.strip())
