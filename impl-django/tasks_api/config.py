"""Settings from the environment, read once at start-up (Django's settings.py copies them in)."""

import os
from pathlib import Path

# <port>/tasks_api/config.py -> <repo>/spec
DEFAULT_SPEC_DIR = Path(__file__).resolve().parents[2] / "spec"

DATABASE_URL: str = os.environ.get("DATABASE_URL", "sqlite:///tasks.db")
SECRET_KEY: str = os.environ.get("SECRET_KEY", "insecure-dev-secret-change-me")
TOKEN_TTL_SECONDS: int = int(os.environ.get("TOKEN_TTL_SECONDS", "86400"))
CORS_ALLOW_ORIGINS: tuple[str, ...] = tuple(
    origin.strip() for origin in os.environ.get("CORS_ALLOW_ORIGINS", "").split(",") if origin.strip()
)
SPEC_DIR: Path = Path(os.environ.get("SPEC_DIR") or DEFAULT_SPEC_DIR)
# Django refuses requests whose Host is not listed (a DNS-rebinding defence); local names by default.
ALLOWED_HOSTS: list[str] = [
    host.strip()
    for host in os.environ.get("ALLOWED_HOSTS", "127.0.0.1,localhost,[::1]").split(",")
    if host.strip()
]
DEBUG: bool = os.environ.get("DJANGO_DEBUG", "") == "1"
