"""Headless Chromium over the DevTools protocol on a pipe: navigate, type, click, evaluate, screenshot."""

from __future__ import annotations

import base64
import contextlib
import fcntl
import json
import os
import select
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

# A closed network and a root user (CI): no sandbox, no GPU, no background traffic, a fresh profile.
FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--hide-scrollbars", "--remote-debugging-pipe",
]  # fmt: skip
TIMEOUT = 15.0


class DevToolsError(RuntimeError):
    """Chromium answered a command with an error, went away, or did not answer in time."""


def chromium() -> str:
    """Debian's chromium (a test tool never downloads a browser of its own)."""
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if found := shutil.which(name):
            return found
    raise DevToolsError("chromium not found: apt-get install -y chromium (or make chromium)")


class Browser:
    """One Chromium process and one page (tab) in it; every DevTools event is kept in `events`."""

    def __init__(self, process: subprocess.Popen[bytes], send_fd: int, receive_fd: int) -> None:
        self.process = process
        self.send_fd = send_fd
        self.receive_fd = receive_fd
        self.buffer = b""
        self.next_id = 0
        self.session: str | None = None
        self.events: list[dict[str, Any]] = []

    # -- the protocol -----------------------------------------------------------------------------

    def command(self, method: str, timeout: float = TIMEOUT, **params: Any) -> dict[str, Any]:
        """Send one command (to the page once one is attached) and wait for its result."""
        self.next_id += 1
        message: dict[str, Any] = {"id": self.next_id, "method": method, "params": params}
        if self.session:
            message["sessionId"] = self.session
        os.write(self.send_fd, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while True:
            reply = self._receive(deadline)
            if reply.get("id") == self.next_id:
                if "error" in reply:
                    raise DevToolsError(f"{method}: {reply['error']}")
                return reply["result"]
            if "method" in reply:
                self.events.append(reply)

    def _receive(self, deadline: float) -> dict[str, Any]:
        # Messages are JSON texts, each ended by a NUL byte.
        while b"\0" not in self.buffer:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not select.select([self.receive_fd], [], [], remaining)[0]:
                raise DevToolsError("chromium did not answer in time")
            chunk = os.read(self.receive_fd, 1 << 20)
            if not chunk:
                raise DevToolsError(f"chromium exited (status {self.process.poll()})")
            self.buffer += chunk
        message, _, self.buffer = self.buffer.partition(b"\0")
        return json.loads(message)

    def open_page(self, width: int = 1280, height: int = 900) -> None:
        """Create a tab, attach to it, and record its network requests, console and exceptions."""
        target = self.command("Target.createTarget", url="about:blank")["targetId"]
        self.session = self.command("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
        for domain in ("Page", "Network", "Runtime"):
            self.command(f"{domain}.enable")
        self.command("Emulation.setDeviceMetricsOverride", width=width, height=height, deviceScaleFactor=1,
                     mobile=False)  # fmt: skip

    # -- what a test does -------------------------------------------------------------------------

    def navigate(self, url: str, timeout: float = TIMEOUT) -> None:
        """Load `url` and wait for its load event."""
        seen = len(self.events)
        self.command("Page.navigate", url=url)
        self.wait(lambda: any(e["method"] == "Page.loadEventFired" for e in self.events[seen:]), timeout, url)

    def evaluate(self, expression: str) -> Any:
        """The value of a JavaScript expression in the page (promises awaited)."""
        result = self.command(
            "Runtime.evaluate", expression=expression, awaitPromise=True, returnByValue=True
        )
        if "exceptionDetails" in result:
            raise DevToolsError(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def wait_for(self, expression: str, timeout: float = TIMEOUT) -> Any:
        """Poll a JavaScript expression until its JSON value is truthy (test `!!element`, not `element`)."""
        found: list[Any] = []

        def truthy() -> bool:
            found[:] = [self.evaluate(expression)]
            return bool(found[0])

        self.wait(truthy, timeout, expression)
        return found[0]

    def wait(self, condition: Callable[[], bool], timeout: float, what: str) -> None:
        """Wait for `condition`, reading DevTools events meanwhile; DevToolsError after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                raise DevToolsError(f"timed out after {timeout:.0f} s waiting for: {what}")
            self._drain(0.1)

    def _drain(self, seconds: float) -> None:
        with contextlib.suppress(DevToolsError):
            while True:
                message = self._receive(time.monotonic() + seconds)
                if "method" in message:
                    self.events.append(message)

    def type_into(self, selector: str, text: str) -> None:
        """Focus an input and type `text` into it as a user would (input events included)."""
        self.evaluate(f"document.querySelector({json.dumps(selector)}).focus()")
        self.command("Input.insertText", text=text)

    def click(self, selector: str) -> None:
        """A real mouse click in the middle of the element (which must be visible)."""
        box = self.evaluate(
            f"(() => {{ const r = document.querySelector({json.dumps(selector)}).getBoundingClientRect();"
            " return {x: r.x + r.width / 2, y: r.y + r.height / 2, w: r.width}; })()"
        )
        if not box["w"]:
            raise DevToolsError(f"{selector} is not visible")
        for kind in ("mousePressed", "mouseReleased"):
            self.command("Input.dispatchMouseEvent", type=kind, x=box["x"], y=box["y"], button="left",
                         clickCount=1)  # fmt: skip

    def screenshot(self, png: Path) -> None:
        """A PNG of what the window shows."""
        png.parent.mkdir(parents=True, exist_ok=True)
        data = self.command("Page.captureScreenshot", format="png")["data"]
        png.write_bytes(base64.b64decode(data))

    def requested_urls(self) -> list[str]:
        """Every URL the page asked for so far."""
        self._drain(0.2)
        return [
            e["params"]["request"]["url"] for e in self.events if e["method"] == "Network.requestWillBeSent"
        ]

    def requests_to(self, path: str) -> list[dict[str, Any]]:
        """The requests (url, headers) the page sent to `path`."""
        return [
            e["params"]["request"]
            for e in self.events
            if e["method"] == "Network.requestWillBeSent" and e["params"]["request"]["url"].endswith(path)
        ]

    def errors(self) -> list[str]:
        """Uncaught exceptions and console errors in the page."""
        self._drain(0.2)
        found = []
        for event in self.events:
            params = event.get("params", {})
            if event["method"] == "Runtime.exceptionThrown":
                found.append(json.dumps(params["exceptionDetails"]))
            elif event["method"] == "Runtime.consoleAPICalled" and params["type"] == "error":
                found.append(json.dumps(params["args"]))
        return found


@contextlib.contextmanager
def launch() -> Iterator[Browser]:
    """Start headless Chromium on a fresh profile, with DevTools on fds 3 (commands) and 4 (replies)."""
    to_chrome_read, to_chrome_write = os.pipe()
    from_chrome_read, from_chrome_write = os.pipe()

    def pipes_on_3_and_4() -> None:
        # In the child, before exec: copy both ends out of the way first, so neither overwrites the other.
        inbound = fcntl.fcntl(to_chrome_read, fcntl.F_DUPFD_CLOEXEC, 10)
        outbound = fcntl.fcntl(from_chrome_write, fcntl.F_DUPFD_CLOEXEC, 10)
        os.dup2(inbound, 3)
        os.dup2(outbound, 4)

    with tempfile.TemporaryDirectory(prefix="browser-test-") as profile:
        process = subprocess.Popen(
            [chromium(), *FLAGS, f"--user-data-dir={profile}", "about:blank"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            close_fds=False, preexec_fn=pipes_on_3_and_4, start_new_session=True,
        )  # fmt: skip
        os.close(to_chrome_read)
        os.close(from_chrome_write)
        browser = Browser(process, to_chrome_write, from_chrome_read)
        try:
            browser.command("Browser.getVersion")  # Chromium is up and speaking the protocol
            yield browser
        finally:
            with contextlib.suppress(DevToolsError, OSError):
                browser.session = None
                browser.command("Browser.close", timeout=5.0)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, 9)
                process.wait()
            os.close(to_chrome_write)
            os.close(from_chrome_read)
