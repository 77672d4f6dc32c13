"""Django's URLconf of the app: the route table, one path per resource, each method to its views.* handler."""

from django.urls import path, register_converter

from .routing import IdConverter, StaticNameConverter, resource
from .views import events, operations, pages, projects, tasks, tokens, users

register_converter(IdConverter, "id")
register_converter(StaticNameConverter, "static_name")

# No trailing slashes anywhere, and APPEND_SLASH is off: "/projects/" is an unknown path, never a redirect.
# concordance: routing
urlpatterns = [
    path("users", resource(post=users.create_user)),
    path("users/me", resource(get=users.get_current_user, delete=users.delete_current_user)),
    path("tokens", resource(post=tokens.create_token)),
    path("tokens/current", resource(delete=tokens.revoke_token)),
    path("projects", resource(get=projects.list_projects, post=projects.create_project)),
    path(
        "projects/<id:project_id>",
        resource(get=projects.get_project, patch=projects.update_project, delete=projects.delete_project),
    ),
    path("projects/<id:project_id>/tasks", resource(get=tasks.list_tasks, post=tasks.create_task)),
    path(
        "tasks/<id:task_id>",
        resource(
            get=tasks.get_task, put=tasks.replace_task, patch=tasks.update_task, delete=tasks.delete_task
        ),
    ),
    path("events", resource(get=events.stream_events)),
    path("healthz", resource(get=operations.get_health)),
    path("readyz", resource(get=operations.get_readiness)),
    path("openapi.yaml", resource(get=operations.get_openapi)),
    path("", resource(get=pages.get_home)),
    path("docs", resource(get=pages.get_docs)),
    # <static_name:...> matches no "/" and no leading dot: a name can only reach a file in web/static/.
    path("static/<static_name:name>", resource(get=pages.get_static_file)),
]
# end concordance
