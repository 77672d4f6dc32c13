"""Strong ETags from the version column; If-None-Match (weak comparison) and If-Match (strong)."""

from typing import Any

from django.db.models import F, QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils.http import parse_etags

from .clock import now
from .errors import ApiError, not_found


# concordance: conditional-get
def etag(version: int) -> str:
    """The strong entity tag of a version: the number in quotes."""
    return f'"{version}"'


def not_modified(request: HttpRequest, version: int) -> HttpResponse | None:
    """The 304 for a GET/HEAD whose If-None-Match matches the version (weak comparison), else None."""
    header = request.META.get("HTTP_IF_NONE_MATCH")
    if header is None:
        return None
    tags = parse_etags(header)  # Django's RFC 9110 list parser; "*" comes back as ["*"]
    current = etag(version)
    if "*" in tags or any(tag.removeprefix("W/") == current for tag in tags):
        response = HttpResponse(status=304)
        response["ETag"] = current
        return response
    return None
    # end concordance


# concordance: optimistic-concurrency
class IfMatch:
    """A request's If-Match: absent, "*", or a list of entity tags compared strongly."""

    def __init__(self, request: HttpRequest) -> None:
        header = request.META.get("HTTP_IF_MATCH")
        self.present = header is not None
        self.tags = parse_etags(header) if header is not None else []

    def expected_version(self, current: int) -> int | None:
        """The version the conditional UPDATE/DELETE must find (None: any), or 412 when no tag matches."""
        if not self.present or "*" in self.tags:
            return None
        # Strong comparison: a weak tag W/"3" never matches.
        if etag(current) in self.tags:
            return current
        raise precondition_failed(current)


def precondition_failed(current: int | None = None) -> ApiError:
    """412: the If-Match did not match (naming the current ETag when it is known)."""
    detail = "If-Match does not match the current ETag"
    return ApiError("precondition-failed", f'{detail} "{current}".' if current else f"{detail}.")


def conditional_write(rows: QuerySet[Any], expected: int | None, changes: dict[str, Any]) -> int:
    """One UPDATE ... SET ..., version = version + 1 WHERE id = :id [AND version = :expected]."""
    if expected is not None:
        rows = rows.filter(version=expected)
    return rows.update(**changes, version=F("version") + 1, updated_at=now())


def lost_race(still_there: bool, what: str) -> ApiError:
    """Zero rows changed: the row vanished (404) or another writer changed its version first (412)."""
    return precondition_failed() if still_there else not_found(what)


# end concordance
