"""A TCP listener on 127.0.0.1 that hands each connection to a thread of its own, the
common part of the test servers that speak raw bytes (tests.raw_server, tests.tls_proxy)."""

from __future__ import annotations

import socket
import threading


class LoopbackListener:
    """Listens on a free loopback port (:attr:`port`) until :meth:`close`; each accepted
    connection goes to :meth:`handle` in a daemon thread."""

    def __init__(self, name: str, backlog: int = 64) -> None:
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(backlog)
        self.port: int = self._sock.getsockname()[1]
        self._closed = threading.Event()
        self._thread = threading.Thread(target=self._accept, name=name, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def close(self) -> None:
        self._closed.set()
        self._sock.close()

    def handle(self, conn: socket.socket) -> None:
        raise NotImplementedError

    def _accept(self) -> None:
        while not self._closed.is_set():
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            threading.Thread(target=self.handle, args=(conn,), daemon=True).start()
