"""The login limit (table login_failures, 429 login-throttled) and the hashing cap (503)."""

import time

from conftest import PASSWORD, register
from flask import Flask
from sqlalchemy import text
from tasks_api.login_limit import email_hash
from tasks_api.security import SLOTS

EMAIL = "ada@example.com"


def _login(client, password: str, email: str = EMAIL):
    return client.post("/tokens", json={"email": email, "password": password})


def test_the_limit_refuses_even_the_right_password_until_the_window_ends(make_app) -> None:
    app: Flask = make_app(LOGIN_MAX_FAILURES=3, LOGIN_WINDOW_SECONDS=2)
    client = app.test_client()
    register(client, EMAIL)
    assert [_login(client, "wrong password").status_code for _ in range(3)] == [401, 401, 401]
    refused = _login(client, PASSWORD)
    assert refused.status_code == 429
    assert refused.json["type"].endswith("/login-throttled")
    assert refused.headers["Content-Type"] == "application/problem+json"
    assert 1 <= int(refused.headers["Retry-After"]) <= 2
    time.sleep(2.1)  # the window is over: the count starts again
    assert _login(client, PASSWORD).status_code == 201


def test_failures_are_one_row_per_email_hash_and_a_success_deletes_it(client, app: Flask) -> None:
    register(client, EMAIL)
    for _ in range(2):
        _login(client, "wrong password", EMAIL.upper())  # the count is per lower-cased email
    _login(client, "wrong password", "nobody@example.com")  # unknown emails count too
    engine = app.extensions["tasks_api.engine"]
    with engine.connect() as connection:
        rows = dict(connection.execute(text("SELECT email_hash, failures FROM login_failures")).all())
    assert rows == {email_hash(EMAIL): 2, email_hash("nobody@example.com"): 1}
    assert _login(client, PASSWORD).status_code == 201
    with engine.connect() as connection:
        left = connection.execute(text("SELECT email_hash FROM login_failures")).scalars().all()
    assert left == [email_hash("nobody@example.com")]


def test_validation_comes_before_the_limit(make_app) -> None:
    app: Flask = make_app(LOGIN_MAX_FAILURES=1)
    client = app.test_client()
    _login(client, "wrong password")
    assert _login(client, "wrong password").status_code == 429
    response = client.post("/tokens", json={"email": EMAIL, "password": "short"})
    assert response.status_code == 422


def test_an_expired_window_opens_a_new_one_with_one_failure(make_app) -> None:
    app: Flask = make_app(LOGIN_MAX_FAILURES=5)
    client = app.test_client()
    with app.extensions["tasks_api.engine"].begin() as connection:
        connection.execute(
            text("INSERT INTO login_failures VALUES (:h, 9, '2000-01-01T00:00:00Z')"),
            {"h": email_hash(EMAIL)},
        )
    assert _login(client, "wrong password").status_code == 401  # not 429: that window ended long ago
    with app.extensions["tasks_api.engine"].connect() as connection:
        failures, ends = connection.execute(text("SELECT failures, window_ends FROM login_failures")).one()
    assert failures == 1 and ends > "2020"


def test_a_hash_that_cannot_start_within_a_second_is_503(make_app) -> None:
    app: Flask = make_app(HASH_CONCURRENCY=1)
    client = app.test_client()
    slots = app.extensions[SLOTS]
    assert slots.acquire(timeout=0)  # another request is hashing
    try:
        started = time.monotonic()
        response = client.post("/users", json={"email": EMAIL, "password": PASSWORD, "name": "Ada"})
        waited = time.monotonic() - started
    finally:
        slots.release()
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "1"
    assert response.json["type"].endswith("/service-unavailable")
    assert 0.9 <= waited < 2
    again = client.post("/users", json={"email": EMAIL, "password": PASSWORD, "name": "Ada"})
    assert again.status_code == 201
