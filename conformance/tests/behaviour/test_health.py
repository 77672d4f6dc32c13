"""Liveness, readiness and the served contract (spec: Health)."""

from pathlib import Path

import httpx
from conformance.api import assert_json


def test_healthz(client: httpx.Client) -> None:
    assert assert_json(client.get("/healthz"), 200) == {"status": "ok"}


def test_readyz(client: httpx.Client) -> None:
    assert assert_json(client.get("/readyz"), 200) == {"status": "ok", "checks": {"database": "ok"}}


def test_openapi_is_the_repository_file_byte_for_byte(client: httpx.Client, spec_dir: Path) -> None:
    response = client.get("/openapi.yaml")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/yaml"
    assert response.content == (spec_dir / "openapi.yaml").read_bytes()


def test_health_needs_no_authentication(client: httpx.Client) -> None:
    for path in ("/healthz", "/readyz", "/openapi.yaml"):
        assert client.get(path).status_code == 200
