"""Strong ETags from the version column; If-None-Match (weak comparison) and If-Match (strong)."""

from django.http import HttpRequest, HttpResponse
from django.utils.http import parse_etags

from .errors import ApiError


# concordance: conditional-get
def etag(version: int) -> str:
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
    detail = "If-Match does not match the current ETag"
    return ApiError("precondition-failed", f'{detail} "{current}".' if current else f"{detail}.")


# end concordance
