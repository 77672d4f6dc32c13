"""Read pytest and schemathesis JUnit XML into per-module pass/fail counts."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Tally:
    """Outcome counts of one group of test cases, with the names of those that failed."""

    passed: int = 0
    failed: int = 0
    skipped: int = 0
    failures: list[str] = field(default_factory=list)
    # True when the row could not run at all (server not ready, tool crashed): no counts to show.
    broken: bool = False

    @property
    def total(self) -> int:
        """Every case that ran."""
        return self.passed + self.failed


MODULE = re.compile(r"(test_[A-Za-z0-9_]+)")


def _module_of(case: ET.Element) -> str:
    # pytest writes classname "tests.behaviour.test_errors" (or "...test_errors.TestX"); "file" is optional.
    for source in (case.get("classname", ""), case.get("file", "")):
        match = MODULE.search(source)
        if match:
            return match.group(1)
    return case.get("classname") or case.get("name") or "?"


def tally(path: Path, by_module: bool) -> dict[str, Tally]:
    """Counts per test module (by_module) or one overall "all" entry; empty when the file is missing."""
    if not path.exists():
        return {}
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError:
        return {}
    tallies: dict[str, Tally] = {}
    for case in root.iter("testcase"):
        key = _module_of(case) if by_module else "all"
        entry = tallies.setdefault(key, Tally())
        if case.find("failure") is not None or case.find("error") is not None:
            entry.failed += 1
            entry.failures.append(case.get("name", "?"))
        elif case.find("skipped") is not None:
            entry.skipped += 1
        else:
            entry.passed += 1
    return tallies
