"""Idempotency claims: the lease, the takeover of a stale claim, the fenced store, Retry-After on 409."""

import datetime
import hashlib
import json

from conftest import register
from flask import Flask
from sqlalchemy import text
from tasks_api import idempotency
from tasks_api.clock import now, timestamp

KEY = {"Idempotency-Key": "key-1"}
BODY = {"name": "p"}


def _claim_row(app: Flask, created_at: str) -> None:
    """Insert the claim a killed request would leave behind (status NULL) for POST /projects + BODY."""
    raw = b"POST /projects\n" + json.dumps(BODY, separators=(",", ":")).encode()
    with app.extensions["tasks_api.engine"].begin() as connection:
        connection.execute(
            text(
                "INSERT INTO idempotency_keys (user_id, idempotency_key, fingerprint, created_at)"
                " VALUES ((SELECT id FROM users), :key, :print, :at)"
            ),
            {"key": KEY["Idempotency-Key"], "print": hashlib.sha256(raw).hexdigest(), "at": created_at},
        )


def _post(client, auth):
    # The test client sends json= compactly, so the fingerprint above matches.
    return client.post(
        "/projects",
        data=json.dumps(BODY, separators=(",", ":")),
        content_type="application/json",
        headers={**auth, **KEY},
    )


def _projects(app: Flask) -> int:
    with app.extensions["tasks_api.engine"].connect() as connection:
        return connection.execute(text("SELECT count(*) FROM projects")).scalar()


def test_a_claim_within_its_lease_is_409_with_retry_after(make_app) -> None:
    app: Flask = make_app(IDEMPOTENCY_LEASE_SECONDS=60)
    client = app.test_client()
    auth = register(client)
    _claim_row(app, timestamp(now()))
    response = _post(client, auth)
    assert response.status_code == 409
    assert response.json["type"].endswith("/idempotency-in-flight")
    assert 59 <= int(response.headers["Retry-After"]) <= 60
    assert _projects(app) == 0


def test_a_stale_claim_is_taken_over_and_the_create_happens_once(make_app) -> None:
    app: Flask = make_app(IDEMPOTENCY_LEASE_SECONDS=60)
    client = app.test_client()
    auth = register(client)
    # A worker was killed holding it two minutes ago: past the lease, well within the retention period.
    _claim_row(app, timestamp(now() - datetime.timedelta(seconds=120)))
    first = _post(client, auth)
    assert first.status_code == 201
    assert "Idempotent-Replayed" not in first.headers
    replay = _post(client, auth)
    assert replay.status_code == 201
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert replay.get_data() == first.get_data()
    assert _projects(app) == 1


def test_a_request_that_lost_its_claim_rolls_back_its_create(make_app, monkeypatch) -> None:
    # The fence: while this request runs its create, a retry takes its (stale) claim over, so its store
    # changes no row. Simulated by moving the claim's created_at under the running create.
    app: Flask = make_app(IDEMPOTENCY_LEASE_SECONDS=60)
    client = app.test_client()
    auth = register(client)
    real_claim = idempotency.claim

    def claim_then_lose_it(session, user_id, key):
        claim = real_claim(session, user_id, key)
        with app.extensions["tasks_api.engine"].begin() as connection:
            connection.execute(
                text("UPDATE idempotency_keys SET created_at = :now"), {"now": "2999-01-01T00:00:00Z"}
            )
        return claim

    monkeypatch.setattr(idempotency, "claim", claim_then_lose_it)
    response = _post(client, auth)
    assert response.status_code == 409
    assert response.json["type"].endswith("/idempotency-in-flight")
    assert int(response.headers["Retry-After"]) >= 1
    assert _projects(app) == 0  # rolled back: only the new owner creates
    with app.extensions["tasks_api.engine"].connect() as connection:
        row = connection.execute(text("SELECT status, created_at FROM idempotency_keys")).one()
    assert row == (None, "2999-01-01T00:00:00Z")  # the new owner's claim is left alone


def test_a_failed_create_releases_only_its_own_claim(make_app) -> None:
    app: Flask = make_app()
    client = app.test_client()
    auth = register(client)
    response = client.post("/projects/999/tasks", json={"title": "t"}, headers={**auth, **KEY})
    assert response.status_code == 404
    with app.extensions["tasks_api.engine"].connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM idempotency_keys")).scalar() == 0
