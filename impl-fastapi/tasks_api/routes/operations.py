"""operations: liveness, readiness and the canonical spec/openapi.yaml."""

from __future__ import annotations

from fastapi import APIRouter, Response
from sqlalchemy.exc import SQLAlchemyError

from tasks_api.config import get_settings
from tasks_api.db import ping
from tasks_api.errors import Problem
from tasks_api.responses import json_response, render
from tasks_api.routing import BodyRoute
from tasks_api.schemas import Health, Readiness

router = APIRouter(route_class=BodyRoute, tags=["operations"])


# concordance: health
@router.api_route("/healthz", methods=["GET", "HEAD"])
async def get_health() -> Response:
    """Liveness (the process answers; the database is not touched)"""
    # async: nothing here blocks, so it answers even when every threadpool thread is busy.
    return json_response(render(Health()))


@router.api_route("/readyz", methods=["GET", "HEAD"])
def get_readiness() -> Response:
    """Readiness (the database answers)"""
    try:
        ping()
    except SQLAlchemyError:
        raise Problem("service-unavailable", "The database cannot be reached.") from None
    return json_response(render(Readiness()))


# end concordance


@router.api_route("/openapi.yaml", methods=["GET", "HEAD"])
def get_openapi() -> Response:
    """This document, byte for byte"""
    # The spec is the contract: served as written, never a schema generated from this code.
    return Response((get_settings().spec_dir / "openapi.yaml").read_bytes(), media_type="application/yaml")
