"""Links from the concordance to the spec's sections, the tests and the ports' files."""

from __future__ import annotations

import re
from pathlib import Path

from concordance.model import REPO_ROOT


def github_anchor(heading: str) -> str:
    """The anchor GitHub gives a Markdown heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def spec_anchor(section: str, readme: Path = REPO_ROOT / "spec" / "README.md") -> str:
    """The anchor of the spec/README.md heading that starts with `section`; raises if there is none."""
    for line in readme.read_text(encoding="utf-8").splitlines():
        match = re.match(r"^#{2,4} (.+)$", line)
        if match and match[1].startswith(section):
            return github_anchor(match[1])
    raise ValueError(f"spec/README.md has no heading starting with {section!r}")


def test_path(test: str) -> str:
    """The repository path of a conformance test module or layer."""
    if test.startswith("test_"):
        return f"conformance/tests/behaviour/{test}.py"
    return f"conformance/tests/{test}/"
