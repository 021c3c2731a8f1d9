"""A loopback HTTP server publishing a test issuer's JWK Set, as an authorization server does."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

JWKS_PATH = "/jwks"


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass  # keep test output clean

    def do_GET(self) -> None:
        if self.path.split("?", 1)[0] != JWKS_PATH:
            self.send_error(404)
            return
        body = json.dumps(self.server.document()).encode("utf-8")
        with self.server.lock:
            self.server.requests += 1
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def __init__(self, document: Callable[[], dict[str, Any]]) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.document = document
        self.lock = threading.Lock()
        self.requests = 0


class JWKSServer:
    """Serves ``document()`` as JSON at ``http://127.0.0.1:<port>/jwks`` from a daemon thread.

    The document is produced anew for every request, so keys added to the issuer are
    published at once. :attr:`requests` counts the JWKS requests served.
    """

    def __init__(self, document: Callable[[], dict[str, Any]]) -> None:
        self._server = _Server(document)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="jwt-at-test-jwks", daemon=True
        )
        self._thread.start()

    @property
    def jwks_uri(self) -> str:
        """The URL of the JWK Set (plain http: django-jwt-at accepts it for loopback hosts)."""
        return f"http://127.0.0.1:{self._server.server_address[1]}{JWKS_PATH}"

    @property
    def requests(self) -> int:
        with self._server.lock:
            return self._server.requests

    def close(self) -> None:
        """Stop serving and release the port."""
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()
