"""The WSGI callable under the name every port uses (tasks_api.app:application), built in wsgi.py."""

from tasks_project.wsgi import application

__all__ = ["application"]
