"""Tag operations: liveness, readiness, and the canonical spec/openapi.yaml."""

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from .. import db
from ..errors import problem_response
from ..schemas import json_response


# concordance: health
def get_health(request: HttpRequest) -> HttpResponse:
    """Liveness (the process answers; the database is not touched)"""
    return json_response({"status": "ok"})


def get_readiness(request: HttpRequest) -> HttpResponse:
    """Readiness (the database answers)"""
    # Bounded: db.ready() gives up after one second, whatever the database does.
    if not db.ready():
        return problem_response(
            "service-unavailable",
            "The database cannot be reached or did not answer within one second.",
            headers={"Retry-After": "1"},
        )
    return json_response({"status": "ok", "checks": {"database": "ok"}})


# end concordance


def get_openapi(request: HttpRequest) -> HttpResponse:
    """This document, byte for byte"""
    # Read per request: the canonical file, never a copy that could drift (it is small and page-cached).
    return HttpResponse((settings.SPEC_DIR / "openapi.yaml").read_bytes(), content_type="application/yaml")
