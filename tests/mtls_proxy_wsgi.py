"""WSGI application of the test project for gunicorn (tests/nginx_server.py)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.mtls_proxy_settings")
application = get_wsgi_application()
