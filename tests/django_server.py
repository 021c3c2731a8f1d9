"""The test project served over real sockets: Django's threaded WSGI server (the one
``runserver`` uses) on a free port of 127.0.0.1, in a daemon thread.

Third-party clients talk to it as to any API. It runs under the test session's
settings, so ``settings`` fixture changes (``override_settings``) apply to its requests.
"""

from __future__ import annotations

import threading
from typing import Any

from django.core.handlers.wsgi import WSGIHandler
from django.core.servers.basehttp import ThreadedWSGIServer, WSGIRequestHandler


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # keep the test output clean
        pass


class DjangoServer:
    """``origin`` is ``http://127.0.0.1:<port>``; :meth:`close` stops it."""

    def __init__(self) -> None:
        self._server = ThreadedWSGIServer(("127.0.0.1", 0), _QuietHandler, allow_reuse_address=False)
        self._server.set_app(WSGIHandler())
        self.origin = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="django-server", daemon=True
        )
        self._thread.start()

    def url(self, path: str) -> str:
        return self.origin + path

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
