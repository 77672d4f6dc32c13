"""Token expiry, token and password storage formats."""

import hashlib
import time

from conftest import PASSWORD, register
from flask import Flask
from sqlalchemy import text
from tasks_api.security import DUMMY_HASH, hash_password, new_token, verify_password


def test_token_expires_after_its_ttl(make_app) -> None:
    app: Flask = make_app(TOKEN_TTL_SECONDS=1)
    client = app.test_client()
    auth = register(client)
    assert client.get("/users/me", headers=auth).status_code == 200
    time.sleep(2.1)  # timestamps have whole seconds: the token is expired once the clock passes expires_at
    response = client.get("/users/me", headers=auth)
    assert response.status_code == 401
    assert response.json["type"].endswith("/invalid-token")
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="tasks", error="invalid_token"'


def test_only_the_sha256_of_a_token_is_stored(client, app: Flask) -> None:
    auth = register(client)
    token = auth["Authorization"].split(" ", 1)[1]
    with app.extensions["tasks_api.engine"].connect() as connection:
        stored = connection.execute(text("SELECT token_hash, created_at, expires_at FROM tokens")).one()
    assert stored.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert len(stored.expires_at) == 20 and stored.expires_at.endswith("Z")


def test_password_hash_is_argon2id_with_the_owasp_parameters(client, app: Flask) -> None:
    register(client)
    with app.extensions["tasks_api.engine"].connect() as connection:
        stored = connection.execute(text("SELECT password_hash, email FROM users")).one()
    assert stored.password_hash.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    with app.app_context():  # hashing takes one of the app's hashing slots
        assert verify_password(stored.password_hash, PASSWORD)
        assert not verify_password(stored.password_hash, PASSWORD + "x")


def test_unknown_user_still_costs_a_verification(app: Flask) -> None:
    with app.app_context():
        assert not verify_password(None, "anything at all")
        assert DUMMY_HASH.startswith("$argon2id$")
        assert verify_password(hash_password("pw123456"), "pw123456")


def test_tokens_are_43_base64url_characters() -> None:
    tokens = {new_token() for _ in range(100)}
    assert len(tokens) == 100
    assert all(
        len(t) == 43 and set(t) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
        for t in tokens
    )


def test_scheme_is_case_insensitive_and_needs_one_space(client) -> None:
    auth = register(client)
    token = auth["Authorization"].split(" ", 1)[1]
    assert client.get("/users/me", headers={"Authorization": f"bEaReR {token}"}).status_code == 200
    response = client.get("/users/me", headers={"Authorization": f"Bearer  {token}"})
    assert response.json["type"].endswith("/invalid-token")
    response = client.get("/users/me", headers={"Authorization": f"Token {token}"})
    assert response.json["type"].endswith("/authentication-required")
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="tasks"'
