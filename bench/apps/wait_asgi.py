"""An ASGI app that waits 50 ms: /async awaits asyncio.sleep, /blocking calls time.sleep (the mistake)."""

import asyncio
import time
from collections.abc import Awaitable, Callable

WAIT_SECONDS = 0.05
BODY = b'{"waited":true}'
HEADERS = [(b"content-type", b"application/json"), (b"content-length", str(len(BODY)).encode())]


async def app(scope: dict, receive: Callable[[], Awaitable[dict]], send: Callable[[dict], Awaitable]) -> None:
    """Wait the right way (the loop serves others meanwhile) or the wrong way (the loop stops)."""
    if scope["type"] != "http":
        return
    if scope["path"] == "/blocking":
        time.sleep(WAIT_SECONDS)  # blocks the event loop: every other connection of this worker waits too
    else:
        await asyncio.sleep(WAIT_SECONDS)
    await send({"type": "http.response.start", "status": 200, "headers": HEADERS})
    await send({"type": "http.response.body", "body": BODY})
