"""The hot paths: one statement per read, no transaction around it, and the spec's order of checks kept."""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from conftest import register
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event

BAD_TOKEN = {"Authorization": "Bearer " + "A" * 43}


@contextmanager
def statements(app: Flask) -> Iterator[list[str]]:
    """The SQL the app sends while the block runs (BEGIN included: the begin hook sends it as a statement)."""
    seen: list[str] = []
    engine = app.extensions["tasks_api.engine"]

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(statement.split()[0].upper())

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def _task(client: FlaskClient, auth: dict[str, str]) -> tuple[int, int]:
    project = client.post("/projects", json={"name": "p"}, headers=auth).json["id"]
    task = client.post(f"/projects/{project}/tasks", json={"title": "t"}, headers=auth).json["id"]
    return project, task


def test_a_read_is_one_statement_without_begin(app: Flask, client: FlaskClient, auth: dict[str, str]) -> None:
    project, task = _task(client, auth)
    for path in (f"/tasks/{task}", f"/projects/{project}", f"/projects/{project}/tasks"):
        with statements(app) as seen:
            assert client.get(path, headers=auth).status_code == 200
        assert seen == ["SELECT"], path


def test_401_then_404_from_the_one_statement(client: FlaskClient, auth: dict[str, str]) -> None:
    project, task = _task(client, auth)
    assert client.get(f"/tasks/{task}", headers=BAD_TOKEN).status_code == 401
    assert client.get(f"/tasks/{task + 1000}", headers=auth).status_code == 404
    assert client.get(f"/projects/{project}/tasks", headers=BAD_TOKEN).status_code == 401
    assert client.get(f"/projects/{project + 1000}/tasks", headers=auth).status_code == 404
    missing = f"/projects/{project + 1000}/tasks"
    assert client.post(missing, json={"title": "t"}, headers=auth).status_code == 404


def test_a_refused_parameter_comes_after_the_token_check(client: FlaskClient, auth: dict[str, str]) -> None:
    project, _task_id = _task(client, auth)
    assert client.get(f"/projects/{project}/tasks?limit=0", headers=BAD_TOKEN).status_code == 401
    assert client.get(f"/projects/{project}/tasks?cursor=x.y", headers=BAD_TOKEN).status_code == 401
    assert client.get(f"/projects/{project}/tasks?limit=0", headers=auth).status_code == 422
    assert client.get(f"/projects/{project}/tasks?cursor=x.y", headers=auth).status_code == 400


def test_a_page_and_its_cursor(client: FlaskClient, auth: dict[str, str]) -> None:
    project, first = _task(client, auth)
    for i in range(4):
        client.post(f"/projects/{project}/tasks", json={"title": f"t{i}", "done": i % 2 == 0}, headers=auth)
    page = client.get(f"/projects/{project}/tasks?limit=2", headers=auth).json
    assert [t["id"] for t in page["items"]] == [first, first + 1]
    rest = client.get(f"/projects/{project}/tasks?limit=2&cursor={page['next_cursor']}", headers=auth).json
    assert [t["id"] for t in rest["items"]] == [first + 2, first + 3]
    done = client.get(f"/projects/{project}/tasks?done=true", headers=auth).json["items"]
    assert [t["id"] for t in done] == [first + 1, first + 3]
    empty = client.post("/projects", json={"name": "empty"}, headers=auth).json["id"]
    assert client.get(f"/projects/{empty}/tasks", headers=auth).json == {"items": [], "next_cursor": None}


def test_a_cursor_of_another_user_is_refused(client: FlaskClient, auth: dict[str, str]) -> None:
    project, _task_id = _task(client, auth)
    client.post(f"/projects/{project}/tasks", json={"title": "u"}, headers=auth)
    cursor = client.get(f"/projects/{project}/tasks?limit=1", headers=auth).json["next_cursor"]
    other = register(client, "bob@example.com")
    assert client.get(f"/projects/{project}/tasks?cursor={cursor}", headers=other).status_code == 400
