"""Idempotency claims with a lease: a stale claim is taken over, the store is fenced, 409 has Retry-After."""

from datetime import UTC, datetime, timedelta

from conftest import register
from sqlalchemy import text
from sqlalchemy.orm import Session
from tasks_api import db, idempotency
from tasks_api.idempotency import fingerprint


def _stamp(seconds_ago: int) -> str:
    return (datetime.now(UTC) - timedelta(seconds=seconds_ago)).strftime("%Y-%m-%dT%H:%M:%SZ")


def _claim_row(key: str, body: bytes, seconds_ago: int) -> None:
    with db.get_engine().begin() as conn:
        conn.execute(
            text(
                "INSERT INTO idempotency_keys (user_id, idempotency_key, fingerprint, created_at)"
                " VALUES (1, :key, :print, :at)"
            ),
            {"key": key, "print": fingerprint("/projects", body), "at": _stamp(seconds_ago)},
        )


def _projects() -> int:
    with db.get_engine().connect() as conn:
        return conn.execute(text("SELECT count(*) FROM projects")).scalar_one()


def test_a_claim_within_its_lease_is_409_with_retry_after(make_client):
    client = make_client(IDEMPOTENCY_LEASE_SECONDS="60")
    token = register(client)
    body = b'{"name":"p"}'
    _claim_row("k1", body, seconds_ago=20)
    response = client.post(
        "/projects",
        content=body,
        headers={
            "Authorization": f"Bearer {token}",
            "Content-Type": "application/json",
            "Idempotency-Key": "k1",
        },
    )
    assert response.status_code == 409
    assert response.json()["type"].endswith("/idempotency-in-flight")
    assert 38 <= int(response.headers["retry-after"]) <= 41


def test_a_stale_claim_is_taken_over_and_the_create_happens_once(make_client):
    client = make_client(IDEMPOTENCY_LEASE_SECONDS="60")
    token = register(client)
    body = b'{"name":"p"}'
    _claim_row("k2", body, seconds_ago=61)  # its owner died: the lease is over
    headers = {
        "Authorization": f"Bearer {token}",
        "Content-Type": "application/json",
        "Idempotency-Key": "k2",
    }
    first = client.post("/projects", content=body, headers=headers)
    assert first.status_code == 201, first.text
    again = client.post("/projects", content=body, headers=headers)
    assert again.status_code == 201 and again.headers["idempotent-replayed"] == "true"
    assert again.content == first.content
    assert _projects() == 1


def test_a_claim_older_than_the_retention_is_deleted_and_claimed_again(make_client):
    client = make_client(IDEMPOTENCY_RETENTION_SECONDS="100")
    token = register(client)
    body = b'{"name":"p"}'
    _claim_row("k3", b'{"name":"another request"}', seconds_ago=101)  # another fingerprint, but expired
    headers = {
        "Authorization": f"Bearer {token}",
        "Content-Type": "application/json",
        "Idempotency-Key": "k3",
    }
    assert client.post("/projects", content=body, headers=headers).status_code == 201


def test_the_store_is_fenced_by_the_claims_time(make_client):
    register(make_client())  # user 1 exists
    _claim_row("k4", b"{}", seconds_ago=0)
    with Session(db.get_engine(), autobegin=False) as session:
        with db.write_transaction(session):
            row = session.execute(text("SELECT id, created_at FROM idempotency_keys")).one()
        claim = idempotency.Claim(id=row.id, claimed_at=_stamp(100))  # taken over since: another time
        with db.write_transaction(session):
            assert not idempotency.store(session, claim, 201, b"{}", "/projects/1", '"1"')
        claim = idempotency.Claim(id=row.id, claimed_at=row.created_at)
        with db.write_transaction(session):
            assert idempotency.store(session, claim, 201, b"{}", "/projects/1", '"1"')
