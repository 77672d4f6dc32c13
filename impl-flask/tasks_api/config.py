"""Settings from the environment, as Flask config keys."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

# <repo>/spec, found from this file so the port runs from any working directory.
DEFAULT_SPEC_DIR = Path(__file__).resolve().parents[2] / "spec"

DEFAULTS: dict[str, str] = {
    "DATABASE_URL": "sqlite:///tasks.db",
    "SECRET_KEY": "insecure-dev-secret-change-me",
    "TOKEN_TTL_SECONDS": "86400",
    "CORS_ALLOW_ORIGINS": "",
    "SPEC_DIR": str(DEFAULT_SPEC_DIR),
}


def from_env(environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Read the five spec variables into typed Flask config values."""
    env = os.environ if environ is None else environ
    raw = {key: env.get(key) or default for key, default in DEFAULTS.items()}
    return {
        "DATABASE_URL": raw["DATABASE_URL"],
        # Flask's own SECRET_KEY slot holds the cursor HMAC key; the API sets no Flask session cookie.
        "SECRET_KEY": raw["SECRET_KEY"],
        "TOKEN_TTL_SECONDS": int(raw["TOKEN_TTL_SECONDS"]),
        "CORS_ALLOW_ORIGINS": parse_origins(raw["CORS_ALLOW_ORIGINS"]),
        "SPEC_DIR": Path(raw["SPEC_DIR"]),
    }


def parse_origins(value: str) -> tuple[str, ...]:
    """Split the comma-separated origin list, dropping blanks."""
    return tuple(origin.strip() for origin in value.split(",") if origin.strip())
