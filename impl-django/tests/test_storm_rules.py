"""Idempotency lease and fence, the login limit, the hashing cap, body work caps, Redis timeouts."""

import json
import threading
import uuid

import pytest
from django.db import connection
from django.test import override_settings
from tasks_api import idempotency, login_limit, security, wakeups
from tasks_api.clock import now
from tasks_api.errors import ApiError
from tasks_api.models import IdempotencyKey, LoginFailure, Project


def _post_project(client, token, key, name="p"):
    return client.post(
        "/projects",
        {"name": name},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
        HTTP_IDEMPOTENCY_KEY=key,
    )


def _user_id(client, token):
    return client.get("/users/me", HTTP_AUTHORIZATION=f"Bearer {token}").json()["id"]


def _stale_claim(client, token, key, age_seconds):
    """A claim row left by a request that died: status NULL, created `age_seconds` ago."""
    body = json.dumps({"name": "p"}).encode()  # as the test client sends it
    fingerprint = __import__("hashlib").sha256(b"POST /projects\n" + body).hexdigest()
    return IdempotencyKey.objects.create(
        user_id=_user_id(client, token),
        idempotency_key=key,
        fingerprint=fingerprint,
        created_at=now(-age_seconds),
    )


def test_a_claim_within_its_lease_is_409_with_retry_after(client, user_token):
    _stale_claim(client, user_token, "k-fresh", age_seconds=10)
    response = _post_project(client, user_token, "k-fresh")
    assert response.status_code == 409
    assert response.json()["type"].endswith("/idempotency-in-flight")
    assert 49 <= int(response["Retry-After"]) <= 51  # 60 s lease, 10 s gone


def test_a_stale_claim_is_taken_over_and_the_create_happens_once(client, user_token):
    claim = _stale_claim(client, user_token, "k-stale", age_seconds=61)
    first = _post_project(client, user_token, "k-stale")
    assert first.status_code == 201, first.content
    replay = _post_project(client, user_token, "k-stale")
    assert replay.status_code == 201 and replay["Idempotent-Replayed"] == "true"
    assert replay.content == first.content
    row = IdempotencyKey.objects.get(id=claim.id)
    assert row.status == 201 and row.created_at > claim.created_at


def test_the_fenced_store_rolls_the_create_back_when_the_claim_was_taken_over(
    client, user_token, monkeypatch
):
    # This request outlives its lease: another takes the key over while its create runs.
    user_id = _user_id(client, user_token)
    real_claim = idempotency.claim

    def claim_then_lose_it(user, key, print_):
        owned = real_claim(user, key, print_)
        IdempotencyKey.objects.filter(id=owned.id).update(created_at=now(1))
        return owned

    monkeypatch.setattr(idempotency, "claim", claim_then_lose_it)
    before = Project.objects.filter(owner_id=user_id).count()
    response = _post_project(client, user_token, "k-fenced")
    assert response.status_code == 409
    assert int(response["Retry-After"]) >= 1
    assert Project.objects.filter(owner_id=user_id).count() == before  # rolled back
    assert IdempotencyKey.objects.get(user_id=user_id, idempotency_key="k-fenced").status is None


def test_takeover_is_one_conditional_update(client, user_token):
    claim = _stale_claim(client, user_token, "k-race", age_seconds=120)
    seen = claim.created_at
    current = now()
    rows = IdempotencyKey.objects.filter(id=claim.id, status__isnull=True, created_at=seen)
    assert rows.update(created_at=current) == 1
    assert rows.update(created_at=current) == 0  # the second taker sees the row changed: 409


def _login(client, email, password):
    return client.post("/tokens", {"email": email, "password": password}, content_type="application/json")


@override_settings(LOGIN_MAX_FAILURES=3, LOGIN_WINDOW_SECONDS=300)
def test_the_login_limit_refuses_even_the_right_password_with_retry_after(client):
    email = f"l-{uuid.uuid4().hex}@example.com"
    client.post(
        "/users", {"email": email, "password": "right password", "name": "L"}, content_type="application/json"
    )
    assert [_login(client, email, "wrong password").status_code for _ in range(3)] == [401, 401, 401]
    throttled = _login(client, email.upper(), "right password")  # the limit is per lower-cased email
    assert throttled.status_code == 429
    assert throttled.json()["type"].endswith("/login-throttled")
    assert 299 <= int(throttled["Retry-After"]) <= 300
    # 422 comes first: validation before the limit.
    assert _login(client, email, "short").status_code == 422


@override_settings(LOGIN_MAX_FAILURES=2)
def test_a_success_clears_the_count_and_an_expired_window_starts_again(client):
    email = f"l-{uuid.uuid4().hex}@example.com"
    client.post(
        "/users", {"email": email, "password": "right password", "name": "L"}, content_type="application/json"
    )
    assert _login(client, email, "wrong password").status_code == 401
    assert _login(client, email, "right password").status_code == 201
    assert not LoginFailure.objects.filter(email_hash=login_limit.email_hash(email)).exists()
    login_limit.record_failure(email)
    login_limit.record_failure(email)
    with pytest.raises(ApiError):
        login_limit.check(email)
    LoginFailure.objects.filter(email_hash=login_limit.email_hash(email)).update(window_ends=now())
    login_limit.check(email)  # the window is over
    login_limit.record_failure(email)  # a failure after window_ends opens a new window with 1
    assert LoginFailure.objects.get(email_hash=login_limit.email_hash(email)).failures == 1


def test_the_failure_count_is_one_atomic_upsert():
    assert "ON CONFLICT (email_hash) DO UPDATE" in login_limit.RECORD_FAILURE
    email = f"race-{uuid.uuid4().hex}@example.com"
    threads = [threading.Thread(target=login_limit.record_failure, args=(email,)) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert LoginFailure.objects.get(email_hash=login_limit.email_hash(email)).failures == 8
    connection.close()
    assert len(login_limit.email_hash("A@B.co")) == 64 and login_limit.email_hash(
        "A@B.co"
    ) == login_limit.email_hash("a@b.co")


def test_hashing_is_capped_per_process(client, monkeypatch):
    slots = security._hash_slots()
    held = [slots.acquire(timeout=1) for _ in range(2)]  # HASH_CONCURRENCY = 2, both busy
    monkeypatch.setattr(security, "HASH_WAIT_SECONDS", 0.1)
    try:
        response = _login(client, "nobody@example.com", "whatever password")
    finally:
        for _ in held:
            slots.release()
    assert response.status_code == 503 and response["Retry-After"] == "1"


def _post_raw(client, token, body: str):
    return client.post(
        "/projects", body, content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {token}"
    )


def test_nesting_deeper_than_32_is_malformed_json(client, user_token):
    assert (
        _post_raw(client, user_token, "[" * 32 + "]" * 32).status_code == 422
    )  # 32 deep: JSON, not an object
    assert (
        _post_raw(client, user_token, '{"name":' + "[" * 32 + "]" * 32 + "}")
        .json()["type"]
        .endswith("/malformed-json")
    )
    huge = _post_raw(client, user_token, "[" * 1_000_000)
    assert huge.status_code == 400 and huge.json()["type"].endswith("/malformed-json")


def test_errors_are_capped_at_20_and_member_names_are_data(client, user_token):
    body = json.dumps({f"m{i}": i for i in range(60_000)}, separators=(",", ":"))
    response = _post_raw(client, user_token, body)
    assert response.status_code == 422 and len(response.json()["errors"]) == 20
    assert len(response.content) < 4000
    hostile = {"name": "p", "user": 1, "self": 1, "__proto__": 1, "a/b~c": 1, "é" * 3: 1, "x" * 10000: 1}
    response = _post_raw(client, user_token, json.dumps(hostile))
    assert response.status_code == 422
    pointers = [error["pointer"] for error in response.json()["errors"]]
    assert pointers == ["/user", "/self", "/__proto__", "/a~1b~0c", "/" + "é" * 3, "/" + "x" * 10000]


@override_settings(REDIS_URL="redis://127.0.0.1:1/0")
def test_redis_calls_have_short_timeouts_and_no_retry():
    wakeups.redis_client.cache_clear()
    try:
        client = wakeups.redis_client()
        kwargs = client.connection_pool.connection_kwargs
        assert kwargs["socket_connect_timeout"] == 0.5 and kwargs["socket_timeout"] == 0.5
        assert client.get_retry()._retries == 0
        wakeups.publish(1, 1)  # refused: logged and ignored
    finally:
        wakeups.redis_client.cache_clear()


class _FlakyRedis:
    """A redis client whose subscriptions fail until `up` is set."""

    def __init__(self) -> None:
        self.up = False
        self.subscriptions = 0

    def pubsub(self, ignore_subscribe_messages: bool = True) -> "_FlakyRedis":
        return self

    def subscribe(self, channel: str) -> None:
        import redis

        if not self.up:
            raise redis.ConnectionError("down")
        self.subscriptions += 1

    def get_message(self, timeout: float) -> None:
        return None

    def close(self) -> None:
        pass


@override_settings(EVENTS_POLL_SECONDS=0.05)
def test_a_stream_resubscribes_once_redis_is_back(monkeypatch):
    fake = _FlakyRedis()
    monkeypatch.setattr(wakeups, "redis_client", lambda: fake)
    wakeup = wakeups.Wakeup(1)
    assert wakeup.pubsub is None  # Redis down: polling
    wakeup.wait(0.06)
    fake.up = True
    wakeup.wait(0.06)  # a poll interval later it subscribes again
    assert wakeup.pubsub is not None and fake.subscriptions == 1
