"""The handlers: one Blueprint per tag of spec/openapi.yaml, each handler named after its operationId.

One Blueprint per module, as Flask's own tutorial splits an app (auth, blog): each tag's module is whole
on its own (its routes and what only they use), the endpoint names carry the tag (`tasks.get_task`), and
create_app registers BLUEPRINTS. The hooks and error handlers every request needs stay app-wide
(middleware.py, errors.py, routing.py: they must also answer paths that match no Blueprint), so a
Blueprint here adds only routes; none has a url_prefix, because the spec's paths cross tags
(/projects/{id}/tasks is tag tasks).
"""

from __future__ import annotations

from flask import Blueprint

from . import events, operations, pages, projects, tasks, tokens, users

BLUEPRINTS: tuple[Blueprint, ...] = (
    users.bp,
    tokens.bp,
    projects.bp,
    tasks.bp,
    events.bp,
    operations.bp,
    pages.bp,
)
