"""A server's workers (found through /proc), signals to a process or a group, and notes of running servers."""

from __future__ import annotations

import contextlib
import os
import signal
from pathlib import Path

PROC = Path("/proc")


def parent_of(pid: int) -> int | None:
    """The parent pid of `pid`, or None when it has gone (or /proc cannot be read)."""
    try:
        stat = (PROC / str(pid) / "stat").read_text()
    except OSError:
        return None
    # The command name (field 2) is in parentheses and may hold spaces or ')': split after the last ')'.
    fields = stat[stat.rindex(")") + 2 :].split()
    return int(fields[1])


def children(pid: int) -> list[int]:
    """The live child processes of `pid` (a master's workers), in pid order; none without /proc."""
    # Linux's /proc/<pid>/task/<tid>/children needs CONFIG_PROC_CHILDREN; the ppid field of every
    # process's stat is always there. A few hundred small reads: milliseconds.
    found = []
    for entry in PROC.iterdir():
        if entry.name.isdigit() and parent_of(int(entry.name)) == pid and not _zombie(int(entry.name)):
            found.append(int(entry.name))
    return sorted(found)


def socket_count(pid: int) -> int:
    """How many sockets `pid` holds open (0 when it has gone): a worker serving clients holds theirs."""
    try:
        fds = list((PROC / str(pid) / "fd").iterdir())
    except OSError:
        return 0
    count = 0
    for fd in fds:
        with contextlib.suppress(OSError):
            count += os.readlink(fd).startswith("socket:")
    return count


def _zombie(pid: int) -> bool:
    try:
        stat = (PROC / str(pid) / "stat").read_text()
    except OSError:
        return True
    return stat[stat.rindex(")") + 2 :].split()[0] == "Z"


def signal_process(pid: int, sig: signal.Signals) -> bool:
    """Send `sig` to one process; False when it had already gone."""
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        return False
    return True


def signal_group(pgid: int, sig: signal.Signals) -> None:
    """Send `sig` to a whole process group (a server started in a session of its own, workers too)."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, sig)


def track(log: Path, pid: int) -> None:
    """Note a server's process group beside its log, until it is stopped (see kill_leftovers)."""
    log.with_suffix(".pid").write_text(f"{pid}\n")


def untrack(log: Path) -> None:
    """The server of `log` has been stopped and waited for."""
    log.with_suffix(".pid").unlink(missing_ok=True)


def kill_leftovers(directory: Path) -> list[int]:
    """SIGKILL the process group of every server still noted in `directory` (the layer was killed before
    its own clean-up ran); the pids killed."""
    killed = []
    for note in directory.glob("*.pid"):
        with contextlib.suppress(ValueError, ProcessLookupError):
            pid = int(note.read_text())
            os.killpg(pid, signal.SIGKILL)  # each server runs in a session of its own: pgid = pid
            killed.append(pid)
        note.unlink(missing_ok=True)
    return killed
