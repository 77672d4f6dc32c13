"""The ASGI floor with one threadpool hop (uvicorn, as a FastAPI `def` endpoint runs): the sync driver."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import floor_core as core

Receive = Callable[[], Awaitable[dict]]
Send = Callable[[dict], Awaitable]


async def request_of(scope: dict, receive: Receive) -> tuple[str, str, str, str | None, str | None, bytes]:
    """(method, path, query, Authorization, If-None-Match, body) of an HTTP request."""
    authorization = inm = None
    for name, value in scope["headers"]:
        if name == b"authorization":
            authorization = value.decode("latin-1")
        elif name == b"if-none-match":
            inm = value.decode("latin-1")
    body = b""
    if scope["method"] == "POST":
        more = True
        while more:
            message = await receive()
            body += message.get("body", b"")
            more = message.get("more_body", False)
    query = scope["query_string"].decode("latin-1")
    return scope["method"], scope["path"], query, authorization, inm, body


async def answer(send: Send, result: core.Answer) -> None:
    status, headers, body = result
    raw = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})


async def app(scope: dict, receive: Receive, send: Send) -> None:
    """All the request's work in one hop to anyio's threadpool, as Starlette runs a `def` endpoint."""
    if scope["type"] != "http":
        return
    from anyio import to_thread

    import floor_sync

    request = await request_of(scope, receive)
    await answer(send, await to_thread.run_sync(floor_sync.handle, *request))
