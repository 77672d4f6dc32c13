"""operations: liveness, readiness and the canonical spec/openapi.yaml."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from functools import cache

from fastapi import APIRouter, Response
from sqlalchemy.exc import SQLAlchemyError

from tasks_api import db
from tasks_api.config import get_settings
from tasks_api.errors import RETRY_SOON, ApiError
from tasks_api.schemas import Health, Readiness, json_response, render

router = APIRouter(tags=["operations"])


# concordance: health
@router.api_route("/healthz", methods=["GET", "HEAD"])
async def get_health() -> Response:
    """Liveness (the process answers; the database is not touched)"""
    # async: nothing here blocks, so it answers even when every threadpool thread is busy.
    return json_response(render(Health()))


@cache
def _pinger() -> ThreadPoolExecutor:
    # Threads of their own, not the request threadpool: a probe neither waits for a thread that stuck
    # requests hold, nor takes one from them. A ping stuck on a hung database is freed by the watchdog.
    return ThreadPoolExecutor(max_workers=2, thread_name_prefix="readyz")


@router.api_route("/readyz", methods=["GET", "HEAD"])
async def get_readiness() -> Response:
    """Readiness (the database answers)"""
    # A bounded wait: given up after one second, whatever the database does (a probe that hangs is no
    # answer). The ping itself runs on; its connection is bounded by DATABASE_TIMEOUT_SECONDS.
    ping = asyncio.get_running_loop().run_in_executor(_pinger(), db.ping)
    try:
        await asyncio.wait_for(ping, timeout=1.0)
    except (SQLAlchemyError, TimeoutError):
        raise ApiError("service-unavailable", "The database does not answer.", headers=RETRY_SOON) from None
    return json_response(render(Readiness()))


# end concordance


@router.api_route("/openapi.yaml", methods=["GET", "HEAD"])
def get_openapi() -> Response:
    """This document, byte for byte"""
    # The spec is the contract: served as written, never a schema generated from this code.
    return Response((get_settings().spec_dir / "openapi.yaml").read_bytes(), media_type="application/yaml")
