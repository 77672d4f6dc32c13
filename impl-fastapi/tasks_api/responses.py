"""JSON responses rendered once to bytes: the bytes sent are the bytes an idempotency record keeps."""

from __future__ import annotations

from collections.abc import Mapping

from fastapi import Response
from pydantic import BaseModel

JSON = "application/json"  # exactly this value: JSON is UTF-8 by definition, no charset parameter


def render(model: BaseModel) -> bytes:
    """Compact UTF-8 JSON of a response model."""
    return model.model_dump_json().encode()


def json_response(body: bytes, status_code: int = 200, headers: Mapping[str, str] | None = None) -> Response:
    """An application/json response of already-rendered bytes."""
    return Response(body, status_code=status_code, media_type=JSON, headers=dict(headers or {}))


def no_content() -> Response:
    """204, no body (deletes)."""
    return Response(status_code=204)
