"""X-Request-ID on every response: the client's own when valid, else a fresh UUID4 (spec: Request ids)."""

import string

import httpx
import pytest
from conformance.api import UUID4, User
from conformance.rawhttp import large_request

from conformance import rawhttp

VISIBLE = "".join(chr(c) for c in range(0x21, 0x7F))


@pytest.mark.parametrize("value", ["abc-123", "a", "x" * 128, VISIBLE[:128], VISIBLE[-60:], '{"id":1}'])
def test_valid_id_is_echoed(client: httpx.Client, value: str) -> None:
    response = client.get("/healthz", headers={"X-Request-ID": value})
    assert response.headers["x-request-id"] == value


# Not DEL or other controls: gunicorn 27 and uvicorn's httptools refuse those with a 400 of their own.
@pytest.mark.parametrize(
    "value",
    [b"", b"x" * 129, b"a b", b"caf\xc3\xa9", b"caf\xe9", b"tab\tin"],
    ids=["empty", "129-chars", "space", "utf8", "latin1", "tab"],
)
def test_invalid_id_is_replaced_by_a_uuid4(address: tuple[str, int], value: bytes) -> None:
    # Raw bytes on the wire: httpx would refuse or re-encode some of these values.
    host = f"{address[0]}:{address[1]}".encode()
    request = (
        b"GET /healthz HTTP/1.1\r\nHost: "
        + host
        + b"\r\nX-Request-ID: "
        + value
        + b"\r\nConnection: close\r\n\r\n"
    )
    with rawhttp.connect(address) as sock:
        rawhttp.send_all(sock, request)
        response = rawhttp.Reader(sock).read_response()
    assert response.status == 200
    assert UUID4.match(response.header("x-request-id") or ""), response.headers


def test_missing_id_is_a_fresh_uuid4_each_time(client: httpx.Client) -> None:
    ids = {client.get("/healthz").headers["x-request-id"] for _ in range(5)}
    assert len(ids) == 5 and all(UUID4.match(value) for value in ids)


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/nope"),
        ("GET", "/projects"),
        ("DELETE", "/healthz"),
        ("OPTIONS", "/projects"),
        ("GET", "/tasks/0"),
    ],
)
def test_errors_and_options_carry_the_id(client: httpx.Client, method: str, path: str) -> None:
    response = client.request(method, path, headers={"X-Request-ID": "trace-me"})
    assert response.headers["x-request-id"] == "trace-me"
    assert UUID4.match(client.request(method, path).headers["x-request-id"])


def test_validation_and_body_errors_carry_the_id(client: httpx.Client, base_url: str, user: User) -> None:
    headers = {**user.auth, "X-Request-ID": "trace-body", "Content-Type": "application/json"}
    for body in (b"{", b"{}", b"[" * 10):
        assert client.post("/projects", content=body, headers=headers).headers["x-request-id"] == "trace-body"
    too_large = large_request(base_url, "POST", "/projects", headers, b" " * (1024 * 1024 + 1))
    assert too_large.status_code == 413 and too_large.headers["x-request-id"] == "trace-body"


def test_not_modified_carries_the_id(client: httpx.Client, user: User) -> None:
    project = client.post("/projects", json={"name": "p"}, headers=user.auth).json()
    headers = {**user.auth, "If-None-Match": '"1"', "X-Request-ID": "trace-304"}
    response = client.get(f"/projects/{project['id']}", headers=headers)
    assert response.status_code == 304 and response.headers["x-request-id"] == "trace-304"


def test_id_is_case_sensitive_and_kept_whole(client: httpx.Client) -> None:
    value = string.ascii_letters + string.digits
    assert client.get("/healthz", headers={"X-Request-ID": value}).headers["x-request-id"] == value
