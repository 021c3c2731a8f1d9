"""End to end through real servers on loopback: gunicorn (WSGI) and uvicorn (ASGI).

One server at a time serves ``bench/server_app.py`` on 127.0.0.1 (one worker process);
a load client in this process keeps ``BENCH_SERVER_CLIENTS`` (default 32) HTTP/1.1
keep-alive connections busy, each sending its next GET as soon as the previous answer is
read, until a batch of ``BENCH_SERVER_BATCH`` requests is done. Rows of one server are
interleaved as in the other scripts: each repeat runs one batch of every row in turn (the
order rotates). Every answer must be a 200 (checked on every response).

- gunicorn, its default ``sync`` worker (one request at a time, a connection per
  request, as behind a proxy): a DRF view without authentication (``AllowAny``), and the
  same view behind ``JWTAccessTokenAuthentication`` with the same valid token on every
  request (a verified-token cache hit);
- uvicorn (its defaults: uvloop and httptools when installed): a plain ``async def`` view
  without authentication, the same view behind ``@access_token_required``, the same
  valid token on every request, and (for comparison) the same view running the same
  authentication through ``sync_to_async`` in Django's one thread for sync code.

Both rows of a server get the same request, ``Authorization`` header included, so their
difference is the authentication alone.

``x open`` is the **median of the per-repeat throughput ratios** of the row and the
unauthenticated row of the same server (both measured within one repeat), so slow drift
of the machine cancels out.

The load client takes CPU too: on a 2-core machine it shares the cores with the server,
which lowers both rows alike.

Run: ``.venv/bin/python bench/servers.py`` (BENCH_SERVER_BATCH, BENCH_SERVER_CLIENTS,
BENCH_SERVERS, BENCH_GUNICORN_WORKER, BENCH_REPEATS, BENCH_WARMUP).
"""

from __future__ import annotations

import asyncio
import gc
import json
import os
import socket
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from _common import (
    REPEATS,
    SUBJECT,
    WARMUP,
    JWKSServer,
    env_int,
    fmt_ratio,
    mint_pool,
    new_signer,
    print_versions,
    record,
    record_settings,
    table,
    tampered,
    target,
    write_results,
)

BATCH = env_int("BENCH_SERVER_BATCH", 1000)
#: Which servers to run (a quick look at one of them).
SERVERS = os.environ.get("BENCH_SERVERS", "gunicorn,uvicorn").split(",")
CLIENTS = env_int("BENCH_SERVER_CLIENTS", 32)
HERE = Path(__file__).resolve().parent
#: gunicorn's worker options (a quick look at another worker class).
GUNICORN_WORKER = os.environ.get("BENCH_GUNICORN_WORKER", "--worker-class sync --backlog 2048").split()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class LoadClient:
    """CLIENTS connections to 127.0.0.1:port, driven by one event loop. A connection is
    opened right before the request it carries and kept while the server keeps it: an
    idle open connection would block a worker that serves one connection at a time."""

    def __init__(self, port: int) -> None:
        self.loop = asyncio.new_event_loop()
        self.port = port
        self.connections: list[tuple[asyncio.StreamReader, asyncio.StreamWriter] | None] = [None] * CLIENTS

    @staticmethod
    def request(path: str, token: str | None) -> bytes:
        lines = [f"GET {path} HTTP/1.1", "Host: 127.0.0.1", "Accept: application/json"]
        if token is not None:
            lines.append(f"Authorization: Bearer {token}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode("ascii")

    async def _exchange(self, index: int, request: bytes) -> tuple[int, bytes]:
        """One request on connection ``index``; a connection the server closes after its
        answer (``Connection: close``, as gunicorn's sync worker does) is opened anew."""
        connection = self.connections[index]
        if connection is None:
            connection = self.connections[index] = await asyncio.open_connection("127.0.0.1", self.port)
        reader, writer = connection
        writer.write(request)
        head = await reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        lower = head.lower()
        if b"\r\nconnection: close\r\n" in lower:
            self.connections[index] = None  # closed once the body is read
        start = lower.find(b"\r\ncontent-length:")
        if start >= 0:
            end = lower.index(b"\r\n", start + 2)
            body = await reader.readexactly(int(lower[start + 17 : end]))
            if self.connections[index] is None:
                writer.close()
            return status, body
        if b"\r\ntransfer-encoding: chunked\r\n" not in lower:
            raise SystemExit(f"setup error: an answer of unknown length: {head[:200]!r}")
        chunks = bytearray()
        while True:  # RFC 9112 §7.1, no trailers
            size = int((await reader.readuntil(b"\r\n")).split(b";", 1)[0], 16)
            chunks += (await reader.readexactly(size + 2))[:size]
            if size == 0:
                if self.connections[index] is None:
                    writer.close()
                return status, bytes(chunks)

    def one(self, request: bytes) -> tuple[int, bytes]:
        return self.loop.run_until_complete(self._exchange(0, request))

    def batch(self, request: bytes, count: int) -> None:
        """``count`` exchanges of ``request`` spread over every connection; all must be 200."""
        remaining = [count]
        failed: list[int] = []

        async def worker(index: int) -> None:
            while remaining[0] > 0:
                remaining[0] -= 1
                status, _ = await self._exchange(index, request)
                if status != 200:
                    failed.append(status)

        async def run() -> None:
            await asyncio.gather(*(worker(i) for i in range(len(self.connections))))

        self.loop.run_until_complete(run())
        if failed:
            raise SystemExit(f"a timed request answered {sorted(set(failed))}")

    def close(self) -> None:
        for connection in self.connections:
            if connection is not None:
                connection[1].close()
        self.loop.close()


@dataclass
class Row:
    name: str
    request: bytes
    samples: list[float] = field(default_factory=list)  # seconds per batch


class Server:
    """A server process on a free loopback port, stopped on exit."""

    def __init__(self, name: str, command: list[str], jwks_uri: str) -> None:
        self.name = name
        self.port = free_port()
        env = {**os.environ, "BENCH_JWKS_URI": jwks_uri}
        argv = [arg.replace("{port}", str(self.port)) for arg in command]
        self.process = subprocess.Popen(argv, cwd=HERE, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def wait_ready(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                error = self.process.stderr.read().decode(errors="replace") if self.process.stderr else ""
                raise SystemExit(f"setup error: {self.name} exited: {error[-2000:]}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.1)
        raise SystemExit(f"setup error: {self.name} did not start")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def check(client: LoadClient, path: str, token: str, user: str) -> None:
    """Before timing: ``path`` answers 200 with ``user`` as the user; a path that
    authenticates (``user`` is the token's) answers 401 without a token and with a bad
    signature."""
    status, body = client.one(LoadClient.request(path, token))
    if status != 200 or json.loads(body).get("user") != user:
        raise SystemExit(f"setup error: {path} answered {status} {body[:200]!r}")
    if user == SUBJECT:
        for bad in (None, tampered(token)):
            status, _ = client.one(LoadClient.request(path, bad))
            if status != 401:
                raise SystemExit(f"setup error: {path} answered {status} without a valid token")


def measure_server(server: Server, rows: list[Row], token: str, checks: dict[str, str]) -> None:
    server.wait_ready()
    client = LoadClient(server.port)
    try:
        for path, user in checks.items():
            check(client, path, token, user)
        for r in range(WARMUP + REPEATS):
            shift = r % len(rows)
            for row in rows[shift:] + rows[:shift]:
                gc.collect()
                gc.disable()
                try:
                    start = time.perf_counter()
                    client.batch(row.request, BATCH)
                    elapsed = time.perf_counter() - start
                finally:
                    gc.enable()
                if r >= WARMUP:
                    row.samples.append(elapsed)
    finally:
        client.close()
        server.stop()


def report(server: str, rows: list[Row]) -> float:
    """Print and record the rows of one server; return the median ratio of the second row
    (ours) to the first (no authentication)."""
    base = rows[0]
    out = []
    ours = 0.0
    for row in rows:
        ratios = [b / s for b, s in zip(base.samples, row.samples, strict=True)]
        ratio = statistics.median(ratios)
        seconds = statistics.median(row.samples)
        rps = BATCH / seconds
        q1, _, q3 = statistics.quantiles(row.samples, n=4) if len(row.samples) > 1 else (seconds, 0, seconds)
        spread = 100 * (q3 - q1) / seconds
        us = 1e6 * seconds / BATCH
        record(server, {"name": row.name, "us": us, "rps": rps, "spread": spread, "x_open": ratio})
        out.append([row.name, f"{us:.1f}", f"{rps:,.0f}", f"{spread:.0f}%", fmt_ratio(ratio)])
        if row is rows[1]:
            ours = ratio
    table(f"{server}, {CLIENTS} concurrent clients", ["row", "µs/req", "req/s", "spread", "x open"], out)
    return ours


def main() -> None:
    print("== bench/servers.py: GET through gunicorn and uvicorn on loopback, requests/s ==")
    print_versions(["gunicorn", "uvicorn", "httptools", "uvloop"])
    record_settings(batch=BATCH, clients=CLIENTS)
    print(
        f"batch {BATCH} requests over {CLIENTS} keep-alive connections; "
        "'x open' = median over repeats of (row req/s / unauthenticated req/s)"
    )
    signer = new_signer("RS256", "rs256-1")
    token, check_token = mint_pool(signer, 2)
    jwks = JWKSServer()
    python = sys.executable
    try:
        jwks_uri = jwks.publish("/jwks", [signer.public_jwk()])
        # The unauthenticated rows get the same request, token included: the difference
        # between two rows of a server is the authentication alone.
        gunicorn_rows = [
            Row("DRF view, no authentication", LoadClient.request("/open", token)),
            Row("DRF view + JWTAccessTokenAuthentication", LoadClient.request("/ours", token)),
        ]
        gunicorn = Server(
            "gunicorn",
            [
                *(python, "-m", "gunicorn", "--bind", "127.0.0.1:{port}", "--workers", "1"),
                *GUNICORN_WORKER,
                *("--log-level", "warning", "server_app:wsgi_application"),
            ],
            jwks_uri,
        )
        if "gunicorn" in SERVERS:
            measure_server(gunicorn, gunicorn_rows, check_token, {"/open": "None", "/ours": SUBJECT})
        else:
            gunicorn.stop()
        uvicorn_rows = [
            Row("async view, no authentication", LoadClient.request("/async-open", token)),
            Row("async view + @access_token_required", LoadClient.request("/async-ours", token)),
            Row(
                "async view + authentication in sync_to_async",
                LoadClient.request("/async-threaded", token),
            ),
        ]
        uvicorn = Server(
            "uvicorn",
            [
                *(python, "-m", "uvicorn", "--host", "127.0.0.1", "--port", "{port}", "--workers", "1"),
                *("--no-access-log", "--log-level", "warning", "--timeout-keep-alive", "300"),
                *("--lifespan", "off", "server_app:asgi_application"),
            ],
            jwks_uri,
        )
        if "uvicorn" in SERVERS:
            measure_server(
                uvicorn,
                uvicorn_rows,
                check_token,
                {"/async-open": "None", "/async-ours": SUBJECT, "/async-threaded": SUBJECT},
            )
        else:
            uvicorn.stop()
    finally:
        jwks.close()

    wsgi = report("gunicorn", gunicorn_rows) if "gunicorn" in SERVERS else None
    asgi = report("uvicorn", uvicorn_rows) if "uvicorn" in SERVERS else None
    print()
    print("Targets:")
    target("gunicorn: repeated token throughput / no authentication", wsgi, 0.95, at_most=False)
    target(f"uvicorn: async view, repeated token / no authentication ({CLIENTS} clients)", asgi, 0.95, at_most=False)
    write_results("servers")


if __name__ == "__main__":
    main()
