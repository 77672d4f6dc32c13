"""Registration, bearer tokens, revocation and account deletion (spec: Authentication, Resources: User)."""

import base64
import hashlib
import os
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from conformance.api import (
    PASSWORD,
    TIMESTAMP,
    TOKEN,
    User,
    assert_json,
    assert_problem,
    assert_retry_after,
    assert_validation,
    create_project,
    login,
    new_user,
    register,
    unique_email,
)

REALM = 'Bearer realm="tasks"'
INVALID_TOKEN = 'Bearer realm="tasks", error="invalid_token"'


def _random_token() -> str:
    """A token of the right syntax that no server issued."""
    return base64.urlsafe_b64encode(os.urandom(32)).rstrip(b"=").decode()


def test_register_answers_201_with_location(client: httpx.Client) -> None:
    email = unique_email()
    response = client.post("/users", json={"email": email, "password": PASSWORD, "name": "Ada"})
    body = assert_json(response, 201)
    assert response.headers["location"] == "/users/me"
    assert set(body) == {"id", "email", "name", "created_at"}
    assert body["email"] == email and body["name"] == "Ada"
    assert isinstance(body["id"], int) and body["id"] >= 1
    assert TIMESTAMP.match(body["created_at"])


def test_email_is_lower_cased(client: httpx.Client) -> None:
    email = unique_email("MiXeD").replace("example.com", "Example.COM")
    assert register(client, email)["email"] == email.lower()
    # Login compares the lower-cased address too.
    assert TOKEN.match(login(client, email.upper()))


def test_taken_email_is_409_case_insensitively(client: httpx.Client, user: User) -> None:
    response = client.post("/users", json={"email": user.email.upper(), "password": PASSWORD, "name": "Twin"})
    assert_problem(response, "email-taken")


def test_login_issues_a_bearer_token(client: httpx.Client) -> None:
    email = register(client)["email"]
    response = client.post("/tokens", json={"email": email, "password": PASSWORD})
    body = assert_json(response, 201)
    # A credential in a response is never stored by a cache (RFC 6749 5.1).
    assert response.headers.get_list("cache-control") == ["no-store"]
    assert set(body) == {"access_token", "token_type", "expires_at"}
    assert TOKEN.match(body["access_token"])
    assert body["token_type"] == "Bearer"
    assert TIMESTAMP.match(body["expires_at"])
    expires = datetime.strptime(body["expires_at"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    now = datetime.now(UTC)
    # The default TOKEN_TTL_SECONDS is 86400; allow for clock granularity and a slow request.
    assert now + timedelta(seconds=86400 - 120) <= expires <= now + timedelta(seconds=86400 + 120)


def test_each_login_issues_a_new_token(client: httpx.Client) -> None:
    email = register(client)["email"]
    assert login(client, email) != login(client, email)


def test_current_user(client: httpx.Client, user: User) -> None:
    body = assert_json(client.get("/users/me", headers=user.auth), 200)
    assert body["id"] == user.id and body["email"] == user.email
    assert set(body) == {"id", "email", "name", "created_at"}


@pytest.mark.parametrize("password", [PASSWORD + "x", PASSWORD.upper()])
def test_wrong_password_is_invalid_credentials(client: httpx.Client, user: User, password: str) -> None:
    response = client.post("/tokens", json={"email": user.email, "password": password})
    assert_problem(response, "invalid-credentials")
    # Every 401 carries a challenge (RFC 9110 15.5.2).
    assert response.headers.get_list("www-authenticate") == [REALM]


def test_unknown_email_is_invalid_credentials(client: httpx.Client) -> None:
    response = client.post("/tokens", json={"email": unique_email(), "password": PASSWORD})
    assert_problem(response, "invalid-credentials")
    assert response.headers.get_list("www-authenticate") == [REALM]


@pytest.mark.parametrize("header", [None, "Basic dXNlcjpwYXNz", "Token abc", "Digest x"])
def test_missing_or_foreign_scheme_is_authentication_required(
    client: httpx.Client, header: str | None
) -> None:
    headers = {} if header is None else {"Authorization": header}
    response = client.get("/users/me", headers=headers)
    assert_problem(response, "authentication-required")
    assert response.headers.get_list("www-authenticate") == [REALM]


@pytest.mark.parametrize(
    "token",
    [_random_token(), "abc", _random_token()[:42], _random_token() + "A", "a" * 42 + "=", "a" * 42 + "."],
    # Fixed ids for the random values: pytest-xdist needs every worker to collect the same test names.
    ids=["random-43", "abc", "random-42", "random-44", "a42-padding", "a42-dot"],
)
def test_bad_token_is_invalid_token(client: httpx.Client, token: str) -> None:
    response = client.get("/users/me", headers={"Authorization": f"Bearer {token}"})
    assert_problem(response, "invalid-token")
    assert response.headers.get_list("www-authenticate") == [INVALID_TOKEN]


@pytest.mark.parametrize("scheme", ["bearer", "BEARER", "bEaReR"])
def test_scheme_is_case_insensitive(client: httpx.Client, user: User, scheme: str) -> None:
    response = client.get("/users/me", headers={"Authorization": f"{scheme} {user.token}"})
    assert assert_json(response, 200)["id"] == user.id


def test_token_of_another_user_is_that_user(client: httpx.Client, user: User, other_user: User) -> None:
    assert client.get("/users/me", headers=other_user.auth).json()["id"] == other_user.id
    assert client.get("/users/me", headers=user.auth).json()["id"] == user.id


def test_revocation_takes_effect_at_once(client: httpx.Client, user: User) -> None:
    second = login(client, user.email)
    response = client.delete("/tokens/current", headers=user.auth)
    assert response.status_code == 204 and response.content == b""
    gone = client.get("/users/me", headers=user.auth)
    assert_problem(gone, "invalid-token")
    assert gone.headers.get_list("www-authenticate") == [INVALID_TOKEN]
    # Only the token used is revoked.
    assert client.get("/users/me", headers={"Authorization": f"Bearer {second}"}).status_code == 200


def test_revoking_needs_a_token(client: httpx.Client) -> None:
    assert_problem(client.delete("/tokens/current"), "authentication-required")


def test_delete_account_removes_everything(client: httpx.Client, user: User) -> None:
    second = login(client, user.email)
    project = create_project(client, user)
    response = client.delete("/users/me", headers=user.auth)
    assert response.status_code == 204 and response.content == b""
    for token in (user.token, second):
        assert_problem(client.get("/users/me", headers={"Authorization": f"Bearer {token}"}), "invalid-token")
    login_attempt = client.post("/tokens", json={"email": user.email, "password": PASSWORD})
    assert_problem(login_attempt, "invalid-credentials")
    # The address is free again, and the new account starts empty.
    again = User(id=register(client, user.email)["id"], email=user.email, token=login(client, user.email))
    assert again.id != user.id
    assert client.get("/projects", headers=again.auth).json()["items"] == []
    assert_problem(client.get(f"/projects/{project['id']}", headers=again.auth), "not-found")


def test_token_is_not_the_stored_hash(client: httpx.Client, user: User) -> None:
    # A client presenting the SHA-256 of a token (what a leaked database holds) is not authenticated.
    leaked = hashlib.sha256(user.token.encode()).hexdigest()
    assert_problem(client.get("/users/me", headers={"Authorization": f"Bearer {leaked}"}), "invalid-token")


@pytest.mark.parametrize(
    "email",
    ["not-an-email", "a@b@example.com", "j\u00f6rg@example.com", "a@-example.com", "", "a b@example.com"],
)
def test_invalid_email_is_422(client: httpx.Client, email: str) -> None:
    response = client.post("/users", json={"email": email, "password": PASSWORD, "name": "N"})
    assert_validation(response, pointer=["/email"])


def test_email_length_bound(client: httpx.Client) -> None:
    domain = "@example.com"
    at_limit = "a" * (254 - len(domain) - 32) + os.urandom(16).hex() + domain
    assert len(at_limit) == 254
    assert register(client, at_limit)["email"] == at_limit
    response = client.post("/users", json={"email": "b" + at_limit, "password": PASSWORD, "name": "N"})
    assert_validation(response, pointer=["/email"])


@pytest.mark.parametrize("missing", ["email", "password", "name"])
def test_registration_requires_every_member(client: httpx.Client, missing: str) -> None:
    body = {"email": unique_email(), "password": PASSWORD, "name": "N"}
    del body[missing]
    assert_validation(client.post("/users", json=body), pointer=[f"/{missing}"])


def test_new_user_works_end_to_end(client: httpx.Client) -> None:
    fresh = new_user(client)
    assert client.get("/projects", headers=fresh.auth).status_code == 200


# The login limit at the spec's defaults (LOGIN_MAX_FAILURES 5, LOGIN_WINDOW_SECONDS 300).
MAX_FAILURES = 5
WINDOW_SECONDS = 300


def _attempt(client: httpx.Client, email: str, password: str) -> httpx.Response:
    return client.post("/tokens", json={"email": email, "password": password})


def _fail(client: httpx.Client, email: str, times: int) -> None:
    """`times` wrong passwords for `email`, each an ordinary 401."""
    for attempt in range(times):
        response = _attempt(client, email, PASSWORD + " wrong")
        assert response.status_code == 401, f"failure {attempt + 1}: {response.status_code} {response.text}"
        assert_problem(response, "invalid-credentials")


def _assert_throttled(response: httpx.Response) -> None:
    assert_problem(response, "login-throttled")
    assert_retry_after(response, WINDOW_SECONDS)


def test_login_limit_refuses_even_the_right_password(client: httpx.Client, user: User) -> None:
    # Checked before the password: a 429 for the right password too, or it would tell a guesser it won.
    _fail(client, user.email, MAX_FAILURES)
    _assert_throttled(_attempt(client, user.email, PASSWORD))
    _assert_throttled(_attempt(client, user.email, PASSWORD + " wrong"))
    # The user's existing token is not a login: it still works.
    assert client.get("/users/me", headers=user.auth).status_code == 200


def test_login_limit_is_per_email(client: httpx.Client, user: User, other_user: User) -> None:
    _fail(client, user.email, MAX_FAILURES)
    _assert_throttled(_attempt(client, user.email, PASSWORD))
    assert_problem(_attempt(client, other_user.email, PASSWORD + " wrong"), "invalid-credentials")
    assert TOKEN.match(login(client, other_user.email))


def test_login_limit_counts_the_lower_cased_email(client: httpx.Client, user: User) -> None:
    spellings = [user.email, user.email.upper(), user.email.capitalize(), user.email.swapcase(), user.email]
    for spelling in spellings[:MAX_FAILURES]:
        assert_problem(_attempt(client, spelling, PASSWORD + " wrong"), "invalid-credentials")
    _assert_throttled(_attempt(client, user.email.upper(), PASSWORD))


def test_login_limit_applies_to_unknown_emails(client: httpx.Client) -> None:
    # Any address is counted, registered or not: otherwise the 429 would tell which emails exist.
    email = unique_email("nobody")
    _fail(client, email, MAX_FAILURES)
    _assert_throttled(_attempt(client, email, PASSWORD))


def test_successful_login_clears_the_count(client: httpx.Client, user: User) -> None:
    _fail(client, user.email, MAX_FAILURES - 1)
    assert TOKEN.match(login(client, user.email))
    # The count starts again from zero: four more failures, then a fifth, are all ordinary 401s.
    _fail(client, user.email, MAX_FAILURES)
    _assert_throttled(_attempt(client, user.email, PASSWORD))


def test_validation_answers_before_the_login_limit(client: httpx.Client, user: User) -> None:
    _fail(client, user.email, MAX_FAILURES)
    # Order of checks: 422 comes before 429, and a 422 is no failed login.
    response = client.post("/tokens", json={"email": user.email})
    assert_validation(response, pointer=["/password"])
    _assert_throttled(_attempt(client, user.email, PASSWORD))
