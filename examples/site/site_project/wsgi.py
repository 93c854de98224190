"""WSGI entry point for the example site."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "site_project.settings")

application = get_wsgi_application()
