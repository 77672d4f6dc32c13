"""Keyset pagination: the list query parameters, signed cursors (HMAC-SHA256), and the Link header."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
from dataclasses import dataclass
from typing import Any

from fastapi import Request

from tasks_api.errors import ApiError, validation_error

_LIMIT = re.compile(r"[0-9]+")  # decimal digits; leading zeros allowed ("05" is 5)


@dataclass(frozen=True)
class ListParams:
    """The validated query of a list operation, plus which of them the request named (for Link)."""

    limit: int
    cursor: str | None
    done: bool | None
    priority: str | None
    given: tuple[tuple[str, str], ...]  # (name, raw value) of limit, done, priority as sent


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64decode(text: str) -> bytes:
    # validate=True: characters outside the base64url alphabet are an error, not silently skipped.
    return base64.b64decode(text + "=" * (-len(text) % 4), altchars=b"-_", validate=True)


def _mac(secret_key: str, payload: str) -> str:
    return _b64encode(hmac.new(secret_key.encode(), payload.encode("ascii"), hashlib.sha256).digest())


# concordance: pagination
def encode_cursor(secret_key: str, position: dict[str, Any]) -> str:
    """`<payload>.<mac>`: base64url JSON of the list's identity and the last id, and its HMAC."""
    payload = _b64encode(json.dumps(position, separators=(",", ":")).encode())
    return f"{payload}.{_mac(secret_key, payload)}"


def decode_cursor(secret_key: str, cursor: str, expected: dict[str, Any]) -> int:
    """The `after` id of a cursor made for exactly this list, user and filters; else 400 invalid-cursor."""
    payload, dot, mac = cursor.partition(".")
    if not dot or not cursor.isascii() or not hmac.compare_digest(mac, _mac(secret_key, payload)):
        raise ApiError("invalid-cursor", "The cursor was not issued by this API.")
    try:
        position = json.loads(_b64decode(payload))
    except (binascii.Error, ValueError):
        raise ApiError("invalid-cursor", "The cursor does not decode.") from None
    if not isinstance(position, dict) or any(
        position.get(name, object()) != value or type(position.get(name)) is not type(value)
        for name, value in expected.items()
    ):
        raise ApiError("invalid-cursor", "The cursor belongs to another list, user or filter.")
    after = position.get("after")
    if type(after) is not int or after < 0:
        raise ApiError("invalid-cursor", "The cursor has no position.")
    return after


def next_link(path: str, params: ListParams, next_cursor: str) -> str:
    """`<path?limit=..&done=..&priority=..&cursor=..>; rel="next"` with the request's own values."""
    query = "&".join(f"{name}={value}" for name, value in params.given)
    query = f"{query}&cursor={next_cursor}" if query else f"cursor={next_cursor}"
    return f'<{path}?{query}>; rel="next"'


# end concordance


def _parse(name: str, raw: str, errors: list[dict[str, str]]) -> Any:
    if name == "limit":
        digits = raw.lstrip("0")
        if _LIMIT.fullmatch(raw) and len(digits) <= 3 and 1 <= int(digits or "0") <= 100:
            return int(digits)
        errors.append({"parameter": "limit", "detail": "must be an integer from 1 to 100"})
    elif name == "cursor":
        if 1 <= len(raw) <= 512:
            return raw
        errors.append({"parameter": "cursor", "detail": "must be 1 to 512 characters"})
    elif name == "done":
        if raw in ("true", "false"):
            return raw == "true"
        errors.append({"parameter": "done", "detail": "must be true or false"})
    elif raw in ("low", "normal", "high"):
        return raw
    else:
        errors.append({"parameter": "priority", "detail": "must be low, normal or high"})
    return None


def list_params(request: Request, names: tuple[str, ...]) -> ListParams:
    """Validate the named query parameters (all problems at once); unknown parameters are ignored.

    Done by hand rather than with FastAPI's Query(): the spec's integers are decimal digits only
    ("+5", "5.0" and " 5" are 422) and a parameter given twice is 422, where FastAPI would take
    the last value silently."""
    errors: list[dict[str, str]] = []
    values: dict[str, Any] = {}
    given: list[tuple[str, str]] = []
    for name in names:
        raws = request.query_params.getlist(name)
        if len(raws) > 1:
            errors.append({"parameter": name, "detail": "must be given at most once"})
        elif raws:
            values[name] = _parse(name, raws[0], errors)
            if name != "cursor":
                # The Link writes a limit back as the number it is (limit=05 -> limit=5).
                given.append((name, str(values[name]) if name == "limit" else raws[0]))
    if errors:
        raise validation_error(errors)
    return ListParams(
        limit=values.get("limit") or 20,
        cursor=values.get("cursor"),
        done=values.get("done"),
        priority=values.get("priority"),
        given=tuple(given),
    )
