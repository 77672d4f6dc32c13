"""The fixed problem types of spec/README.md, an exception that carries one, and its problem+json body."""

from __future__ import annotations

import json
import math

PROBLEM_BASE = "https://tasks-api.example/problems/"
PROBLEM_CONTENT_TYPE = "application/problem+json"

# slug -> (status, title): identical in every port, so clients can switch on `type`.
PROBLEMS: dict[str, tuple[int, str]] = {
    "malformed-json": (400, "Malformed JSON"),
    "bad-request": (400, "Bad request"),
    "invalid-cursor": (400, "Invalid cursor"),
    "authentication-required": (401, "Authentication required"),
    "invalid-token": (401, "Invalid token"),
    "invalid-credentials": (401, "Invalid credentials"),
    "not-found": (404, "Not found"),
    "method-not-allowed": (405, "Method not allowed"),
    "email-taken": (409, "Email already registered"),
    "idempotency-in-flight": (409, "Request in flight"),
    "precondition-failed": (412, "Precondition failed"),
    "payload-too-large": (413, "Payload too large"),
    "unsupported-media-type": (415, "Unsupported media type"),
    "validation-error": (422, "Validation failed"),
    "idempotency-key-reused": (422, "Idempotency key reused"),
    "login-throttled": (429, "Too many login attempts"),
    "internal-error": (500, "Internal server error"),
    "not-implemented": (501, "Not implemented"),
    "service-unavailable": (503, "Service unavailable"),
}

# A 422 lists at most this many problems: it must never be much larger than its request.
MAX_ERRORS = 20

# One item of a 422's `errors`: a `detail` and exactly one of `pointer`, `parameter` or `header`.
ErrorItem = dict[str, str]


# concordance: problem-details
class ApiError(Exception):
    """An error response: raised wherever a rule is broken, rendered once by the application."""

    def __init__(
        self,
        slug: str,
        detail: str,
        *,
        errors: list[ErrorItem] | None = None,
        headers: list[tuple[str, str]] | None = None,
    ) -> None:
        super().__init__(detail)
        self.slug = slug
        self.status, self.title = PROBLEMS[slug]  # a KeyError here is a typo in the code, caught by tests
        self.detail = detail
        self.errors = errors
        self.headers = headers or []

    def body(self) -> bytes:
        """The RFC 9457 document: type, title, status, detail (and errors for a validation problem)."""
        document: dict[str, object] = {
            "type": PROBLEM_BASE + self.slug,
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
        }
        if self.errors is not None:
            document["errors"] = self.errors
        return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


# end concordance


# concordance: validation
def require_valid(errors: list[ErrorItem]) -> None:
    """Answer 422 with every problem found at once, so a client can fix its request in one go."""
    if errors:
        raise validation_error(errors)


def validation_error(errors: list[ErrorItem]) -> ApiError:
    errors = errors[:MAX_ERRORS]  # the first 20 found (header problems first, then the body's)
    count = f"{len(errors)} invalid field" + ("s" if len(errors) > 1 else "")
    more = " (the first 20 are listed)" if len(errors) == MAX_ERRORS else ""
    return ApiError("validation-error", f"The request has {count}{more}.", errors=errors)


# end concordance


def retry_after(seconds: float) -> list[tuple[str, str]]:
    """`Retry-After` in whole seconds, at least 1 (rounded up: a client must not come back too early)."""
    return [("Retry-After", str(max(1, math.ceil(seconds))))]


def unavailable(detail: str) -> ApiError:
    """503: the database (or the hashing cap) cannot serve this request now; nothing changed."""
    return ApiError("service-unavailable", detail, headers=retry_after(1))


def not_found(what: str, ident: int) -> ApiError:
    """The same 404 for a missing resource and another user's: existence must not leak."""
    return ApiError("not-found", f"No {what} with id {ident}.")
