"""Keyset pagination: HMAC-signed cursors in the shared format, and the Link header of the next page."""

import base64
import binascii
import hashlib
import hmac
import json
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.db.models import Model, QuerySet
from django.http import HttpRequest, HttpResponse

from .errors import ApiError
from .routing import MAX_ID
from .schemas import ListParams, json_response


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


# concordance: pagination
def _mac(payload: str) -> str:
    """The payload's HMAC-SHA256 under SECRET_KEY, base64url without padding."""
    key = settings.SECRET_KEY.encode("utf-8")
    return _b64encode(hmac.new(key, payload.encode("ascii"), hashlib.sha256).digest())


def scope(list_name: str, user_id: int, project_id: int | None, params: ListParams) -> dict[str, Any]:
    """What a cursor is bound to: the list, the caller, the project and the filters."""
    return {
        "list": list_name,
        "user": user_id,
        "project": project_id,
        "done": params.done,
        "priority": params.priority,
    }


def encode_cursor(bound: dict[str, Any], after: int) -> str:
    """A signed cursor: what it is bound to, and the id the next page starts after."""
    payload = _b64encode(json.dumps({**bound, "after": after}, separators=(",", ":")).encode("utf-8"))
    return f"{payload}.{_mac(payload)}"


def decode_cursor(cursor: str, bound: dict[str, Any]) -> int:
    """The id after which the page starts, or 400 invalid-cursor."""
    payload, dot, mac = cursor.partition(".")
    invalid = ApiError("invalid-cursor", "The cursor was altered or belongs to another list.")
    try:
        payload.encode("ascii")
    except UnicodeEncodeError:
        raise invalid from None
    if not dot or not hmac.compare_digest(mac.encode("ascii", "replace"), _mac(payload).encode("ascii")):
        raise invalid
    try:
        data = json.loads(_b64decode(payload).decode("utf-8"))
    except (binascii.Error, ValueError):
        raise invalid from None
    if not isinstance(data, dict) or any(
        # type() too: json reads true as a bool that would equal 1.
        data.get(name, ...) != value or type(data.get(name)) is not type(value)
        for name, value in bound.items()
    ):
        raise invalid
    after = data.get("after")
    if type(after) is not int or not 0 <= after <= MAX_ID:
        raise invalid
    return after


# end concordance


def next_link(path: str, raw_query: dict[str, str], next_cursor: str) -> str:
    """Link: <path?limit&done&priority&cursor>; rel="next", with the request's own parameter values."""
    query = [(name, raw_query[name]) for name in ("limit", "done", "priority") if name in raw_query]
    query.append(("cursor", next_cursor))
    return f'<{path}?{urlencode(query)}>; rel="next"'


def page(
    request: HttpRequest,
    rows: QuerySet[Any],
    limit: int,
    bound: dict[str, Any],
    render: Callable[[Any], dict[str, Any]],
    link_params: tuple[str, ...],
) -> HttpResponse:
    """One keyset page: limit + 1 rows tell whether there is a next one."""
    items: list[Model] = list(rows.order_by("id")[: limit + 1])
    shown, more = items[:limit], len(items) > limit
    next_cursor = encode_cursor(bound, shown[-1].pk) if more else None
    headers = {}
    if next_cursor:
        raw = {name: request.GET[name] for name in link_params if name in request.GET}
        if "limit" in raw:
            raw["limit"] = str(limit)  # the decimal integer it is: limit=05 is written back as limit=5
        headers["Link"] = next_link(request.path, raw, next_cursor)
    return json_response(
        {"items": [render(item) for item in shown], "next_cursor": next_cursor}, headers=headers
    )
