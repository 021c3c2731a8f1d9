"""Stopping the server processes the tests start (redis-server, nginx, gunicorn)."""

from __future__ import annotations

import subprocess


def stop(process: subprocess.Popen[bytes] | None) -> None:
    """SIGTERM ``process``, then SIGKILL after 5 s; nothing for None or one that ended."""
    if process is not None and process.poll() is None:
        process.terminate()
        try:
            process.wait(5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)
