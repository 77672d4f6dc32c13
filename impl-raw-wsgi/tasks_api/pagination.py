"""Keyset pagination: signed cursors (HMAC-SHA256, byte-compatible across ports) and the Link header."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from collections.abc import Sequence
from typing import Any, TypeVar

from tasks_api.errors import ApiError
from tasks_api.schemas import ListParams

T = TypeVar("T")


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _mac(secret: str, payload: str) -> str:
    return _b64encode(hmac.new(secret.encode("utf-8"), payload.encode("ascii"), hashlib.sha256).digest())


# concordance: pagination
def encode_cursor(secret: str, scope: dict[str, Any], after: int) -> str:
    """`<payload>.<mac>`: the list it belongs to (scope) and the last id of the page (after)."""
    payload = _b64encode(json.dumps({**scope, "after": after}, separators=(",", ":")).encode("utf-8"))
    return f"{payload}.{_mac(secret, payload)}"


def decode_cursor(secret: str, cursor: str, scope: dict[str, Any]) -> int:
    """The `after` id of a cursor made for exactly this list, user and filters; else 400 invalid-cursor."""
    invalid = ApiError("invalid-cursor", "The cursor is not one this list gave out.")
    payload, _, mac = cursor.partition(".")
    # The MAC covers the payload as sent; compare_digest takes the same time however much matches.
    if not payload.isascii() or not hmac.compare_digest(mac.encode(), _mac(secret, payload).encode()):
        raise invalid
    try:
        state = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (binascii.Error, ValueError):
        raise invalid from None
    if not isinstance(state, dict) or any(
        name not in state or not _same(state[name], value) for name, value in scope.items()
    ):
        raise invalid  # another list, user or filter: start again without a cursor
    after = state.get("after")
    if not isinstance(after, int) or isinstance(after, bool):
        raise invalid
    return after


# end concordance


def _same(a: object, b: object) -> bool:
    # Type-strict: in Python True == 1, but "done": true must not match "project": 1.
    return type(a) is type(b) and a == b


def page(rows: Sequence[T], size: int) -> tuple[Sequence[T], bool]:
    """The page and whether more rows follow: the query asked for size + 1 rows to know."""
    return rows[:size], len(rows) > size


def next_link(path: str, query: ListParams, cursor: str) -> str:
    """`<path?limit&done&priority&cursor>; rel="next"`: the request's own parameters, cursor last."""
    params = []
    if query.limit is not None:
        params.append(f"limit={query.limit}")
    if query.done is not None:
        params.append(f"done={'true' if query.done else 'false'}")
    if query.priority is not None:
        params.append(f"priority={query.priority}")
    params.append(f"cursor={cursor}")  # base64url and ".": nothing to percent-encode
    return f'<{path}?{"&".join(params)}>; rel="next"'
