"""The `logs` row: a column fails when a server log holds a traceback, an access-log 500 or a secret."""

from __future__ import annotations

import re
from pathlib import Path

from conformance.figures import FIGURES_DIR
from conformance.junit import Tally

# A deliberately killed server's log ends with this (conformance.faultserver names them): left out.
CRASH_SUFFIX = "-crash.log"
TRACEBACK = "Traceback (most recent call last)"
# The ports' access logs are JSON lines (spec/README.md, "Access log"): `"status": 500` in any spacing.
STATUS_500 = re.compile(r'"status"\s*:\s*500\b')
# Data that reaches a log only as a leak (spec/README.md, "Bad weather": bind parameters are never logged):
# a password hash, or an address the suite registered (conformance.api.unique_email: `<prefix>-<uuid4
# hex>@example.com`, which never appears in a path). A database error that logs its SQL parameters shows
# both.
SECRET = re.compile(r"\$argon2(id|i|d)\$|-[0-9a-f]{32}@example\.com")
MAX_SHOWN = 20  # offending lines in the report; the full list goes to logs.txt
LINE_SHOWN = 240


def server_logs(column_dir: Path, names: list[str]) -> list[Path]:
    """The column's server logs: `names` in its directory, and the faults layer's but for deliberate crashes.

    A server killed on purpose (its log named *-crash.log) may leave anything behind; every other server
    must not log a traceback, a secret or answer a 500, in any layer.
    """
    logs = [column_dir / name for name in names if (column_dir / name).exists()]
    faults = sorted((column_dir / FIGURES_DIR).glob("*.log"))
    return logs + [path for path in faults if not path.name.endswith(CRASH_SUFFIX)]


def offending_lines(path: Path, root: Path) -> list[str]:
    """`file:line: text` of each traceback header, access-log line with status 500, and leaked secret."""
    found = []
    with open(path, errors="replace") as log:
        for number, line in enumerate(log, 1):
            if TRACEBACK in line or STATUS_500.search(line) or SECRET.search(line):
                text = line.strip()
                shown = text if len(text) <= LINE_SHOWN else text[:LINE_SHOWN] + "..."
                found.append(f"{path.relative_to(root)}:{number}: {shown}")
    return found


def check(column_dir: Path, names: list[str]) -> Tally:
    """One case per server log: passed when clean; the offending lines (also in logs.txt) otherwise."""
    tally = Tally()
    every: list[str] = []
    for path in server_logs(column_dir, names):
        lines = offending_lines(path, column_dir)
        if lines:
            tally.failed += 1
            every += lines
        else:
            tally.passed += 1
    tally.failures = every[:MAX_SHOWN]
    if len(every) > MAX_SHOWN:
        tally.failures.append(f"... {len(every) - MAX_SHOWN} more in logs.txt")
    (column_dir / "logs.txt").write_text("".join(line + "\n" for line in every))
    return tally
