"""How each setting is read from the environment and validated; tasks_project/settings.py names them."""

import os
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

# Django's idiom is that settings.py is where the environment is read, and the code reads
# django.conf.settings (which the tests override). So settings.py names every variable and its default
# once, and these parsers are the one place that turns its text into a value or refuses it at start-up.

# <port>/tasks_api/config.py -> <repo>/spec and <repo>/web
DEFAULT_SPEC_DIR = Path(__file__).resolve().parents[2] / "spec"
DEFAULT_WEB_DIR = Path(__file__).resolve().parents[2] / "web"


def text(name: str, default: str) -> str:
    """The variable as it is (the default when it is unset)."""
    return os.environ.get(name, default)


def integer(name: str, default: int) -> int:
    """A whole number of at least 1 (seconds, counts), or a start-up error naming the variable."""
    raw = os.environ.get(name, str(default))
    if not (raw.strip().isascii() and raw.strip().isdigit()) or int(raw) < 1:
        raise ImproperlyConfigured(f"{name} must be a whole number of at least 1, not {raw!r}")
    return int(raw)


def seconds(name: str, default: float) -> float:
    """A positive number of seconds (fractions allowed), or a start-up error naming the variable."""
    raw = os.environ.get(name, str(default))
    try:
        value = float(raw)
    except ValueError:
        value = 0.0
    if not value > 0 or value == float("inf"):
        raise ImproperlyConfigured(f"{name} must be a positive number of seconds, not {raw!r}")
    return value


def names(name: str, default: str = "") -> list[str]:
    """A comma-separated list, each item stripped, empty items dropped."""
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


def directory(name: str, default: Path) -> Path:
    """A directory; unset or empty means the default beside the port (the repository's spec/ or web/)."""
    return Path(os.environ.get(name) or default)


def flag(name: str) -> bool:
    """On only when set to exactly "1"."""
    return os.environ.get(name, "") == "1"
