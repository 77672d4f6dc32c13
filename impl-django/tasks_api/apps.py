"""The Django app configuration of tasks_api."""

from django.apps import AppConfig


class TasksApiConfig(AppConfig):
    name = "tasks_api"
    default_auto_field = "django.db.models.BigAutoField"
