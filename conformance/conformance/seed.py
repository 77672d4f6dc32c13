"""Steer generated contract cases to data that exists: the caller's own resources, a real login, a file."""

from __future__ import annotations

import re
import threading
import uuid
from collections import Counter
from typing import Any

import httpx

from conformance.api import MAX_ID, PASSWORD
from conformance.paths import WEB_DIR

# Of the schema-valid values generated for one operation, three in four are steered to real data and
# the fourth is sent as generated, so that the contract layer still sees the unknown-id 404s.
STEER_EVERY = 4
STATIC_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")  # the spec's pattern for /static/{name}
DIGITS = re.compile(r"^[1-9][0-9]*$")  # an id as the coverage phase writes it into a path
NEW_PROJECT_ONLY = -1


def _valid_id(value: Any) -> bool:
    """A schema-valid Id (spec: integer 1..2^53-1), typed or as written into a path."""
    if isinstance(value, bool):
        return False
    if isinstance(value, str) and DIGITS.match(value):
        value = int(value)
    return isinstance(value, int) and 1 <= value <= MAX_ID


def _bearer(case: Any) -> str | None:
    header = (case.headers or {}).get("Authorization", "")
    return header.removeprefix("Bearer ") if header.startswith("Bearer ") else None


class Seeds:
    """Resources made through the API for each bearer token the run uses, and one user to log in as."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: Counter[str] = Counter()
        # token -> {"project_id": id, "task_id": id}: one project and one of its tasks per user.
        self._owned: dict[str, dict[str, int]] = {}
        self._login: dict[str, str] | None = None
        self._http: httpx.Client | None = None
        self._static = sorted(path.name for path in (WEB_DIR / "static").iterdir() if path.is_file())

    def steer(self, case: Any, base_url: str) -> None:
        """Point a schema-valid case at real data; a schema-invalid part is left as generated."""
        label = case.operation.label
        parameters = case.path_parameters or {}
        with self._lock:
            if label.endswith("/static/{name}"):
                self._steer_file(case, parameters, label)
            elif label == "POST /tokens":
                self._steer_login(case, base_url, label)
            else:
                self._steer_ids(case, parameters, base_url, label)

    def forget(self, case: Any, status: int) -> None:
        """A successful DELETE that named a seeded resource (not steered there) took it away: make anew."""
        token = _bearer(case) or ""
        if case.method.upper() != "DELETE" or not 200 <= status < 300:
            return
        with self._lock:
            owned = self._owned.get(token)
            named = {str(value) for value in (case.path_parameters or {}).values()}
            if owned and named & {str(value) for value in owned.values()}:
                del self._owned[token]

    def _turn(self, label: str) -> bool:
        """True for three of every four eligible cases of an operation (see STEER_EVERY)."""
        self._counts[label] += 1
        return self._counts[label] % STEER_EVERY != 0

    def _client(self, base_url: str) -> httpx.Client:
        """One keep-alive client for the run's seeding requests."""
        if self._http is None or str(self._http.base_url).rstrip("/") != base_url.rstrip("/"):
            self._http = httpx.Client(base_url=base_url, timeout=30.0)
        return self._http

    def _steer_file(self, case: Any, parameters: dict[str, Any], label: str) -> None:
        name = parameters.get("name")
        if isinstance(name, str) and STATIC_NAME.match(name) and self._static and self._turn(label):
            chosen = self._static[self._counts[label] % len(self._static)]  # each file in turn
            case.path_parameters = {**parameters, "name": chosen}

    def _steer_login(self, case: Any, base_url: str, label: str) -> None:
        body = case.body
        fields = isinstance(body, dict) and all(
            isinstance(body.get(key), str) for key in ("email", "password")
        )
        if not fields or not self._turn(label):
            return
        if self._login is None:
            email = f"contract-login-{uuid.uuid4().hex}@example.com"
            user = {"email": email, "password": PASSWORD, "name": "Login"}
            if self._client(base_url).post("/users", json=user).status_code != 201:
                return
            self._login = {"email": email, "password": PASSWORD}
        case.body = {**body, **self._login}

    def _steer_ids(self, case: Any, parameters: dict[str, Any], base_url: str, label: str) -> None:
        ids = [key for key in ("project_id", "task_id") if key in parameters]
        token = _bearer(case)
        if not ids or token is None or not all(_valid_id(parameters[key]) for key in ids):
            return
        if not self._turn(label):
            return
        http, auth = self._client(base_url), {"Authorization": f"Bearer {token}"}
        real = self._owned.get(token) or self._fresh(http, auth, None)
        if real is None:
            return
        self._owned[token] = real
        if case.method.upper() == "DELETE":
            # A delete consumes what it names: a fresh project, or a fresh task in the user's project.
            real = self._fresh(http, auth, real["project_id"] if ids[0] == "task_id" else NEW_PROJECT_ONLY)
        if real is not None:
            case.path_parameters = {**parameters, **{key: real[key] for key in ids}}

    def _fresh(
        self, http: httpx.Client, auth: dict[str, str], project_id: int | None
    ) -> dict[str, int] | None:
        """A task in `project_id`, or a new project and a task in it (NEW_PROJECT_ONLY: no task)."""
        made: dict[str, int] = {}
        if project_id is None or project_id == NEW_PROJECT_ONLY:
            project = http.post("/projects", json={"name": "Contract seed"}, headers=auth)
            if project.status_code != 201:
                return None
            made["project_id"] = project.json()["id"]
            if project_id == NEW_PROJECT_ONLY:
                return made
        else:
            made["project_id"] = project_id
        task = http.post(
            f"/projects/{made['project_id']}/tasks", json={"title": "Contract seed"}, headers=auth
        )
        if task.status_code != 201:
            return None
        made["task_id"] = task.json()["id"]
        return made
