"""The shared vocabulary (vocabulary.toml): every port's tasks_api/ holds exactly its modules.

A port may differ only where its README says so, under `## Framework-specific files`, one bullet each:

    - `tasks_api/apps.py`: why the framework wants it            (a file outside the vocabulary)
    - no `tasks_api/app.py`: where the concern lives instead     (a vocabulary file the port lacks)

Paths are relative to the port directory. The expected set of `*.py` files under `tasks_api/` is the
vocabulary, plus the listed files, minus the `no` ones; the check compares it with the files on disk.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from concordance.model import CONCORDANCE_DIR, PortDir

VOCABULARY = CONCORDANCE_DIR / "vocabulary.toml"
PACKAGE = "tasks_api"
SECTION = "## Framework-specific files"
BULLET = re.compile(r"^- (no )?`([^`]+)`: ")


@dataclass(frozen=True)
class Exceptions:
    """A port README's `## Framework-specific files`: extra files, absent vocabulary files, bad lines."""

    extra: dict[str, int] = field(default_factory=dict)  # path -> README line
    absent: dict[str, int] = field(default_factory=dict)  # path -> README line
    malformed: list[tuple[int, str]] = field(default_factory=list)  # (line, text) of a bad bullet


def load_vocabulary(path: Path = VOCABULARY) -> dict[str, str]:
    """The shared modules (relative to tasks_api/) and the concern of each."""
    return dict(tomllib.loads(path.read_text(encoding="utf-8"))["modules"])


def read_exceptions(readme: Path) -> Exceptions:
    """The bullets of the README's `## Framework-specific files` section (none when it has no section)."""
    found = Exceptions()
    if not readme.is_file():
        return found
    inside = False
    for number, line in enumerate(readme.read_text(encoding="utf-8").splitlines(), start=1):
        if line.startswith("## ") or line.startswith("# "):
            inside = line.rstrip() == SECTION
            continue
        if not inside or not line.startswith("- "):
            continue
        match = BULLET.match(line)
        if match is None:
            found.malformed.append((number, line))
        elif match.group(1):
            found.absent[match.group(2)] = number
        else:
            found.extra[match.group(2)] = number
    return found


def package_files(port_dir: Path) -> set[str]:
    """Every `*.py` file under the port's tasks_api/, relative to the port directory."""
    package = port_dir / PACKAGE
    return {
        path.relative_to(port_dir).as_posix()
        for path in package.rglob("*.py")
        if "__pycache__" not in path.relative_to(package).parts
    }


def port_problems(port: PortDir, vocabulary: dict[str, str]) -> list[str]:
    """One line per file that breaks the vocabulary in this port (empty when it keeps to it)."""
    readme = port.directory / "README.md"
    where = f"{port.directory.name}/README.md"
    listed = read_exceptions(readme)
    shared = {f"{PACKAGE}/{module}" for module in vocabulary}
    found: list[str] = [
        f"{port.name}: {where}:{number}: not a `- `path`: why` or `- no `path`: where` bullet: {text!r}"
        for number, text in listed.malformed
    ]
    for path, number in sorted(listed.extra.items()):
        if path in shared:
            found.append(f"{port.name}: {where}:{number}: {path} is in the vocabulary; do not list it")
        elif not (port.directory / path).is_file():
            found.append(f"{port.name}: {where}:{number}: {path} is listed as framework-specific but missing")
    for path, number in sorted(listed.absent.items()):
        if path not in shared:
            found.append(f"{port.name}: {where}:{number}: `no {path}` names a file outside the vocabulary")
        elif (port.directory / path).is_file():
            found.append(f"{port.name}: {where}:{number}: {path} is listed as absent (`no`) but exists")
    expected = (shared | {path for path in listed.extra if path.startswith(f"{PACKAGE}/")}) - set(
        listed.absent
    )
    actual = package_files(port.directory)
    for path in sorted(actual - expected):
        if path in listed.absent:
            continue  # reported above
        found.append(
            f"{port.name}: {path} is not in the vocabulary (concordance/vocabulary.toml) "
            f"and not listed under {SECTION!r} in {where}"
        )
    for path in sorted(expected - actual):
        if path in listed.extra:
            continue  # reported above
        concern = vocabulary.get(path.removeprefix(f"{PACKAGE}/"), "")
        found.append(
            f"{port.name}: {path} is missing ({concern}); add it, or list "
            f"'- no `{path}`: where instead' under {SECTION!r} in {where}"
        )
    return found


def problems(ports: list[PortDir], vocabulary: dict[str, str] | None = None) -> list[str]:
    """The vocabulary problems of every port, prefixed `vocabulary:` (empty when all keep to it)."""
    shared = load_vocabulary() if vocabulary is None else vocabulary
    return [f"vocabulary: {line}" for port in ports for line in port_problems(port, shared)]
