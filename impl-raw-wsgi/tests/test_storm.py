"""Issue 14 in-process: idempotency leases and the fence, body work caps, the login limit, hashing cap."""

import dataclasses
import json
import threading

import pytest
from sqlalchemy import insert, select, update
from tasks_api import security
from tasks_api.app import create_app
from tasks_api.clock import now
from tasks_api.models import idempotency_keys, projects


def login_failures_table():
    from tasks_api.models import login_failures  # imported late: the module runs against older code too

    return login_failures


PASSWORD = "correct horse battery"


def problem(result):
    return result.status, result.problem_type


# --- idempotency: the lease and the fenced store ----------------------------------------------------


def _claim_row(database, key, created_at, body=b'{"name":"p"}'):
    from tasks_api.idempotency import fingerprint

    with database.write() as connection:
        return connection.execute(
            insert(idempotency_keys)
            .values(
                user_id=1,
                idempotency_key=key,
                fingerprint=fingerprint("/projects", body),
                created_at=created_at,
            )
            .returning(idempotency_keys.c.id)
        ).scalar_one()


def _post(user, key, body=b'{"name":"p"}'):
    headers = {"Content-Type": "application/json", "Idempotency-Key": key}
    return user.request("POST", "/projects", body=body, headers=headers)


def test_a_claim_within_its_lease_is_409_with_retry_after(user, database):
    _claim_row(database, "k", now(-10))  # a request in flight for 10 s, lease 60 s
    result = _post(user, "k")
    assert problem(result) == (409, "idempotency-in-flight")
    assert 49 <= int(result.headers["retry-after"]) <= 51


def test_a_stale_claim_is_taken_over_and_the_create_happens_once(user, database):
    claim = _claim_row(database, "k", now(-61))  # its process died a minute ago
    first = _post(user, "k")
    assert first.status == 201 and "idempotent-replayed" not in first.headers
    again = _post(user, "k")
    assert (again.status, again.body, again.headers["idempotent-replayed"]) == (201, first.body, "true")
    with database.read() as connection:
        assert connection.execute(select(projects.c.id)).scalars().all() == [first.json()["id"]]
        row = connection.execute(select(idempotency_keys).where(idempotency_keys.c.id == claim)).one()
    assert row.status == 201  # the same row, taken over and completed


def test_a_request_whose_claim_was_taken_over_rolls_back_and_is_409(user, database, monkeypatch):
    from tasks_api import idempotency

    real_claim = idempotency._claim

    def taken_over_meanwhile(*args):
        claim = real_claim(*args)
        # This request outlives its lease and a retry takes the claim over before the create commits.
        with database.write() as connection:
            connection.execute(update(idempotency_keys).values(created_at="2099-01-01T00:00:00Z"))
        return claim

    monkeypatch.setattr(idempotency, "_claim", taken_over_meanwhile)
    result = _post(user, "k")
    assert problem(result) == (409, "idempotency-in-flight") and int(result.headers["retry-after"]) >= 1
    with database.read() as connection:
        assert connection.execute(select(projects.c.id)).all() == []  # the create rolled back
        row = connection.execute(select(idempotency_keys)).one()
    assert (row.status, row.created_at) == (None, "2099-01-01T00:00:00Z")  # the new owner's, untouched


def test_the_retention_setting_starts_an_old_record_afresh(settings, database, make_client):
    app = create_app(dataclasses.replace(settings, idempotency_retention_seconds=5), database)
    user = make_client(app).login()
    user.post("/projects", {"name": "p"}, headers={"Idempotency-Key": "k"})
    with database.write() as connection:
        connection.execute(update(idempotency_keys).values(created_at=now(-6)))
    again = user.post("/projects", {"name": "p"}, headers={"Idempotency-Key": "k"})
    assert again.status == 201 and "idempotent-replayed" not in again.headers


# --- body work ----------------------------------------------------------------------------------------


def test_nesting_is_limited_to_32_levels(user):
    headers = {"Content-Type": "application/json"}

    def nested(depth):
        return b'{"name":' + b"[" * (depth - 1) + b"]" * (depth - 1) + b"}"

    assert problem(user.request("POST", "/projects", body=nested(32), headers=headers)) == (
        422,
        "validation-error",
    )
    assert problem(user.request("POST", "/projects", body=nested(33), headers=headers)) == (
        400,
        "malformed-json",
    )
    mebibyte = b"[" * (1024 * 1024 - 10)
    assert problem(user.request("POST", "/projects", body=mebibyte, headers=headers)) == (
        400,
        "malformed-json",
    )


def test_errors_are_capped_at_20_however_many_members(user):
    body = json.dumps({f"{index:x}": 0 for index in range(90_000)}, separators=(",", ":")).encode()
    assert len(body) < 1024 * 1024
    result = user.request("POST", "/projects", body=body, headers={"Content-Type": "application/json"})
    assert problem(result) == (422, "validation-error")
    assert len(result.json()["errors"]) == 20
    assert len(result.body) < 3000
    # A bad Idempotency-Key comes first, and the cap holds with it.
    with_header = user.request(
        "POST", "/projects", body=body, headers={"Content-Type": "application/json", "Idempotency-Key": ""}
    )
    errors = with_header.json()["errors"]
    assert len(errors) == 20 and errors[0] == {"header": "Idempotency-Key", "detail": errors[0]["detail"]}


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
        ("名前", "/名前"),
        ("a" * 10000, "/" + "a" * 10000),
    ],
)
def test_hostile_member_names_are_422_with_their_pointer(user, name, pointer):
    for path, body in (
        ("/projects", {"name": "p"}),
        ("/users", {"email": "x@example.com", "password": PASSWORD, "name": "n"}),
        ("/tokens", {"email": "x@example.com", "password": PASSWORD}),
    ):
        result = user.post(path, {**body, name: 1})
        assert problem(result) == (422, "validation-error"), (path, result.body[:200])
        assert result.json()["errors"] == [{"pointer": pointer, "detail": "is not a member of this object"}]


# --- the login limit and the hashing cap -------------------------------------------------------------


def test_the_login_limit_refuses_the_right_password_too_then_forgets(settings, database, make_client):
    login_failures = login_failures_table()
    app = create_app(dataclasses.replace(settings, login_max_failures=3, login_window_seconds=60), database)
    client = make_client(app).login()
    wrong = {"email": "ada@example.com", "password": "wrong password"}
    right = {"email": "ADA@example.com", "password": PASSWORD}  # the limit is per lower-cased email
    assert [client.post("/tokens", wrong).status for _ in range(3)] == [401, 401, 401]
    throttled = client.post("/tokens", right)
    assert problem(throttled) == (429, "login-throttled")
    assert 58 <= int(throttled.headers["retry-after"]) <= 60
    # Validation still comes first (422), and other emails are not affected.
    assert client.post("/tokens", {"email": "ada@example.com"}).status == 422
    assert client.post("/tokens", {"email": "bob@example.com", "password": PASSWORD}).status == 401
    # The window ends: the count starts again, and a success deletes the row.
    with database.write() as connection:
        connection.execute(update(login_failures).values(window_ends=now(-1)))
    assert client.post("/tokens", wrong).status == 401
    with database.read() as connection:
        counted = connection.execute(select(login_failures.c.failures)).scalars().all()
    assert sorted(counted) == [1, 1]  # ada's new window, bob's
    assert client.post("/tokens", right).status == 201
    with database.read() as connection:
        assert connection.execute(select(login_failures.c.failures)).scalars().all() == [1]  # bob's


def test_concurrent_failures_all_count(settings, database):
    from tasks_api import login_limit

    login_failures = login_failures_table()

    def fail():
        login_limit.record_failure(database, settings, "eve@example.com")

    threads = [threading.Thread(target=fail) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with database.read() as connection:
        assert connection.execute(select(login_failures.c.failures)).scalar_one() == 8


def test_hashing_is_capped_per_process(settings, database, make_client, monkeypatch):
    monkeypatch.setattr(security, "HASH_WAIT_SECONDS", 0.2)
    app = create_app(dataclasses.replace(settings, hash_concurrency=1), database)
    client = make_client(app)
    with security.hashing_slot(1):  # the one slot is busy
        result = client.post("/users", {"email": "x@example.com", "password": PASSWORD, "name": "n"})
    assert problem(result) == (503, "service-unavailable") and result.headers["retry-after"] == "1"
    assert client.post("/users", {"email": "x@example.com", "password": PASSWORD, "name": "n"}).status == 201


def test_a_database_failure_leaves_the_claim_to_its_lease(user, database, monkeypatch):
    import sqlite3

    from sqlalchemy.exc import OperationalError
    from tasks_api import outbox

    busy = sqlite3.OperationalError("database is locked")
    busy.sqlite_errorcode = 5  # SQLITE_BUSY after the busy timeout
    real_lock = outbox.lock_owner

    def database_fails(connection, user_id):
        raise OperationalError("SELECT", {}, busy)

    monkeypatch.setattr(outbox, "lock_owner", database_fails)
    failed = _post(user, "k")
    assert problem(failed) == (503, "service-unavailable") and failed.headers["retry-after"] == "1"
    monkeypatch.setattr(outbox, "lock_owner", real_lock)
    assert problem(_post(user, "k")) == (409, "idempotency-in-flight")  # the claim waits for its lease
    with database.write() as connection:
        connection.execute(update(idempotency_keys).values(created_at=now(-61)))
    retried = _post(user, "k")
    assert retried.status == 201 and "idempotent-replayed" not in retried.headers
    assert _post(user, "k").headers["idempotent-replayed"] == "true"


def test_an_unknown_email_verifies_the_dummy_hash(settings, database, make_client, monkeypatch):
    verified = []
    real_verify = security.HASHER.verify

    class Recording:
        def __getattr__(self, name):
            return getattr(real_hasher, name)

        def verify(self, password_hash, password):
            verified.append(password_hash)
            return real_verify(password_hash, password)

    real_hasher = security.HASHER
    monkeypatch.setattr(security, "HASHER", Recording())
    result = make_client(create_app(settings, database)).post(
        "/tokens", {"email": "nobody@example.com", "password": PASSWORD}
    )
    assert problem(result) == (401, "invalid-credentials")
    assert verified == [security.DUMMY_HASH] and security.DUMMY_HASH.startswith("$argon2id$")
