"""Builds the WSGI application: the route table, the core that answers every request, the middleware."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterable
from wsgiref.types import StartResponse, WSGIApplication, WSGIEnvironment

from sqlalchemy.exc import SQLAlchemyError

from tasks_api import framing
from tasks_api.config import Settings
from tasks_api.db import Database, unavailable_reason
from tasks_api.errors import ApiError, unavailable
from tasks_api.http import DATABASE_KEY, REQUEST_ID_KEY, SETTINGS_KEY, WAKEUPS_KEY, Request, Response
from tasks_api.middleware import access_log, cors, request_id
from tasks_api.routing import Router
from tasks_api.views import events, operations, pages, projects, tasks, tokens, users
from tasks_api.wakeups import Wakeups

log = logging.getLogger(__name__)


# concordance: routing
def build_router() -> Router:
    """Every path of openapi.yaml and its handler per method (in views/<tag>.py): the API at a glance."""
    router = Router()
    router.add("/users", POST=users.create_user)
    router.add("/users/me", GET=users.get_current_user, DELETE=users.delete_current_user)
    router.add("/tokens", POST=tokens.create_token)
    router.add("/tokens/current", DELETE=tokens.revoke_token)
    router.add("/projects", GET=projects.list_projects, POST=projects.create_project)
    router.add(
        "/projects/{project_id}",
        GET=projects.get_project,
        PATCH=projects.update_project,
        DELETE=projects.delete_project,
    )
    router.add("/projects/{project_id}/tasks", GET=tasks.list_tasks, POST=tasks.create_task)
    router.add(
        "/tasks/{task_id}",
        GET=tasks.get_task,
        PUT=tasks.replace_task,
        PATCH=tasks.update_task,
        DELETE=tasks.delete_task,
    )
    router.add("/events", GET=events.stream_events)
    router.add("/", GET=pages.get_home)
    router.add("/docs", GET=pages.get_docs)
    router.add("/static/{name}", GET=pages.get_static_file, patterns={"name": pages.STATIC_NAME})
    router.add("/healthz", GET=operations.get_health)
    router.add("/readyz", GET=operations.get_readiness)
    router.add("/openapi.yaml", GET=operations.get_openapi)
    return router


# end concordance


class TasksApp:
    """The innermost WSGI application: whatever happens, one complete response; errors as problem+json."""

    def __init__(self, router: Router, settings: Settings, database: Database, wakeups: Wakeups) -> None:
        self.router = router
        self.settings = settings
        self.database = database
        self.wakeups = wakeups

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        environ[SETTINGS_KEY] = self.settings
        environ[DATABASE_KEY] = self.database
        environ[WAKEUPS_KEY] = self.wakeups
        request = Request(environ)
        response = self.respond(request)
        framing.must_close(environ, response.status)
        if request.method == "HEAD":
            # The GET response minus its body: same status and headers, Content-Length included. A
            # stream is dropped before its first step, so HEAD /events answers at once and runs nothing.
            if response.stream is not None:
                response.stream.close()
            response = dataclasses.replace(response, body=b"", stream=None)
        start_response(response.status_line, response.headers)
        # A stream goes to the server as it is: the server pulls each block and writes it out at once,
        # and calls close() at the end, also when a write fails because the client has gone.
        return response.stream if response.stream is not None else [response.body]

    # concordance: problem-details
    def respond(self, request: Request) -> Response:
        try:
            framing.check_request(request.environ)
            return self.router.dispatch(request)
        except ApiError as error:
            return Response.problem(error)
        except SQLAlchemyError as error:
            if (reason := unavailable_reason(error)) is not None:
                return self.unavailable(request, reason)
            return self.bug(request)
        except Exception:
            return self.bug(request)

    def bug(self, request: Request) -> Response:
        # A bug: the traceback goes to the error log under the request id, never to the client.
        log.exception("unhandled error, request_id=%s", request.environ.get(REQUEST_ID_KEY))
        return Response.problem(ApiError("internal-error", "The server failed; this is a bug."))

    # end concordance

    # concordance: bad-weather
    def unavailable(self, request: Request, reason: str) -> Response:
        """Bad weather, not a bug: 503 with Retry-After, one log line naming the error, no traceback.

        The transaction has rolled back (the `with` block of db.py ended with the exception).
        """
        log.warning("database unavailable: %s, request_id=%s", reason, request.environ.get(REQUEST_ID_KEY))
        return Response.problem(unavailable("The database is unavailable; nothing changed. Retry shortly."))

    # end concordance


def create_app(
    settings: Settings | None = None, database: Database | None = None, wakeups: Wakeups | None = None
) -> WSGIApplication:
    """The application with its middleware, outermost first: request id, access log, CORS."""
    settings = settings or Settings.from_env()
    database = database or Database(settings.database_url, settings.database_timeout_seconds)
    core = TasksApp(build_router(), settings, database, wakeups or Wakeups(settings.redis_url))
    return request_id(access_log(cors(core, settings.cors_allow_origins)))


# What gunicorn serves (`tasks_api.app:application`). The engine and the Redis client connect lazily:
# importing this module opens no connection, and each gunicorn worker imports it after the fork.
application = create_app()
