"""Schemathesis hooks (SCHEMATHESIS_HOOKS=conformance.hooks): real auth and data, each call recorded."""

from __future__ import annotations

import json
import os
import threading
import uuid
from typing import Any

import httpx
import schemathesis

from conformance.api import PASSWORD
from conformance.coverage import CALLS_FILE
from conformance.seed import Seeds

SEEDS = Seeds()
_WRITE = threading.Lock()

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


@schemathesis.hook
def before_call(context: schemathesis.HookContext, case: schemathesis.Case, kwargs: dict[str, Any]) -> None:
    """Steer the case to data that exists, so that every operation reaches its success path."""
    meta = case.meta
    # The stateful phase follows the spec's links from real responses: its ids are real already.
    if meta is not None and meta.phase.name == "stateful":
        return
    SEEDS.steer(case, case.operation.schema.get_base_url())


@schemathesis.hook
def after_call(context: schemathesis.HookContext, case: schemathesis.Case, response: Any) -> None:
    """Record the operation and status of the call; forget seeded data a DELETE may have taken."""
    SEEDS.forget(case, response.status_code)
    path = os.environ.get(CALLS_FILE)
    if not path:
        return
    meta = case.meta
    line = {
        "operation": case.operation.label,
        "status": response.status_code,
        "phase": str(meta.phase.name) if meta is not None else "",
    }
    with _WRITE, open(path, "a") as sink:
        sink.write(json.dumps(line) + "\n")
