"""Tag operations: liveness, readiness, and the canonical spec/openapi.yaml byte for byte."""

from __future__ import annotations

from tasks_api.errors import unavailable
from tasks_api.http import Request, Response

READINESS_SECONDS = 1.0  # /readyz gives up on the database after this long (spec/README.md, "Health")


# concordance: health
def get_health(request: Request) -> Response:
    """Liveness (the process answers; the database is not touched)"""
    return Response.json({"status": "ok"})


def get_readiness(request: Request) -> Response:
    """Readiness (the database answers)"""
    # SELECT 1 runs on a helper thread and is waited for one second at most: a database that hangs
    # makes this 503 within a second instead of holding the probe (the watchdog frees the helper later).
    if not request.db.ready(READINESS_SECONDS):
        raise unavailable("The database cannot be reached or did not answer within one second.")
    return Response.json({"status": "ok", "checks": {"database": "ok"}})


# end concordance


def get_openapi(request: Request) -> Response:
    """This document, byte for byte"""
    document = (request.settings.spec_dir / "openapi.yaml").read_bytes()
    return Response.raw(200, document, "application/yaml")
