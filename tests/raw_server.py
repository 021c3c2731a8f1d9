"""A loopback TCP server that answers every HTTP request with bytes chosen by the test.

Unlike :mod:`tests.live_server` (``http.server``, which only writes well-formed responses),
this server writes whatever it is given: any status line, header names and values with
arbitrary bytes (CR, LF, NUL, non-ASCII), any body, any framing. It reads the request head,
writes the response, then closes its side of the connection, so a client waiting for more
data (a Content-Length larger than the body, an unfinished chunk) sees the end of the
stream at once instead of a timeout.
"""

from __future__ import annotations

import socket
import threading
from urllib.parse import urlsplit

from .loopback import LoopbackListener

MAX_REQUEST_HEAD = 64 * 1024


class RawServer(LoopbackListener):
    """Answers a request for a path in :attr:`routes` with its bytes, any other path with
    :attr:`default`; counts the requests per path."""

    def __init__(self) -> None:
        super().__init__("raw-server")
        self._lock = threading.Lock()
        self.default = b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        self.routes: dict[str, bytes] = {}
        self.requests: list[str] = []  # requested paths, in order
        self.completed = 0  # responses sent in full (the client read them to the end)
        self.start()

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, path: str) -> str:
        return self.origin + path

    def serve(self, response: bytes, *, path: str | None = None) -> None:
        """Answer ``path`` (every path when None) with ``response``, sent as is."""
        with self._lock:
            if path is None:
                self.default = response
            else:
                self.routes[path] = response

    def reset(self) -> None:
        with self._lock:
            self.routes.clear()
            self.requests.clear()
            self.completed = 0
            self.default = b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"

    def count(self, path: str | None = None) -> int:
        with self._lock:
            return len(self.requests) if path is None else self.requests.count(path)

    def handle(self, conn: socket.socket) -> None:
        with conn:
            conn.settimeout(5)
            head = b""
            try:
                while b"\r\n\r\n" not in head and len(head) < MAX_REQUEST_HEAD:
                    chunk = conn.recv(65536)
                    if not chunk:
                        return
                    head += chunk
                target = head.split(b"\r\n", 1)[0].split(b" ")
                path = urlsplit(target[1].decode("latin-1")).path if len(target) > 1 else ""
                with self._lock:
                    self.requests.append(path)
                    response = self.routes.get(path, self.default)
                conn.sendall(response)
                with self._lock:
                    self.completed += 1
                conn.shutdown(socket.SHUT_WR)
                # Wait for the client to close, so our close never resets a connection
                # whose response the client has not read yet.
                while conn.recv(65536):
                    pass
            except OSError:
                pass
