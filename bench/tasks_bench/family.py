"""Which server family a port's start command runs on: the hello and the floor it is compared with."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

# Run by the port's own Python: gunicorn resolves the config file exactly as when it serves (a class
# object or a dotted name), and the worker class's bases say what it is, whatever the subclass is called.
_PROBE = """
import json, runpy, sys
sys.path.insert(0, ".")
from gunicorn.config import Config
from gunicorn.util import load_class
cfg = Config()
for key, value in runpy.run_path(sys.argv[1]).items():
    if key in cfg.settings:
        cfg.set(key, value)
worker = cfg.worker_class  # gunicorn turns sync with threads > 1 into gthread here
worker = load_class(worker) if isinstance(worker, str) else worker
print(json.dumps({"mro": [c.__module__ + "." + c.__qualname__ for c in worker.__mro__]}))
"""

# The most specific base wins: the uvicorn worker is a gunicorn base Worker, gthread is not sync.
_BASES = [
    ("uvicorn_worker", "gunicorn-uvicorn"),  # the uvicorn-worker package
    ("uvicorn.workers", "gunicorn-uvicorn"),  # uvicorn's own, deprecated module
    ("gunicorn.workers.gthread.ThreadWorker", "gunicorn-gthread"),
    ("gunicorn.workers.sync.SyncWorker", "gunicorn-sync"),
]


def family_of_mro(mro: list[str]) -> str:
    """The family of a gunicorn worker class from its MRO (dotted names, most derived first)."""
    for marker, family in _BASES:
        if any(name == marker or name.startswith(marker + ".") for name in mro):
            return family
    raise ValueError(f"unknown gunicorn worker class: {mro[0] if mro else '?'}")


def family_of_argv(command: list[str]) -> str | None:
    """granian's family straight from its command line; None for gunicorn (its config file decides)."""
    joined = " ".join(command)
    if "granian" not in joined:
        return None
    interface = re.search(r"--interface\s+(\w+)", joined)
    return "granian-" + ("asgi" if interface and interface.group(1).startswith("asgi") else "wsgi")


def server_of(command: list[str], port_dir: Path) -> str:
    """The server configuration a port's start command uses: the hello and floor it is compared with."""
    family = family_of_argv(command)
    if family is not None:
        return family
    conf = command[command.index("--config") + 1] if "--config" in command else "gunicorn.conf.py"
    python = port_dir / ".venv" / "bin" / "python"
    if not python.exists():
        raise RuntimeError(f"{port_dir.name} has no virtualenv: run `make sync` (uv sync --frozen) first")
    done = subprocess.run(
        [str(python), "-c", _PROBE, conf],
        cwd=port_dir,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"{port_dir.name}: cannot read its gunicorn worker class: {done.stderr[-400:]}")
    return family_of_mro(json.loads(done.stdout.strip().splitlines()[-1])["mro"])
