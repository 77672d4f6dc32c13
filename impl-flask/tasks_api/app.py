"""The application factory; gunicorn calls it once per worker: tasks_api.app:create_app()."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask, Request, Response
from flask.sessions import SessionInterface

from . import db, middleware, routing, security, wakeups
from .body import MAX_BODY_BYTES, ApiRequest, StrictJSONProvider
from .config import from_env, parse_origins
from .errors import register_error_handlers
from .views import BLUEPRINTS


class NoCookieSession(SessionInterface):
    """The API is stateless (bearer tokens): no cookie session is ever opened. Flask's default would build a
    signing serializer from SECRET_KEY (which holds the cursors' key here) for every request."""

    def open_session(self, app: Flask, request: Request) -> None:
        """None: Flask then uses a null session, and saves nothing."""
        return None

    def save_session(self, app: Flask, session: Any, response: Response) -> None:
        """Never called for a null session."""


class TasksFlask(Flask):
    """Flask with the strict request class and JSON provider, no cookie session, and the spec's OPTIONS."""

    request_class = ApiRequest
    json_provider_class = StrictJSONProvider
    session_interface = NoCookieSession()

    def make_default_options_response(self) -> Response:
        """204 with Allow in canonical order (routing.options_response), not Flask's 200 text/html."""
        return routing.options_response()


def create_app(test_config: Mapping[str, Any] | None = None) -> TasksFlask:
    """Build the app from the environment, overridden by test_config when given."""
    # static_folder=None: Flask would add its own /static/<path:filename> route (any path, any type, from
    # the package's static/); the spec's /static/<name> (views.pages.get_static_file) is the only one here.
    app = TasksFlask(__name__, static_folder=None)
    app.config.update(from_env())
    # 413 comes from Werkzeug when a body passes 1 MiB (declared or streamed); Flask's default is no limit.
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES
    if test_config:
        app.config.update(test_config)
    if isinstance(app.config["CORS_ALLOW_ORIGINS"], str):
        app.config["CORS_ALLOW_ORIGINS"] = parse_origins(app.config["CORS_ALLOW_ORIGINS"])
    app.config["SPEC_DIR"] = Path(app.config["SPEC_DIR"])
    app.config["WEB_DIR"] = Path(app.config["WEB_DIR"])

    routing.init_app(app)  # before any rule is added: the converters and slash rules apply to them
    db.init_app(app)
    wakeups.init_app(app)  # after db: it hooks the publish onto the session factories
    security.init_app(app)
    middleware.init_app(app)
    # After the request id and framing hooks, so the 404 carries the id like any other answer.
    app.before_request(routing.refuse_empty_leading_segment)
    register_error_handlers(app)
    for blueprint in BLUEPRINTS:
        app.register_blueprint(blueprint)
    return app
