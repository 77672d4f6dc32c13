"""Schemathesis hooks (SCHEMATHESIS_HOOKS=conformance.hooks): bearer auth from a freshly registered user."""

from __future__ import annotations

import threading
import uuid

import httpx
import schemathesis

from conformance.api import PASSWORD

# Sending one of these with the cached token destroys it (the token, or the whole user),
# so the next case must get a fresh user instead of a stream of 401s.
DESTROYS_CREDENTIALS = frozenset({("DELETE", "/users/me"), ("DELETE", "/tokens/current")})


def register_and_login(base_url: str) -> str:
    """Register a new user and return a bearer token for them."""
    email = f"contract-{uuid.uuid4().hex}@example.com"
    with httpx.Client(base_url=base_url, timeout=30.0) as http:
        created = http.post("/users", json={"email": email, "password": PASSWORD, "name": "Contract"})
        created.raise_for_status()
        token = http.post("/tokens", json={"email": email, "password": PASSWORD})
        token.raise_for_status()
        return token.json()["access_token"]


# refresh_interval=None: schemathesis must not cache, because this provider drops its token itself.
@schemathesis.auth(refresh_interval=None)
class FreshUserAuth:
    """One user per stretch of the run; a new one after each operation that destroys credentials."""

    def __init__(self) -> None:
        self._token: str | None = None
        self._lock = threading.Lock()

    def get(self, case: schemathesis.Case, ctx: schemathesis.AuthContext) -> str:
        """The cached token, registering a user first when there is none."""
        with self._lock:
            if self._token is None:
                self._token = register_and_login(ctx.operation.schema.get_base_url())
            return self._token

    def set(self, case: schemathesis.Case, data: str, ctx: schemathesis.AuthContext) -> None:
        """Put the token on the case, and forget it if this case is about to destroy it."""
        case.headers = case.headers or {}
        case.headers["Authorization"] = f"Bearer {data}"
        if (case.operation.method.upper(), case.operation.path) in DESTROYS_CREDENTIALS:
            with self._lock:
                if self._token == data:
                    self._token = None
