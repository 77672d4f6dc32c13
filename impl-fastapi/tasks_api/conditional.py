"""Strong ETags from the version column; If-None-Match (weak comparison) and If-Match (strong comparison)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from tasks_api.routing import MAX_ID

_ENTITY_TAG = re.compile(r'\s*(W/)?"([\x21\x23-\x7e\x80-\xff]*)"\s*')
_VERSION = re.compile(r"[1-9][0-9]{0,15}")


# concordance: conditional-get
def etag(version: int) -> str:
    """The strong validator of a project or task: its version in quotes."""
    return f'"{version}"'


def _entity_tags(header: str) -> list[tuple[bool, str]] | None:
    """(weak, opaque-tag) for each tag of a list; None when the value is not such a list."""
    tags = []
    for member in header.split(","):
        if not member.strip():
            continue  # RFC 9110 list syntax tolerates empty elements
        match = _ENTITY_TAG.fullmatch(member)
        if match is None:
            return None
        tags.append((match.group(1) is not None, match.group(2)))
    return tags


def none_match(header: str | None, version: int) -> bool:
    """If-None-Match with the weak comparison: True when the client's copy is current (answer 304)."""
    if header is None:
        return False
    if header.strip() == "*":
        return True
    tags = _entity_tags(header) or []
    return any(opaque == str(version) for _weak, opaque in tags)


# end concordance


# concordance: optimistic-concurrency
@dataclass(frozen=True)
class Precondition:
    """A parsed If-Match: `*` (any current version) or the versions a strong tag names."""

    any_version: bool
    versions: frozenset[int]

    def matches(self, version: int) -> bool:
        """The strong comparison against the current version."""
        return self.any_version or version in self.versions


def if_match(header: str | None) -> Precondition | None:
    """None without If-Match (unconditional write). A weak tag never matches (RFC 9110 strong
    comparison), nor does anything that is not a version we could have issued."""
    if header is None:
        return None
    if header.strip() == "*":
        return Precondition(any_version=True, versions=frozenset())
    versions = {
        int(opaque)
        for weak, opaque in _entity_tags(header) or []
        if not weak and _VERSION.fullmatch(opaque) and int(opaque) <= MAX_ID
    }
    return Precondition(any_version=False, versions=frozenset(versions))


# end concordance
