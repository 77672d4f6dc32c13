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
    cut: str | None = None  # why the region cuts a block in two (cut_problem), or None


class MarkerError(ValueError):
    """A marker that does not pair up (nested, unterminated, stray end)."""


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def _is_code(line: str) -> bool:
    stripped = line.strip()
    return bool(stripped) and not stripped.startswith("#")


def cut_problem(lines: list[str], start: int, end: int) -> str | None:
    """Why the region between marker lines `start` and `end` (1-based) cuts a block, or None.

    A cell must show a whole rule: a region that ends while its block goes on (the next code line is
    indented deeper than the region's first line) shows a function without its end, and one whose
    code climbs above its first line's indentation started in the middle of a block.
    """
    body = [line for line in lines[start : end - 1] if _is_code(line)]
    if not body:
        return None
    level = _indent(body[0])
    if any(_indent(line) < level for line in body):
        return "starts inside a block its code leaves (a line is indented less than the first)"
    after = next((line for line in lines[end:] if _is_code(line)), None)
    if after is not None and _indent(after) > level:
        return "ends inside a function or block (the next code line is indented deeper than its first)"
    return None


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
            found.append(Region(slug, where, start + 1, code, cut_problem(lines, start, number)))
            slug = None
    if slug is not None:
        raise MarkerError(f"{where}:{start}: region {slug!r} is never closed")
    return found


def port_regions(port_dir: Path) -> list[Region]:
    """Every region of a port, file by file."""
    return [region for path in source_files(port_dir) for region in regions_in(path, port_dir)]
