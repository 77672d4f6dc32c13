"""Tag operations: liveness, readiness, the canonical spec/openapi.yaml."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, make_response

from ..db import ready
from ..errors import RETRY_SOON, ApiError

bp = Blueprint("operations", __name__)


# concordance: health
@bp.get("/healthz")
def get_health() -> Response:
    """Liveness (the process answers; the database is not touched)"""
    return make_response({"status": "ok"})


@bp.get("/readyz")
def get_readiness() -> Response:
    """Readiness (the database answers)"""
    # At most one second on the database (db.Readiness), so a probe never hangs with it.
    if not ready():
        raise ApiError(
            "service-unavailable", "The database did not answer within one second.", headers=RETRY_SOON
        )
    return make_response({"status": "ok", "checks": {"database": "ok"}})


# end concordance


@bp.get("/openapi.yaml")
def get_openapi() -> Response:
    """This document, byte for byte"""
    spec = (current_app.config["SPEC_DIR"] / "openapi.yaml").read_bytes()
    return Response(spec, mimetype="application/yaml")
