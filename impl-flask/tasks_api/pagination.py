"""Signed keyset cursors (HMAC-SHA256, the shared format) and the Link header."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from flask import Response, current_app, make_response, request

from .errors import ApiError
from .schemas import ListParams

B64URL_RE = re.compile(r"[A-Za-z0-9_-]+")
SCOPE = ("list", "user", "project", "done", "priority")


def _b64encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(secret: str, payload: str) -> str:
    return _b64encode(hmac.new(secret.encode("utf-8"), payload.encode("ascii"), hashlib.sha256).digest())


# concordance: pagination
def encode_cursor(secret: str, scope: dict[str, Any], after: int) -> str:
    """<payload>.<mac>: base64url JSON of the list's scope and the last id, and its HMAC."""
    document = {**scope, "after": after}
    payload = _b64encode(json.dumps(document, separators=(",", ":")).encode("utf-8"))
    return f"{payload}.{_mac(secret, payload)}"


def _invalid(detail: str) -> ApiError:
    return ApiError("invalid-cursor", detail)


def invalid_cursor() -> ApiError:
    """400 invalid-cursor for a cursor of another list, user or filter."""
    return _invalid("The cursor belongs to another list, user or filter.")


def _same(a: Any, b: Any) -> bool:
    # Strict JSON equality: true is not 1, and 1 is not 1.0.
    return type(a) is type(b) and a == b


@dataclass(frozen=True)
class Cursor:
    """A verified cursor: the id to continue after, and the user it was issued to."""

    after: int
    user: Any

    def issued_for(self, user_id: int) -> bool:
        """Whether the cursor was issued to this user."""
        return _same(self.user, user_id)


def read_cursor(secret: str, cursor: str, scope: dict[str, Any]) -> Cursor:
    """The cursor when it is ours and of this list (every member of `scope`); 400 invalid-cursor when forged,
    garbled or from another list. The user is left to the caller (Cursor.issued_for) when `scope` has none."""
    payload, dot, mac = cursor.partition(".")
    if not dot or not B64URL_RE.fullmatch(payload) or not B64URL_RE.fullmatch(mac):
        raise _invalid("The cursor is not a cursor of this API.")
    # The MAC covers the payload's bytes as sent, so member order and spacing are the writer's choice.
    if not hmac.compare_digest(mac, _mac(secret, payload)):
        raise _invalid("The cursor's signature does not verify.")
    try:
        document = json.loads(_b64decode(payload).decode("utf-8"))
    except ValueError:
        raise _invalid("The cursor does not decode.") from None
    if not isinstance(document, dict) or any(not _same(document.get(k, ...), v) for k, v in scope.items()):
        raise invalid_cursor()
    after = document.get("after")
    if type(after) is not int or after < 0:
        raise _invalid("The cursor does not name a position.")
    return Cursor(after, document.get("user", ...))


def decode_cursor(secret: str, cursor: str, scope: dict[str, Any]) -> int:
    """The id to continue after, or 400 invalid-cursor when forged, garbled or from another list."""
    return read_cursor(secret, cursor, scope).after


# end concordance


def next_link(path: str, params: list[tuple[str, str]], cursor: str) -> str:
    """Link: <path?limit&done&priority&cursor>; rel="next" (the request's own values, cursor last)."""
    query = "&".join(f"{name}={quote(value, safe='')}" for name, value in [*params, ("cursor", cursor)])
    return f'<{path}?{query}>; rel="next"'


def position(params: ListParams, scope: dict[str, Any]) -> int:
    """The id a page starts after: the cursor's (checked against the list's scope), else 0."""
    return decode_cursor(current_app.config["SECRET_KEY"], params.cursor, scope) if params.cursor else 0


def page(
    rows: Sequence[Any], params: ListParams, scope: dict[str, Any], render: Callable[[Any], dict[str, Any]]
) -> Response:
    """One page of a keyset list: rows holds up to limit + 1 items, the extra one says there is more."""
    items = rows[: params.page_size]
    next_cursor = None
    if len(rows) > params.page_size:
        next_cursor = encode_cursor(current_app.config["SECRET_KEY"], scope, items[-1].id)
    response = make_response({"items": [render(item) for item in items], "next_cursor": next_cursor})
    if next_cursor is not None:
        response.headers["Link"] = next_link(request.path, params.link_params(), next_cursor)
    return response
