"""ETags from the version column, If-None-Match (weak comparison) and If-Match (strong comparison)."""

from __future__ import annotations

import re
from typing import Any

from flask import Response, make_response, request
from sqlalchemy import ColumnElement, Delete, Row, Select, Update
from sqlalchemy.orm import Session

from .errors import ApiError, not_found
from .routing import no_content

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


def conditional_read(payload: dict[str, Any], version: int) -> Response:
    """GET/HEAD of one resource: 304 when If-None-Match matches, else the resource."""
    if none_match(request.headers.get("If-None-Match"), version):
        response = no_content(304)
        response.headers["ETag"] = etag(version)
        return response
    return with_etag(payload, version)


# end concordance


def with_etag(payload: dict[str, Any], version: int, status: int = 200, **headers: str) -> Response:
    """A JSON response carrying the resource's ETag (and any other headers given)."""
    return make_response(payload, status, {"ETag": etag(version), **headers})


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


# concordance: optimistic-concurrency
def write_if_match(
    session: Session,
    statement: Update | Delete,
    *,
    version: ColumnElement[int],
    current: Select[tuple[int]],
    kind: str,
    ident: int,
    otherwise: ApiError | None = None,
) -> Row[Any]:
    """Run a PATCH/PUT/DELETE under the request's If-Match; the changed row (its RETURNING), or the refusal.

    One statement decides: the If-Match versions join its WHERE, so of two writers holding the same ETag
    exactly one changes the row. Only when it changes none is `current` (the resource's version, None when
    missing or someone else's) read, to say why: 404 before 412; else `otherwise` (a PUT's foreign
    project_id, 422).
    """
    expected = expected_versions(request.headers.get("If-Match"))
    if expected is not None:
        statement = statement.where(version.in_(expected))
    # An If-Match with no usable strong tag matches no version: nothing to run.
    row = session.execute(statement).first() if expected != set() else None
    if row is not None:
        return row
    found = session.scalar(current)
    if found is None:
        raise not_found(kind, ident)
    if otherwise is None or (expected is not None and found not in expected):
        raise ApiError("precondition-failed", f'If-Match does not match the current ETag "{found}".')
    raise otherwise


# end concordance
