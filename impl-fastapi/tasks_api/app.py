"""Builds the ASGI application `app`: FastAPI with the spec's routing, errors and middleware."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio.to_thread
from fastapi import FastAPI

from tasks_api.accesslog import configure_logging, flush_access_log
from tasks_api.config import get_settings
from tasks_api.db import get_engine
from tasks_api.errors import install_exception_handlers
from tasks_api.middleware import CorsMiddleware, FramingMiddleware, RequestContextMiddleware
from tasks_api.routing import RouteTable
from tasks_api.security import check_token
from tasks_api.views import routers
from tasks_api.wakeups import Wakeups


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Size the threadpool that runs the sync endpoints; start the live events' Redis wake-ups (one
    subscription per worker process); at shutdown stop them and close the pool's connections."""
    settings = get_settings()
    # anyio's default is 40 threads; the SQLAlchemy pool is sized from the same setting (db.py).
    anyio.to_thread.current_default_thread_limiter().total_tokens = settings.threadpool_size
    app.state.wakeups.start()  # in the worker's event loop, after gunicorn forked it
    yield
    await app.state.wakeups.stop()
    get_engine().dispose()
    flush_access_log()  # the worker is exiting: every queued access line is written first


def create_app() -> FastAPI:
    """The application. The schema is applied by the server before it serves (gunicorn.conf.py)."""
    configure_logging()
    app = FastAPI(
        title="Tasks API",
        # spec/openapi.yaml is the contract, served as written by get_openapi: no generated schema or
        # docs; /docs is the repository's web/docs.html (views/pages.py), the same page in every port.
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
        # A trailing-slash variant is an unknown path (404), never a redirect.
        redirect_slashes=False,
        lifespan=lifespan,
    )
    install_exception_handlers(app)
    table = RouteTable(routers())
    for router in routers():
        app.include_router(router)
    app.include_router(table.options_router())
    app.state.route_table = table
    app.state.check_token = check_token  # errors.token_first: 401 before an answer decided early
    app.state.wakeups = Wakeups(get_settings().redis_url)  # live events: what wakes the streams
    # The last added runs first: CORS headers go on every response, the 500 of RequestContext included;
    # framing answers (400 Host, 501) carry the request id and are logged.
    app.add_middleware(FramingMiddleware)
    app.add_middleware(RequestContextMiddleware)
    app.add_middleware(CorsMiddleware, origins=get_settings().cors_allow_origins)
    return app


app = create_app()
