"""Entity tags from the version column, and the If-None-Match (weak) and If-Match (strong) headers."""

from __future__ import annotations

import re
from typing import Literal

from sqlalchemy import ColumnElement, true

ANY: Literal["*"] = "*"
Expected = (
    frozenset[int] | Literal["*"] | None
)  # If-Match: versions that may be overwritten; None = no header
_TAG = re.compile(r'(W/)?"([^"]*)"')
_VERSION = re.compile(r"[1-9][0-9]{0,17}")  # our tags only: "<version>", which fits in a BIGINT


# concordance: conditional-get
def etag(version: int) -> str:
    """A strong validator: the version is known without rendering the body and is the same on every port."""
    return f'"{version}"'


def none_match(header: str | None, version: int) -> bool:
    """If-None-Match with the weak comparison: W/"3" matches "3". True means 304."""
    if header is None:
        return False
    if header.strip() == "*":
        return True
    return any(opaque == str(version) for _weak, opaque in _TAG.findall(header))


# end concordance


# concordance: optimistic-concurrency
def expected_versions(header: str | None) -> Expected:
    """If-Match with the strong comparison: a weak tag never matches, nor a tag that is not ours."""
    if header is None:
        return None
    if header.strip() == "*":
        return ANY
    return frozenset(
        int(opaque) for weak, opaque in _TAG.findall(header) if not weak and _VERSION.fullmatch(opaque)
    )


# end concordance


def matches(expected: Expected, version: int) -> bool:
    """Whether a resource at `version` meets If-Match (used only to explain a failed write)."""
    return expected is None or expected == ANY or version in expected


def version_clause(version: ColumnElement[int], expected: Expected) -> ColumnElement[bool]:
    """The If-Match part of a conditional UPDATE or DELETE: `version IN (...)`, or nothing to check."""
    if expected is None or expected == ANY:
        return true()
    return version.in_(sorted(expected))  # an empty set (only weak tags, say) matches no row
