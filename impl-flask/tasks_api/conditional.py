"""ETags from the version column, If-None-Match (weak comparison) and If-Match (strong comparison)."""

from __future__ import annotations

import re

# One entity-tag of a list (RFC 9110 section 8.8.3): optional W/, then a quoted opaque tag.
ENTITY_TAG_RE = re.compile(r'\s*(W/)?"([\x21\x23-\x7e\x80-\xff]*)"\s*')
VERSION_RE = re.compile(r"[1-9][0-9]{0,17}")  # tags compare as strings: "03" is not "3"


# concordance: conditional-get
def etag(version: int) -> str:
    """The strong validator of a project or task: "<version>"."""
    return f'"{version}"'


def _parse(header: str) -> list[tuple[bool, str]] | None:
    """[(weak, opaque)] of an entity-tag list, or None for "*"; malformed items are dropped."""
    if header.strip() == "*":
        return None
    tags = []
    for item in header.split(","):
        match = ENTITY_TAG_RE.fullmatch(item)
        if match:
            tags.append((match.group(1) is not None, match.group(2)))
    return tags


def none_match(header: str | None, version: int) -> bool:
    """Whether If-None-Match matches the current version (weak comparison: W/"3" matches "3")."""
    if header is None:
        return False
    tags = _parse(header)
    return tags is None or any(opaque == str(version) for _weak, opaque in tags)


# end concordance


# concordance: optimistic-concurrency
def expected_versions(header: str | None) -> set[int] | None:
    """The versions If-Match accepts (strong comparison: weak tags never match); None means any."""
    if header is None:
        return None
    tags = _parse(header)
    if tags is None:
        return None  # "*": any existing resource
    return {int(opaque) for weak, opaque in tags if not weak and VERSION_RE.fullmatch(opaque)}


# end concordance
