"""Tokens and passwords: expiry with a tiny TTL, revocation, the stored formats."""

import hashlib
import time

from django.test import override_settings
from tasks_api import security
from tasks_api.models import Token, User
from tasks_api.security import HASHER, hash_password, verify_password


def _me(client, token):
    return client.get("/users/me", HTTP_AUTHORIZATION=f"Bearer {token}")


def test_token_expires_after_its_ttl(client):
    with override_settings(TOKEN_TTL_SECONDS=1):
        # The user is made inside the block so that user_token's login also gets the 1-second TTL.
        email = f"ttl-{time.time_ns()}@example.com"
        body = {"email": email, "password": "correct horse battery", "name": "T"}
        client.post("/users", body, content_type="application/json")
        token = client.post(
            "/tokens", {"email": email, "password": "correct horse battery"}, content_type="application/json"
        ).json()["access_token"]
    assert _me(client, token).status_code == 200
    time.sleep(2.1)  # expires_at has whole seconds: two seconds are surely past it
    response = _me(client, token)
    assert response.status_code == 401
    assert response.json()["type"].endswith("/invalid-token")
    assert response["WWW-Authenticate"] == 'Bearer realm="tasks", error="invalid_token"'


def test_token_is_stored_as_its_sha256_only(client, user_token):
    digest = hashlib.sha256(user_token.encode("ascii")).hexdigest()
    row = Token.objects.get(token_hash=digest)
    assert user_token not in (row.token_hash, row.created_at, row.expires_at)


def test_revoked_token_stops_working_at_once(client, user_token):
    assert client.delete("/tokens/current", HTTP_AUTHORIZATION=f"Bearer {user_token}").status_code == 204
    assert _me(client, user_token).status_code == 401


def test_password_hash_is_an_argon2id_phc_string_with_the_spec_parameters():
    encoded = hash_password("correct horse battery")
    assert encoded.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    assert verify_password(encoded, "correct horse battery")
    assert not verify_password(encoded, "wrong horse battery")


def test_verification_accepts_other_argon2_parameters():
    from argon2 import PasswordHasher

    stronger = PasswordHasher(time_cost=3, memory_cost=32768).hash("pw-123456")
    assert verify_password(stronger, "pw-123456")
    assert HASHER.check_needs_rehash(stronger)


def test_unknown_email_still_spends_a_verification(monkeypatch, client):
    calls = []

    class Spy:
        def hash(self, password):
            return HASHER.hash(password)

        def verify(self, encoded, password):
            calls.append(encoded)
            return HASHER.verify(encoded, password)

    monkeypatch.setattr(security, "HASHER", Spy())
    response = client.post(
        "/tokens", {"email": "nobody@example.com", "password": "whatever1"}, content_type="application/json"
    )
    assert response.status_code == 401 and response.json()["type"].endswith("/invalid-credentials")
    assert len(calls) == 1 and calls[0].startswith("$argon2id$")
    assert not User.objects.filter(email="nobody@example.com").exists()
