"""Expect: 100-continue on a request refused before its body (spec: HTTP/1.1 framing)."""

import httpx
import pytest
from conformance.api import PROBLEMS, User, assert_problem, list_all_projects

from conformance import rawhttp

# Far less than any server's read timeout: a server that waits for the body is still waiting by then.
AT_ONCE = 5.0


def _head_only(address: tuple[str, int], host: str, headers: dict[str, str]) -> rawhttp.RawResponse:
    """Send a POST /projects head with Expect: 100-continue and no body; read the final answer.

    The body is sent only if the server asks for it with an interim 100 Continue (RFC 9110 10.1.1: a
    gateway that buffers request bodies does), and then the refusal must follow the body.
    """
    head = rawhttp.request_bytes("POST", "/projects", host, {**headers, "Expect": "100-continue"})
    with rawhttp.connect(address, timeout=AT_ONCE) as sock:
        rawhttp.send_all(sock, head)
        reader = rawhttp.Reader(sock)
        response = reader.read_response()
        if response.status == 100:
            rawhttp.send_all(sock, b"x" * min(int(headers["Content-Length"]), 64 * 1024))
            response = reader.read_final_response()
        return response


@pytest.mark.parametrize(
    ("slug", "refusal"),
    [
        ("authentication-required", {"Content-Type": "application/json", "Content-Length": "13"}),
        ("payload-too-large", {"Content-Type": "application/json", "Content-Length": str(2 * 1024 * 1024)}),
        ("unsupported-media-type", {"Content-Type": "text/plain", "Content-Length": "13"}),
    ],
    ids=["401", "413", "415"],
)
def test_expect_100_continue_gets_the_refusal_without_sending_the_body(
    address: tuple[str, int], host: str, client: httpx.Client, user: User, slug: str, refusal: dict[str, str]
) -> None:
    headers = refusal if slug == "authentication-required" else {**user.auth, **refusal}
    response = _head_only(address, host, headers)
    assert response.status == PROBLEMS[slug][0], response
    assert_problem(rawhttp.as_httpx(response), slug)
    problem = rawhttp.date_problem(response)
    assert problem is None, problem
    assert list_all_projects(client, user) == []
