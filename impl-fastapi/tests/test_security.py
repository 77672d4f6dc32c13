"""Tokens and passwords: expiry with a tiny TTL, storage as hashes, and hashing off the event loop."""

import asyncio
import hashlib
import threading
import time

from conftest import register
from sqlalchemy import text
from tasks_api import db, security
from tasks_api.views import tokens, users


def test_token_with_zero_ttl_is_expired_at_once(make_client):
    client = make_client(TOKEN_TTL_SECONDS="0")
    token = register(client)
    response = client.get("/users/me", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401
    assert response.json()["type"].endswith("/invalid-token")
    assert response.headers["www-authenticate"] == 'Bearer realm="tasks", error="invalid_token"'


def test_token_stops_working_when_it_expires(make_client):
    client = make_client(TOKEN_TTL_SECONDS="1")
    token = register(client)
    auth = {"Authorization": f"Bearer {token}"}
    assert client.get("/users/me", headers=auth).status_code == 200
    time.sleep(2.1)  # timestamps have whole seconds: past expires_at whatever the sub-second phase
    assert client.get("/users/me", headers=auth).status_code == 401


def test_only_the_sha256_of_a_token_is_stored(client):
    token = register(client)
    with db.get_engine().connect() as conn:
        stored = conn.execute(text("SELECT token_hash FROM tokens")).scalar_one()
        password_hash = conn.execute(text("SELECT password_hash FROM users")).scalar_one()
    assert stored == hashlib.sha256(token.encode("ascii")).hexdigest() != token
    assert password_hash.startswith("$argon2id$v=19$m=19456,t=2,p=1$")


def test_tokens_have_the_spec_format():
    token = security.new_token()
    assert len(token) == 43 and security.TOKEN_RE.fullmatch(token)


def test_verification_accepts_other_argon2_parameters():
    from argon2 import PasswordHasher

    stronger = PasswordHasher(time_cost=3, memory_cost=32768).hash("pw-123456")
    assert security.verify_password(stronger, "pw-123456")
    assert not security.verify_password(stronger, "wrong")
    assert not security.verify_password("not a hash", "pw-123456")


def _recording(function, calls):
    def wrapper(*args, **kwargs):
        try:
            asyncio.get_running_loop()
            calls.append("event loop")
        except RuntimeError:
            calls.append(threading.current_thread().name)
        return function(*args, **kwargs)

    return wrapper


def test_password_hashing_does_not_run_on_the_event_loop(client, monkeypatch):
    calls: list[str] = []
    monkeypatch.setattr(users, "hash_password", _recording(security.hash_password, calls))
    monkeypatch.setattr(tokens, "verify_login", _recording(security.verify_login, calls))
    register(client)
    client.post("/tokens", json={"email": "nobody@example.com", "password": "whatever1"})  # the dummy hash
    assert len(calls) == 3
    assert "event loop" not in calls  # each ran in a worker thread of FastAPI's threadpool
