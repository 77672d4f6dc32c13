"""Issue 14 at the application level: body work, the login limit, the hashing cap, 503s, framing checks."""

import json
import sqlite3
import threading
import time

import pytest
from conftest import register
from sqlalchemy import text
from tasks_api import db, security

PROBLEMS = "https://tasks-api.example/problems/"


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


# Body work (spec "Validation", "Media types").


def test_a_body_of_100000_unknown_members_gets_at_most_20_errors(client):
    token = register(client)
    members = {"name": "p", **{f"{i:x}": 0 for i in range(95_000)}}
    body = json.dumps(members, separators=(",", ":")).encode()
    assert len(body) < 1024 * 1024
    response = client.post(
        "/projects", content=body, headers={**_auth(token), "Content-Type": "application/json"}
    )
    assert response.status_code == 422
    errors = response.json()["errors"]
    assert len(errors) == 20
    assert errors[0] == {"detail": "This member is not allowed.", "pointer": "/0"}
    assert len(response.content) < 4000


def test_nesting_deeper_than_32_is_malformed_json(client):
    token = register(client)
    for depth in (33, 2000, 500_000):
        body = b'{"name": ' + b"[" * depth + b"]" * depth + b"}"
        response = client.post(
            "/projects", content=body, headers={**_auth(token), "Content-Type": "application/json"}
        )
        assert response.status_code == 400, depth
        assert response.json()["type"] == PROBLEMS + "malformed-json"
    # 32 levels are fine for the parser: the member is simply the wrong type (422).
    body = b'{"name": ' + b"[" * 31 + b"]" * 31 + b"}"
    response = client.post(
        "/projects", content=body, headers={**_auth(token), "Content-Type": "application/json"}
    )
    assert response.status_code == 422


@pytest.mark.parametrize(
    ("name", "pointer"),
    [
        ("user", "/user"),
        ("db", "/db"),
        ("data", "/data"),
        ("request", "/request"),
        ("self", "/self"),
        ("session", "/session"),
        ("__proto__", "/__proto__"),
        ("a/b~c", "/a~1b~0c"),
        ("ünïcødé ✓", "/ünïcødé ✓"),
        ("a" * 10000, "/" + "a" * 10000),
    ],
)
def test_hostile_member_names_are_one_422_each(client, name, pointer):
    token = register(client)
    for path, body in (
        ("/projects", {"name": "p", name: 1}),
        ("/users", {"email": "x@example.com", "password": "12345678", "name": "n", name: 1}),
        ("/tokens", {"email": "x@example.com", "password": "12345678", name: 1}),
    ):
        response = client.post(path, json=body, headers=_auth(token))
        assert response.status_code == 422, (path, response.text[:200])
        assert response.json()["errors"] == [{"detail": "This member is not allowed.", "pointer": pointer}]


# The login limit and the hashing cap (spec "Authentication").


def test_the_login_limit_throttles_an_email_and_a_success_clears_it(make_client):
    client = make_client(LOGIN_MAX_FAILURES="3", LOGIN_WINDOW_SECONDS="120")
    register(client, "ada@example.com", "correct horse")
    for _ in range(3):
        wrong = client.post("/tokens", json={"email": "ADA@example.com", "password": "wrong horse"})
        assert wrong.status_code == 401
    throttled = client.post("/tokens", json={"email": "ada@example.com", "password": "correct horse"})
    assert throttled.status_code == 429  # the right password too: a 429 must not tell a guesser
    assert throttled.json()["type"] == PROBLEMS + "login-throttled"
    assert 1 <= int(throttled.headers["retry-after"]) <= 120
    # Validation comes first (422), and other emails are not affected.
    assert client.post("/tokens", json={"email": "ada@example.com"}).status_code == 422
    assert (
        client.post("/tokens", json={"email": "bob@example.com", "password": "whatever1"}).status_code == 401
    )
    # The window ends: the count starts again, and a success deletes the row.
    with db.get_engine().begin() as conn:
        conn.execute(text("UPDATE login_failures SET window_ends = '2000-01-01T00:00:00Z'"))
    assert (
        client.post("/tokens", json={"email": "ada@example.com", "password": "correct horse"}).status_code
        == 201
    )
    with db.get_engine().connect() as conn:
        count = conn.execute(text("SELECT count(*) FROM login_failures")).scalar()
    assert count == 1  # bob's row only


def test_a_hash_that_cannot_start_within_a_second_is_503(make_client):
    client = make_client(HASH_CONCURRENCY="1")
    slots = security.hash_slots()
    assert slots.acquire(timeout=1)
    try:
        started = time.monotonic()
        response = client.post("/users", json={"email": "a@example.com", "password": "12345678", "name": "n"})
        assert 0.9 <= time.monotonic() - started < 3
    finally:
        slots.release()
    assert response.status_code == 503
    assert response.headers["retry-after"] == "1"
    assert response.json()["type"] == PROBLEMS + "service-unavailable"


# Database failures are 503 (spec "Bad weather").


def test_a_locked_sqlite_database_is_503_with_retry_after(make_client, tmp_path, caplog):
    client = make_client(DATABASE_TIMEOUT_SECONDS="0.3")
    token = register(client)
    other = sqlite3.connect(tmp_path / "test.db", isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another process holds the write lock
    try:
        with caplog.at_level("INFO"):
            response = client.post("/projects", json={"name": "p"}, headers=_auth(token))
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert response.status_code == 503
    assert response.headers["retry-after"] == "1"
    assert response.json()["type"] == PROBLEMS + "service-unavailable"
    assert "Traceback" not in caplog.text
    assert client.post("/projects", json={"name": "p"}, headers=_auth(token)).status_code == 201


def test_a_read_only_sqlite_database_is_503(make_client, tmp_path):
    token = register(make_client())
    # The same file opened read-only (file permissions would not stop the root user of a container).
    client = make_client(
        apply_schema=False, DATABASE_URL=f"sqlite:///file:{tmp_path / 'test.db'}?mode=ro&uri=true"
    )
    response = client.post("/projects", json={"name": "p"}, headers=_auth(token))
    assert response.status_code == 503, response.text
    assert response.headers["retry-after"] == "1"


def test_sqlite_busy_timeout_is_the_database_timeout(make_client):
    make_client(DATABASE_TIMEOUT_SECONDS="2.5")
    with db.get_engine().connect() as conn:
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 2500


def test_postgres_connections_carry_the_timeouts(configure):
    configure(DATABASE_URL="postgresql://u@h:5432/d", DATABASE_TIMEOUT_SECONDS="3")
    args = db.postgres_connect_args(db.get_settings())
    assert args["connect_timeout"] == 3
    assert "statement_timeout=3000" in args["options"] and "lock_timeout=3000" in args["options"]


def test_readyz_answers_503_within_two_seconds_when_the_ping_hangs(client, monkeypatch):
    release = threading.Event()
    monkeypatch.setattr(db, "ping", lambda engine=None: release.wait(10))
    started = time.monotonic()
    response = client.get("/readyz")
    release.set()
    assert response.status_code == 503
    assert response.headers["retry-after"] == "1"
    assert time.monotonic() - started < 2


# Framing checks the application makes (spec "HTTP/1.1 framing").


@pytest.mark.parametrize("host", ["a b", "x/y", "h:1:2", "h:port", "[::1", "h@x", ""])
def test_an_invalid_host_is_400(client, host):
    response = client.get("/healthz", headers={"Host": host})
    assert response.status_code == 400
    assert response.json()["type"] == PROBLEMS + "bad-request"


@pytest.mark.parametrize("host", ["127.0.0.1:8000", "example.com", "[::1]:80", "xn--bcher-kva.example"])
def test_a_valid_host_is_served(client, host):
    assert client.get("/healthz", headers={"Host": host}).status_code == 200


def test_a_transfer_coding_other_than_chunked_is_501(client):
    response = client.get("/healthz", headers={"Transfer-Encoding": "gzip, chunked"})
    assert response.status_code == 501
    assert response.json()["type"] == PROBLEMS + "not-implemented"
    assert response.headers["connection"] == "close"


def test_transfer_encoding_with_content_length_is_400(client):
    headers = {"Transfer-Encoding": "chunked", "Content-Length": "5", "Content-Type": "application/json"}
    response = client.post("/users", content=b"0\r\n\r\n", headers=headers)
    assert response.status_code == 400
    assert response.headers["connection"] == "close"


def test_an_absolute_form_target_is_served_as_its_path():
    from tasks_api.middleware import origin_form

    assert origin_form("http://127.0.0.1:8000/healthz") == "/healthz"
    assert origin_form("https://h/projects/7/tasks") == "/projects/7/tasks"
    assert origin_form("http://h") == "/"
    assert origin_form("/healthz") == "/healthz"


def test_expect_100_continue_is_refused_before_the_body(client):
    # Without a token, with the wrong type, or too large: the answer does not need the body.
    headers = {"Expect": "100-continue", "Content-Type": "application/json"}
    assert client.post("/projects", content=b"{}", headers=headers).status_code == 401
    token = register(client)
    wrong_type = client.post(
        "/projects", content=b"{}", headers={**_auth(token), "Content-Type": "text/plain"}
    )
    assert wrong_type.status_code == 415
    assert json.loads(wrong_type.content)["type"] == PROBLEMS + "unsupported-media-type"
