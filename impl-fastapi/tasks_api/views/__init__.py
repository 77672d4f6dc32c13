"""The handlers, one APIRouter per tag of spec/openapi.yaml; each handler is named after its operationId."""

from __future__ import annotations

from fastapi import APIRouter

from tasks_api.views import events, operations, pages, projects, tasks, tokens, users


def routers() -> list[APIRouter]:
    """Every router of the API (full paths, no prefixes: each reads as in spec/openapi.yaml)."""
    return [
        users.router,
        tokens.router,
        projects.router,
        tasks.router,
        events.router,
        pages.router,
        operations.router,
    ]
