"""The application factory; gunicorn calls it once per worker: tasks_api.app:create_app()."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from . import db, middleware, outbox, security
from .config import from_env, parse_origins
from .errors import register_error_handlers
from .http import MAX_BODY_BYTES, IdConverter, StaticNameConverter, TasksFlask, check_framing
from .views import api


def create_app(test_config: Mapping[str, Any] | None = None) -> TasksFlask:
    """Build the app from the environment, overridden by test_config when given."""
    # static_folder=None: Flask would add its own /static/<path:filename> route (any path, any type, from
    # the package's static/); the spec's /static/<name> (views.get_static_file) is the only one here.
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

    # concordance: routing
    # Routing rules the spec fixes, set before any rule is added:
    app.url_map.converters["id"] = IdConverter  # /tasks/007, /tasks/0, /tasks/2**53 match no route (404)
    app.url_map.converters["static_name"] = StaticNameConverter  # /static/.hidden matches no route (404)
    app.url_map.strict_slashes = True  # /projects/ is an unknown path (404), never a redirect
    app.url_map.merge_slashes = False  # Werkzeug would redirect /projects//tasks; the spec says 404
    # end concordance

    db.init_app(app)
    outbox.init_app(app)  # after db: it hooks the publish onto the session factories
    security.init_app(app)
    middleware.init_app(app)
    app.before_request(check_framing)  # after the request id is set: a 400 carries it too
    register_error_handlers(app)
    app.register_blueprint(api)
    return app
