"""A real redis-server for the shared-cache tests, and the worker process that uses it.

:class:`RedisServer` runs ``redis-server`` on a free loopback port in a temporary directory
(no persistence), waits until it answers PING, and stops it on request. The ``redis_server``
fixture shares one such server per test session; tests that need a server they can stop
start their own. Tests that need Redis are skipped only when ``redis-server`` is not on PATH.

:func:`validate_worker` is the body of a worker process (multiprocessing, spawn context):
it sets Django up with the shared Redis cache and validates tokens through
:func:`django_jwt_at.validation.validate_access_token` on its own fake clock.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from typing import Any

import pytest

from .processes import stop as stop_process

REDIS_SERVER = shutil.which("redis-server")
needs_redis = pytest.mark.skipif(REDIS_SERVER is None, reason="redis-server is not on PATH (CI installs it)")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def ping(port: int, timeout: float = 0.2) -> bool:
    """True when a Redis server answers PING on 127.0.0.1:port."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
            s.sendall(b"PING\r\n")
            return s.recv(16).startswith(b"+PONG")
    except OSError:
        return False


class RedisServer:
    """One redis-server subprocess on 127.0.0.1 (no RDB, no AOF, in a temporary directory)."""

    def __init__(self) -> None:
        assert REDIS_SERVER is not None
        self.directory = tempfile.TemporaryDirectory(prefix="jwt-at-redis-")
        self.process: subprocess.Popen[bytes] | None = None
        self.port = 0
        for _ in range(5):  # another process may take the free port before redis binds it
            self.port = _free_port()
            self.process = subprocess.Popen(
                [
                    REDIS_SERVER,
                    *("--port", str(self.port), "--bind", "127.0.0.1", "--dir", self.directory.name),
                    *("--save", "", "--appendonly", "no", "--daemonize", "no"),
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and self.process.poll() is None and not ping(self.port):
                time.sleep(0.02)
            if self.process.poll() is None and ping(self.port):
                return
            self.stop()
        raise RuntimeError("redis-server did not start")

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def cache_settings(self) -> dict[str, Any]:
        """A CACHES entry for Django's built-in Redis backend on this server."""
        return {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": self.url}

    def flush(self) -> None:
        with socket.create_connection(("127.0.0.1", self.port), timeout=2) as s:
            s.sendall(b"FLUSHALL\r\n")
            assert s.recv(16).startswith(b"+OK")

    def stop(self) -> None:
        """Stop the server (SIGTERM, then SIGKILL); idempotent."""
        process, self.process = self.process, None
        stop_process(process)

    def close(self) -> None:
        self.stop()
        self.directory.cleanup()


_session: RedisServer | None = None
_users = 0


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    """The session's Redis server (one for every module importing this fixture)."""
    global _session, _users
    if REDIS_SERVER is None:
        pytest.skip("redis-server is not on PATH (CI installs it)")
    if _session is None:
        _session = RedisServer()
    _users += 1
    try:
        yield _session
    finally:
        _users -= 1
        if _users == 0:
            _session.close()
            _session = None


def validate_worker(
    django_settings: dict[str, Any],
    tokens: list[str],
    start: float,
    step: float,
    barrier: Any,
    results: Any,
) -> None:
    """Worker process: validate ``tokens`` at start, start + step, ... after ``barrier``.

    Puts ``(pid, [outcome, ...])`` on ``results``; an outcome is "ok" or the exception's
    class name.
    """
    import os

    import django
    from django.conf import settings

    settings.configure(**django_settings)
    django.setup()

    import django_jwt_at.clock
    from django_jwt_at.conf import get_config
    from django_jwt_at.jwks import key_sets
    from django_jwt_at.validation import validate_access_token

    now = [start]
    django_jwt_at.clock.now = lambda: now[0]
    config = get_config()
    outcomes: list[str] = []
    barrier.wait(30)
    for i, token in enumerate(tokens):
        now[0] = start + i * step
        try:
            validate_access_token(token, config=config, key_sets=key_sets, now=now[0])
            outcomes.append("ok")
        except Exception as exc:
            outcomes.append(type(exc).__name__)
    results.put((os.getpid(), outcomes))


def run_validate_workers(
    django_settings: dict[str, Any], token_lists: list[list[str]], start: float, step: float
) -> list[tuple[int, list[str]]]:
    """:func:`validate_worker` in one spawned process per token list, released together;
    returns each worker's ``(pid, outcomes)``. Every wait is bounded, and a worker that
    outlives them is killed."""
    import multiprocessing

    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(len(token_lists))
    results = ctx.Queue()
    processes = [
        ctx.Process(target=validate_worker, args=(django_settings, tokens, start, step, barrier, results))
        for tokens in token_lists
    ]
    for process in processes:
        process.start()
    try:
        return [results.get(timeout=90) for _ in processes]
    finally:
        for process in processes:
            process.join(30)
            if process.is_alive():
                process.kill()

