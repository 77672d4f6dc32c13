"""The Django project: settings, the root URLconf and the WSGI entry point around the tasks_api app."""
