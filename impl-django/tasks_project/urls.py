"""The root URLconf: the app's routes at the root, and Django's error views in problem+json."""

from django.urls import include, path

urlpatterns = [path("", include("tasks_api.urls"))]

# Django's defaults render HTML pages; every error of this API is application/problem+json.
handler400 = "tasks_api.errors.bad_request"
handler404 = "tasks_api.errors.page_not_found"
handler500 = "tasks_api.errors.server_error"
