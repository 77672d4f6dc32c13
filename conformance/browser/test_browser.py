"""The pages in a real browser: the live page shows changes made elsewhere, /docs renders, all offline."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import httpx
import yaml
from conformance.api import PASSWORD, login, register
from conformance.paths import SPEC_DIR

if TYPE_CHECKING:
    from conftest import Served
    from devtools import Browser

METHODS = {"get", "put", "post", "delete", "patch", "head", "options", "trace"}


def outside(urls: list[str], base_url: str) -> list[str]:
    """The URLs that leave the server's origin (data: URLs are not requests to anyone)."""
    origin = urlsplit(base_url)
    return [
        url for url in urls
        if not url.startswith("data:") and urlsplit(url)[:2] != (origin.scheme, origin.netloc)
    ]  # fmt: skip


def text_of(selector: str) -> str:
    """A JavaScript expression: the text of an element."""
    return f"document.querySelector({json.dumps(selector)}).innerText"


def test_live_page_shows_changes_made_elsewhere(browser: Browser, served: Served, screenshots: Path) -> None:
    api = httpx.Client(base_url=served.base_url, timeout=10.0)
    user = register(api, name="Browser Test")
    auth = {"Authorization": f"Bearer {login(api, user['email'])}"}

    # Log in through the page; it follows GET /events once signed in.
    browser.navigate(served.base_url + "/")
    browser.type_into("#signin-form [name=email]", user["email"])
    browser.type_into("#signin-form [name=password]", PASSWORD)
    browser.click("#signin-form button[value=login]")
    browser.wait_for("document.body.dataset.stream === 'open'")
    assert browser.evaluate(text_of("#who-email")) == user["email"]

    # A change made through the API (not the page) appears in the log and in the list.
    project = api.post("/projects", json={"name": "Made with curl"}, headers=auth).json()
    browser.wait_for(f"{text_of('#events')}.includes('project.created')")
    browser.wait_for(f"{text_of('#projects')}.includes('Made with curl')")

    # A task added through the page comes back as an event like any other change.
    browser.type_into("#task-form [name=title]", "Added on the page")
    browser.click("#task-form button")
    browser.wait_for(f"{text_of('#events')}.includes('task.created')")
    browser.wait_for(f"{text_of('#tasks')}.includes('Added on the page')")

    # The stream ends after EVENTS_STREAM_SECONDS; the page comes back with the last id it saw.
    browser.wait(lambda: len(browser.requests_to("/events")) >= 2, served.stream_seconds + 5.0, "a reconnect")
    last_id = browser.evaluate("document.querySelector('#events li code').innerText").removeprefix("id ")
    assert browser.requests_to("/events")[1]["headers"].get("Last-Event-ID") == last_id
    api.patch(f"/projects/{project['id']}", json={"name": "Renamed with curl"}, headers=auth)
    browser.wait_for(f"{text_of('#projects')}.includes('Renamed with curl')")

    # Each event shown once, in id order (newest first).
    ids = browser.evaluate("[...document.querySelectorAll('#events li code')].map(e => e.innerText)")
    assert [int(text.split()[1]) for text in ids] == sorted(
        {int(text.split()[1]) for text in ids}, reverse=True
    )
    assert len(ids) == 3, ids
    browser.screenshot(screenshots / "live-page.png")
    assert outside(browser.requested_urls(), served.base_url) == []
    assert browser.errors() == []


def test_docs_render_every_operation_offline(browser: Browser, served: Served, screenshots: Path) -> None:
    spec = yaml.safe_load((SPEC_DIR / "openapi.yaml").read_text(encoding="utf-8"))
    operations = sum(1 for item in spec["paths"].values() for method in item if method in METHODS)
    browser.navigate(served.base_url + "/docs")
    # Swagger UI fetches /openapi.yaml, then draws one block per operation.
    browser.wait_for(f"document.querySelectorAll('.opblock').length === {operations}")
    assert browser.evaluate(text_of(".info .title")).startswith(spec["info"]["title"])
    assert "/events" in browser.evaluate(text_of("#swagger-ui"))
    browser.screenshot(screenshots / "docs-page.png")
    assert outside(browser.requested_urls(), served.base_url) == []
    assert browser.errors() == []
