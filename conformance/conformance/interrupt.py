"""Ctrl-C and SIGTERM: unwind through every clean-up path, then sweep whatever the run still left behind."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import uuid
from pathlib import Path
from types import FrameType

import psycopg
from psycopg import sql

from conformance.processes import PROC, parent_of

# Every process a run starts inherits this variable (servers, nginx, pytest, schemathesis, their
# children), so the run can find them all at the end even if a clean-up path was cut short.
RUN_MARKER = "CONFORMANCE_RUN"
MARKER = re.compile(r"^[a-z0-9]{1,16}$")  # it also names the run's PostgreSQL databases


class Interrupted(KeyboardInterrupt):
    """SIGINT or SIGTERM arrived: a KeyboardInterrupt, so that no `except Exception` swallows it."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def install() -> str:
    """Give the run its marker (kept if the caller set a valid one); both signals raise Interrupted."""
    marker = os.environ.get(RUN_MARKER, "")
    if not MARKER.match(marker):
        marker = uuid.uuid4().hex[:12]
    os.environ[RUN_MARKER] = marker
    signal.signal(signal.SIGINT, _raise)
    # Without this, SIGTERM (what `timeout` and service managers send) ends Python on the spot: no
    # `finally` runs, and every server started in a session of its own is left without a parent.
    signal.signal(signal.SIGTERM, _raise)
    return marker


def _raise(signum: int, frame: FrameType | None) -> None:
    # Once: a second Ctrl-C (or the SIGTERM a supervisor follows up with) must not cut the clean-up short.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    raise Interrupted(signum)


def database_prefix() -> str:
    """The name prefix of the PostgreSQL databases this run creates (its marker in it, when it has one)."""
    marker = os.environ.get(RUN_MARKER, "")
    return f"conformance_{marker}_" if MARKER.match(marker) else "conformance_"


def _ancestors() -> set[int]:
    found, pid = set(), os.getpid()
    while pid and pid not in found:
        found.add(pid)
        pid = parent_of(pid) or 0
    return found


def marked(name: str, value: str) -> list[int]:
    """Live processes (not this one or its ancestors) whose environment has name=value."""
    needle = f"{name}={value}".encode()
    skip, found = _ancestors(), []
    for entry in PROC.iterdir():
        if not entry.name.isdigit() or int(entry.name) in skip:
            continue
        with contextlib.suppress(OSError):
            if needle in (entry / "environ").read_bytes().split(b"\0") and _alive(entry):
                found.append(int(entry.name))
    return sorted(found)


def _alive(entry: Path) -> bool:
    stat = (entry / "stat").read_text()
    return stat[stat.rindex(")") + 2 :].split()[0] != "Z"


def descendants(pid: int) -> list[int]:
    """Every live process below `pid` (children, their children, ...), from one pass over /proc."""
    below: dict[int, list[int]] = {}
    for entry in PROC.iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, ValueError):
                if _alive(entry):
                    below.setdefault(parent_of(int(entry.name)) or 0, []).append(int(entry.name))
    found, todo = [], list(below.get(pid, []))
    while todo:
        child = todo.pop()
        found.append(child)
        todo.extend(below.get(child, []))
    return sorted(found)


def sweep_processes(marker: str) -> list[int]:
    """SIGKILL every process still below this one or carrying the run's marker; the pids killed.

    Both, because neither alone sees everything: nginx overwrites its environment with its process
    title (no marker), and a worker whose master was killed is no longer below us.
    """
    killed = []
    for _ in range(3):  # a master killed mid-fork may leave a child that appears a moment later
        pids = sorted(set(descendants(os.getpid())) | set(marked(RUN_MARKER, marker)))
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
                killed.append(pid)
        if not pids:
            break
    return killed


def sweep_databases(admin_url: str) -> list[str]:
    """Drop the PostgreSQL databases named with this run's prefix that are still there; their names."""
    prefix = database_prefix()
    if prefix == "conformance_":
        return []  # no marker: never touch databases of other runs
    pattern = prefix.replace("_", r"\_") + "%"
    with psycopg.connect(admin_url, autocommit=True, connect_timeout=10) as admin:
        names = [
            row[0]
            for row in admin.execute("SELECT datname FROM pg_database WHERE datname LIKE %s", (pattern,))
        ]
        for name in names:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
    return names
