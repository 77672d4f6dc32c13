"""Builds the ASGI application `app`: FastAPI with the spec's routing, errors and middleware."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio.to_thread
from fastapi import FastAPI

from tasks_api.config import get_settings
from tasks_api.db import get_engine
from tasks_api.errors import install_exception_handlers
from tasks_api.middleware import CorsMiddleware, RequestContextMiddleware, configure_logging
from tasks_api.routes import routers
from tasks_api.routing import RouteTable


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Size the threadpool that runs the sync endpoints; close the pool's connections at shutdown."""
    # anyio's default is 40 threads; the SQLAlchemy pool is sized from the same setting (db.py).
    anyio.to_thread.current_default_thread_limiter().total_tokens = get_settings().threadpool_size
    yield
    get_engine().dispose()


def create_app() -> FastAPI:
    """The application. The schema is applied by the server before it serves (gunicorn.conf.py)."""
    configure_logging()
    app = FastAPI(
        title="Tasks API",
        # spec/openapi.yaml is the contract, served as written by get_openapi: no generated schema or docs.
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
    # The last added runs first: CORS headers go on every response, the 500 of RequestContext included.
    app.add_middleware(RequestContextMiddleware)
    app.add_middleware(CorsMiddleware, origins=get_settings().cors_allow_origins)
    return app


app = create_app()
