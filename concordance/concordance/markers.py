"""Find the `# concordance: <slug>` ... `# end concordance` regions in a port's Python files."""

from __future__ import annotations

import re
import textwrap
from dataclasses import dataclass
from pathlib import Path

START = re.compile(r"^\s*#\s*concordance:\s*(?P<slug>\S+)\s*$")
END = re.compile(r"^\s*#\s*end concordance\s*$")
# Virtualenvs, caches and tests are not the port's implementation.
SKIPPED_PARTS = {".venv", "__pycache__", "tests", "node_modules", ".git"}


@dataclass(frozen=True)
class Region:
    """One marked region: where it is and its code (dedented, markers removed)."""

    slug: str
    path: str  # relative to the port directory
    first_line: int  # 1-based line of the first code line
    code: str


class MarkerError(ValueError):
    """A marker that does not pair up (nested, unterminated, stray end)."""


def source_files(port_dir: Path) -> list[Path]:
    """The port's Python files, in a stable order."""
    return sorted(
        path
        for path in port_dir.rglob("*.py")
        if not SKIPPED_PARTS.intersection(path.relative_to(port_dir).parts)
    )


def regions_in(path: Path, port_dir: Path) -> list[Region]:
    """The regions of one file; raises MarkerError for markers that do not pair up."""
    found: list[Region] = []
    slug: str | None = None
    start = 0
    lines = path.read_text(encoding="utf-8").splitlines()
    where = path.relative_to(port_dir).as_posix()
    for number, line in enumerate(lines, start=1):
        opened, closed = START.match(line), END.match(line)
        if opened:
            if slug is not None:
                raise MarkerError(f"{where}:{number}: region {opened['slug']!r} opens inside {slug!r}")
            slug, start = opened["slug"], number
        elif closed:
            if slug is None:
                raise MarkerError(f"{where}:{number}: 'end concordance' without an open region")
            code = textwrap.dedent("\n".join(lines[start : number - 1])).strip("\n")
            found.append(Region(slug, where, start + 1, code))
            slug = None
    if slug is not None:
        raise MarkerError(f"{where}:{start}: region {slug!r} is never closed")
    return found


def port_regions(port_dir: Path) -> list[Region]:
    """Every region of a port, file by file."""
    return [region for path in source_files(port_dir) for region in regions_in(path, port_dir)]
