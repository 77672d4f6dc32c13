"""The WSGI entry point gunicorn serves (tasks_project.wsgi:application)."""

import os

from django.core.wsgi import get_wsgi_application
from tasks_api.middleware import DrainUnreadBody

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tasks_project.settings")

# Django's WSGIHandler, wrapped so an early answer to a large body reaches the client (see middleware.py).
application = DrainUnreadBody(get_wsgi_application())
