"""A real HTTP server on 127.0.0.1 for JWKS and discovery documents.

Tests change its routes at run time (status, headers, body, delay, redirects, a slowly
dripping body) and read how often each path was requested. Nothing in ``requests`` is
mocked: the library talks to this server over a socket.
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit


@dataclass
class Route:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds before anything is sent (a hanging endpoint)
    drip: float = 0.0  # seconds between single body bytes (a slowly dripping body)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # keep the test output clean
        pass

    def do_GET(self) -> None:
        app = self.server.app
        path = urlsplit(self.path).path
        route = app.hit(self.command, self.path, path, dict(self.headers))
        if route is None:
            route = Route(404, b'{"error":"not found"}', {"Content-Type": "application/json"})
        if route.delay and app.release.wait(route.delay):
            return  # released at teardown: drop the connection
        try:
            self.send_response(route.status)
            headers = {"Content-Type": "application/json", **route.headers}
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(route.body)))
            self.send_header("Connection", "close")
            self.end_headers()
            if route.drip:
                for i in range(len(route.body)):
                    if app.release.wait(route.drip):
                        return
                    self.wfile.write(route.body[i : i + 1])
                    self.wfile.flush()
            else:
                self.wfile.write(route.body)
        except (BrokenPipeError, ConnectionResetError):
            pass
        self.close_connection = True

    do_POST = do_GET
    do_HEAD = do_GET


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    app: LiveServer


class LiveServer:
    """Threaded HTTP server with mutable routes and per-path request counters."""

    def __init__(self) -> None:
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.app = self
        self.port = self._server.server_address[1]
        self._lock = threading.Lock()
        self.routes: dict[str, Route] = {}
        self.counts: Counter[str] = Counter()
        self.log: list[tuple[float, str, str, dict[str, str]]] = []  # (time, method, raw path, headers)
        self.release = threading.Event()
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="live-server", daemon=True
        )
        self._thread.start()

    # -- addresses -------------------------------------------------------------------------
    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"

    # -- routes ----------------------------------------------------------------------------
    def route(
        self,
        path: str,
        body: Any = b"",
        *,
        status: int = 200,
        headers: dict[str, str] | None = None,
        delay: float = 0.0,
        drip: float = 0.0,
    ) -> None:
        """Serve ``body`` (dict/list -> JSON, str -> UTF-8, bytes as is) at ``path``."""
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
        elif isinstance(body, str):
            body = body.encode("utf-8")
        with self._lock:
            self.routes[path] = Route(status, body, dict(headers or {}), delay, drip)

    def redirect(self, path: str, location: str, status: int = 302) -> None:
        self.route(path, b"", status=status, headers={"Location": location})

    def remove(self, path: str) -> None:
        with self._lock:
            self.routes.pop(path, None)

    def hit(self, method: str, raw_path: str, path: str, headers: dict[str, str]) -> Route | None:
        with self._lock:
            self.counts[path] += 1
            self.log.append((time.monotonic(), method, raw_path, headers))
            return self.routes.get(path)

    # -- observation -----------------------------------------------------------------------
    def count(self, path: str) -> int:
        with self._lock:
            return self.counts[path]

    def total(self) -> int:
        with self._lock:
            return sum(self.counts.values())

    def paths(self) -> list[str]:
        """Requested paths (without query), in order."""
        with self._lock:
            return [urlsplit(raw).path for _, _, raw, _ in self.log]

    def reset(self) -> None:
        """Drop routes and counters; release requests still waiting on a delay."""
        self.release.set()
        with self._lock:
            self.routes.clear()
            self.counts.clear()
            self.log.clear()
        self.release = threading.Event()

    def close(self) -> None:
        self.release.set()
        self._server.shutdown()
        self._server.server_close()
