"""A user's session written against the generated client only, with every status and typed field checked."""

from __future__ import annotations

import contextlib
import datetime
import secrets
import time
from collections.abc import Iterator
from http import HTTPStatus
from typing import Any, TypeVar
from urllib.parse import parse_qs, urlsplit

import httpx
from tasks_api_client import AuthenticatedClient, Client
from tasks_api_client.api.projects import create_project, get_project, list_projects, update_project
from tasks_api_client.api.tokens import create_token, revoke_token
from tasks_api_client.api.users import create_user, get_current_user
from tasks_api_client.models import (
    CreateRejectedProblem,
    CreateRejectedProblemStatus,
    CreateRejectedProblemType,
    PreconditionFailedProblem,
    PreconditionFailedProblemStatus,
    PreconditionFailedProblemType,
    Project,
    ProjectCreate,
    ProjectPage,
    ProjectPatch,
    Token,
    TokenCreate,
    TokenTokenType,
    UnauthorizedProblem,
    UnauthorizedProblemStatus,
    UnauthorizedProblemType,
    User,
    UserCreate,
    ValidationErrorItem,
)
from tasks_api_client.types import UNSET, Response, Unset

PROBLEMS = "https://tasks-api.example/problems/"
PASSWORD = "correct horse battery"
PAGE = 2  # the page size the pagination step walks with
T = TypeVar("T")


class Timings:
    """Each step's wall time, in order."""

    def __init__(self) -> None:
        self.steps: list[tuple[str, float]] = []

    @contextlib.contextmanager
    def step(self, name: str) -> Iterator[None]:
        """Time one named step (recorded whether it passes or fails)."""
        started = time.monotonic()
        try:
            yield
        finally:
            self.steps.append((name, time.monotonic() - started))


def equal(actual: object, expected: object, what: str) -> None:
    """AssertionError naming `what` unless actual == expected (and of the same type)."""
    if actual != expected or type(actual) is not type(expected):
        raise AssertionError(f"{what}: expected {expected!r}, got {actual!r}")


def parsed(response: Response[Any], status: HTTPStatus, kind: type[T], what: str) -> T:
    """The response's typed body after checking its status and that the client parsed it as `kind`."""
    equal(response.status_code, status, f"{what}: status")
    if not isinstance(response.parsed, kind):
        raise AssertionError(f"{what}: expected a {kind.__name__}, got {response.parsed!r}")
    return response.parsed


def no_body(response: Response[Any], status: HTTPStatus, what: str) -> None:
    """Check a body-less answer (204, 304): the status, no parsed value, no content."""
    equal(response.status_code, status, f"{what}: status")
    equal(response.parsed, None, f"{what}: parsed")
    equal(response.content, b"", f"{what}: content")


def next_link_cursor(link: str) -> str:
    """The cursor in a `Link: <URL>; rel="next"` header (the URL is the request path and query)."""
    target, _, relation = link.partition(">; ")
    equal(relation, 'rel="next"', "Link relation")
    (cursor,) = parse_qs(urlsplit(target.removeprefix("<")).query, strict_parsing=True)["cursor"]
    return cursor


def register_and_login(anonymous: Client, timings: Timings) -> tuple[User, Token]:
    """POST /users (email stored lower-cased), then POST /tokens: the user and their token."""
    email = f"Client.Check-{secrets.token_hex(4)}@Example.com"
    with timings.step("register (POST /users)"):
        response = create_user.sync_detailed(
            client=anonymous, body=UserCreate(email=email, password=PASSWORD, name="Client Check")
        )
        user = parsed(response, HTTPStatus.CREATED, User, "createUser")
        equal(user.email, email.lower(), "User.email")
        equal(user.name, "Client Check", "User.name")
        equal(user.id >= 1, True, "User.id >= 1")
        equal(user.created_at.utcoffset(), datetime.timedelta(0), "User.created_at offset (UTC)")
        equal(user.created_at.microsecond, 0, "User.created_at in whole seconds")
        equal(response.headers.get("Location"), "/users/me", "createUser Location")
    with timings.step("login (POST /tokens)"):
        response = create_token.sync_detailed(
            client=anonymous, body=TokenCreate(email=email, password=PASSWORD)
        )
        token = parsed(response, HTTPStatus.CREATED, Token, "createToken")
        equal(token.token_type, TokenTokenType.BEARER, "Token.token_type")
        equal(len(token.access_token), 43, "len(Token.access_token)")
        equal(token.expires_at > user.created_at, True, "Token.expires_at after User.created_at")
        equal(response.headers.get("Cache-Control"), "no-store", "createToken Cache-Control")
    return user, token


def idempotent_create(client: AuthenticatedClient, timings: Timings) -> Project:
    """POST /projects with an Idempotency-Key, its replay, the key reused for another body, a 422."""
    key = f"client-check-{secrets.token_hex(8)}"
    body = ProjectCreate(name="Home", description="Things to fix around the house")
    with timings.step("create (POST /projects, Idempotency-Key)"):
        first = create_project.sync_detailed(client=client, body=body, idempotency_key=key)
        project = parsed(first, HTTPStatus.CREATED, Project, "createProject")
        equal(
            (project.name, project.description, project.version), (body.name, body.description, 1), "Project"
        )
        equal(project.created_at, project.updated_at, "Project.updated_at on create")
        equal(first.headers.get("ETag"), '"1"', "createProject ETag")
        equal(first.headers.get("Location"), f"/projects/{project.id}", "createProject Location")
        equal(first.headers.get("Idempotent-Replayed"), None, "first createProject Idempotent-Replayed")
    with timings.step("replay (same key, same body)"):
        replay = create_project.sync_detailed(client=client, body=body, idempotency_key=key)
        equal(
            parsed(replay, HTTPStatus.CREATED, Project, "replayed createProject"), project, "replayed Project"
        )
        equal(replay.headers.get("Idempotent-Replayed"), "true", "replay Idempotent-Replayed")
        equal(replay.headers.get("ETag"), '"1"', "replay ETag")
        equal(replay.headers.get("Location"), f"/projects/{project.id}", "replay Location")
        equal(replay.content, first.content, "replayed body bytes")
    with timings.step("same key, other body (422)"):
        other = ProjectCreate(name="Somewhere else")
        response = create_project.sync_detailed(client=client, body=other, idempotency_key=key)
        problem = parsed(response, HTTPStatus.UNPROCESSABLE_ENTITY, CreateRejectedProblem, "key reused")
        equal(problem.type_, CreateRejectedProblemType(PROBLEMS + "idempotency-key-reused"), "Problem.type")
        equal(problem.status, CreateRejectedProblemStatus.VALUE_422, "Problem.status")
        equal(problem.title, "Idempotency key reused", "Problem.title")
    with timings.step("invalid body (422, typed errors)"):
        response = create_project.sync_detailed(client=client, body=ProjectCreate(name=""))
        problem = parsed(response, HTTPStatus.UNPROCESSABLE_ENTITY, CreateRejectedProblem, "empty name")
        equal(problem.type_, CreateRejectedProblemType(PROBLEMS + "validation-error"), "Problem.type")
        equal(problem.title, "Validation failed", "Problem.title")
        if isinstance(problem.errors, Unset) or len(problem.errors) != 1:
            raise AssertionError(f"validation errors: expected one item, got {problem.errors!r}")
        (item,) = problem.errors
        equal(type(item), ValidationErrorItem, "errors[0] type")
        equal((item.pointer, item.parameter, item.header), ("/name", UNSET, UNSET), "errors[0] locator")
        equal(isinstance(item.detail, str) and bool(item.detail), True, "errors[0].detail is text")
    return project


def paginate(client: AuthenticatedClient, first: Project, timings: Timings) -> None:
    """Four more projects, then GET /projects two at a time, following each page's Link header."""
    with timings.step("create 4 more projects"):
        ids = [first.id]
        for number in range(1, 5):
            response = create_project.sync_detailed(
                client=client, body=ProjectCreate(name=f"Project {number}")
            )
            ids.append(parsed(response, HTTPStatus.CREATED, Project, f"createProject {number}").id)
    with timings.step(f"paginate (GET /projects?limit={PAGE}, cursor from Link)"):
        seen: list[int] = []
        sizes: list[int] = []
        cursor: str | Unset = UNSET
        while True:
            response = list_projects.sync_detailed(client=client, limit=PAGE, cursor=cursor)
            page = parsed(response, HTTPStatus.OK, ProjectPage, f"listProjects page {len(sizes) + 1}")
            equal(all(type(item) is Project for item in page.items), True, "ProjectPage.items are Project")
            seen += [item.id for item in page.items]
            sizes.append(len(page.items))
            link = response.headers.get("Link")
            if page.next_cursor is None:
                equal(link, None, "Link on the last page")
                break
            equal(link, f'</projects?limit={PAGE}&cursor={page.next_cursor}>; rel="next"', "Link")
            cursor = next_link_cursor(link)
        equal(sizes, [2, 2, 1], "page sizes")
        equal(seen, ids, "ids across pages, in order")


def conditional(client: AuthenticatedClient, project: Project, timings: Timings) -> None:
    """If-None-Match (304 and 200), PATCH with If-Match, then the stale If-Match: 412, nothing changed."""
    with timings.step("GET If-None-Match current (304)"):
        response = get_project.sync_detailed(project.id, client=client, if_none_match='"1"')
        no_body(response, HTTPStatus.NOT_MODIFIED, "getProject If-None-Match")
        equal(response.headers.get("ETag"), '"1"', "304 ETag")
    with timings.step("GET If-None-Match other (200)"):
        response = get_project.sync_detailed(project.id, client=client, if_none_match='"2", W/"3"')
        equal(parsed(response, HTTPStatus.OK, Project, "getProject"), project, "getProject")
    with timings.step("PATCH If-Match current (200)"):
        response = update_project.sync_detailed(
            project.id, client=client, body=ProjectPatch(name="House"), if_match='"1"'
        )
        updated = parsed(response, HTTPStatus.OK, Project, "updateProject")
        equal((updated.id, updated.name, updated.version), (project.id, "House", 2), "updated Project")
        equal(updated.description, project.description, "Project.description (not in the patch)")
        equal(updated.created_at, project.created_at, "Project.created_at")
        equal(updated.updated_at >= project.updated_at, True, "Project.updated_at moves forward")
        equal(response.headers.get("ETag"), '"2"', "updateProject ETag")
    with timings.step("PATCH If-Match stale (412)"):
        response = update_project.sync_detailed(
            project.id, client=client, body=ProjectPatch(name="Stale"), if_match='"1"'
        )
        problem = parsed(
            response, HTTPStatus.PRECONDITION_FAILED, PreconditionFailedProblem, "stale If-Match"
        )
        equal(problem.type_, PreconditionFailedProblemType(PROBLEMS + "precondition-failed"), "Problem.type")
        equal(problem.status, PreconditionFailedProblemStatus.VALUE_412, "Problem.status")
        equal(problem.title, "Precondition failed", "Problem.title")
        equal(problem.errors, UNSET, "Problem.errors")
        after = get_project.sync_detailed(project.id, client=client)
        equal(parsed(after, HTTPStatus.OK, Project, "getProject after 412"), updated, "Project after the 412")


def logout(client: AuthenticatedClient, timings: Timings) -> None:
    """DELETE /tokens/current (204); the token is then refused (401 invalid-token)."""
    with timings.step("logout (DELETE /tokens/current)"):
        no_body(revoke_token.sync_detailed(client=client), HTTPStatus.NO_CONTENT, "revokeToken")
    with timings.step("revoked token (401)"):
        response = get_current_user.sync_detailed(client=client)
        problem = parsed(
            response, HTTPStatus.UNAUTHORIZED, UnauthorizedProblem, "getCurrentUser after logout"
        )
        equal(problem.type_, UnauthorizedProblemType(PROBLEMS + "invalid-token"), "Problem.type")
        equal(problem.status, UnauthorizedProblemStatus.VALUE_401, "Problem.status")
        challenge = 'Bearer realm="tasks", error="invalid_token"'
        equal(response.headers.get("WWW-Authenticate"), challenge, "WWW-Authenticate")


def run(base_url: str) -> Timings:
    """The whole scenario against `base_url`; AssertionError at the first difference."""
    timings = Timings()
    timeout = httpx.Timeout(10.0)
    # An undocumented status raises (UnexpectedStatus): every answer must be one the spec lists.
    with Client(base_url=base_url, timeout=timeout, raise_on_unexpected_status=True) as anonymous:
        user, token = register_and_login(anonymous, timings)
    with AuthenticatedClient(
        base_url=base_url, token=token.access_token, timeout=timeout, raise_on_unexpected_status=True
    ) as client:
        with timings.step("current user (GET /users/me)"):
            me = get_current_user.sync_detailed(client=client)
            equal(parsed(me, HTTPStatus.OK, User, "getCurrentUser"), user, "getCurrentUser")
        project = idempotent_create(client, timings)
        paginate(client, project, timings)
        conditional(client, project, timings)
        logout(client, timings)
    return timings
