"""The route table: one path per resource, ids through a converter that matches 1..2^53-1 only."""

from django.urls import path, register_converter

from . import events, pages, views
from .routing import resource
from .schemas import MAX_ID


class IdConverter:
    """A decimal id without sign or leading zeros, 1 to 2^53-1; anything else matches no route (404)."""

    regex = "[1-9][0-9]{0,15}"

    def to_python(self, value: str) -> int:
        number = int(value)
        if number > MAX_ID:
            raise ValueError(value)  # Django reads ValueError as "this pattern does not match"
        return number

    def to_url(self, value: int) -> str:
        return str(value)


register_converter(IdConverter, "id")


class StaticNameConverter:
    """A file name of web/static/: no "/", no leading dot, at most 128 characters; anything else matches
    no route at all (404 for every method, OPTIONS included), like a malformed id."""

    regex = "[A-Za-z0-9][A-Za-z0-9._-]{0,127}"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


register_converter(StaticNameConverter, "static_name")

# No trailing slashes anywhere, and APPEND_SLASH is off: "/projects/" is an unknown path, never a redirect.
# concordance: routing
urlpatterns = [
    path("users", resource(post=views.create_user)),
    path("users/me", resource(get=views.get_current_user, delete=views.delete_current_user)),
    path("tokens", resource(post=views.create_token)),
    path("tokens/current", resource(delete=views.revoke_token)),
    path("projects", resource(get=views.list_projects, post=views.create_project)),
    path(
        "projects/<id:project_id>",
        resource(get=views.get_project, patch=views.update_project, delete=views.delete_project),
    ),
    path("projects/<id:project_id>/tasks", resource(get=views.list_tasks, post=views.create_task)),
    path(
        "tasks/<id:task_id>",
        resource(
            get=views.get_task, put=views.replace_task, patch=views.update_task, delete=views.delete_task
        ),
    ),
    path("events", resource(get=events.stream_events)),
    path("healthz", resource(get=views.get_health)),
    path("readyz", resource(get=views.get_readiness)),
    path("openapi.yaml", resource(get=views.get_openapi)),
    path("", resource(get=pages.get_home)),
    path("docs", resource(get=pages.get_docs)),
    # <static_name:...> matches no "/" and no leading dot: a name can only reach a file in web/static/.
    path("static/<static_name:name>", resource(get=pages.get_static_file)),
]
# end concordance
