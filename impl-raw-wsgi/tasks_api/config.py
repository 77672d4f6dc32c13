"""Settings read from the environment once, at start-up (spec/README.md, "Configuration")."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

# <repo>/impl-raw-wsgi/tasks_api/config.py -> <repo>/spec
DEFAULT_SPEC_DIR = Path(__file__).resolve().parents[2] / "spec"


@dataclass(frozen=True)
class Settings:
    """Everything the application reads from its environment; frozen so no request can change it."""

    database_url: str = "sqlite:///tasks.db"
    secret_key: str = "insecure-dev-secret-change-me"
    token_ttl_seconds: int = 86400
    cors_allow_origins: frozenset[str] = field(default_factory=frozenset)
    spec_dir: Path = DEFAULT_SPEC_DIR

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
        )
