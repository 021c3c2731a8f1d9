"""A real TLS-terminating nginx in front of the test project under gunicorn, on loopback.

:class:`Gunicorn` serves ``tests.mtls_proxy_wsgi`` on a free 127.0.0.1 port;
:class:`Nginx` listens with TLS on another one, asks for a client certificate
(``ssl_verify_client optional_no_ca``: RFC 8705 §3 binds the token to the certificate
itself, no CA is needed) and forwards it to gunicorn in the ``Client-Cert`` header, in one
of the two formats of ``JWT_AT_MTLS_CERT_FORMAT``:

* ``pem-urlencoded``: nginx's own ``$ssl_client_escaped_cert``;
* ``rfc9440``: an njs function (Debian's ``libnginx-mod-http-js``) that turns
  ``$ssl_client_raw_cert`` into ``:<base64 DER>:`` (RFC 9440 §2.2); nginx has no variable
  for it.

These are the configurations docs/security.rst shows. Both processes write their logs to
files in their temporary directory, every wait is bounded, and :meth:`stop` terminates
and then kills. Tests using them are skipped only when ``nginx`` is not on PATH (CI
installs it), and the rfc9440 case only when the njs module is not installed.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import pytest

from .processes import stop as stop_process

NGINX = shutil.which("nginx") or next((p for p in ("/usr/sbin/nginx",) if os.access(p, os.X_OK)), None)
NJS_MODULE = Path("/usr/lib/nginx/modules/ngx_http_js_module.so")
needs_nginx = pytest.mark.skipif(NGINX is None, reason="nginx is not installed (CI installs it)")
ROOT = Path(__file__).resolve().parent.parent
START_TIMEOUT = 30.0

# RFC 9440 §2.2 from nginx's PEM: drop the armour and the line breaks, keep the base64 of
# the DER, wrap it in colons (a Structured Field Byte Sequence, RFC 8941 §3.3.5).
NJS_SCRIPT = """\
function rfc9440(r) {
    var pem = r.variables.ssl_client_raw_cert;
    if (!pem) {
        return '';
    }
    return ':' + pem.replace(/-----(BEGIN|END) CERTIFICATE-----/g, '').replace(/\\s+/g, '') + ':';
}

export default { rfc9440 };
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_for_port(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"exited with {process.returncode}:\n{log.read_text(errors='replace')[-4000:]}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"not listening on {port} after {START_TIMEOUT} s:\n{log.read_text(errors='replace')[-4000:]}")


class _Process:
    def __init__(self) -> None:
        self.directory = Path(tempfile.mkdtemp(prefix=f"jwt-at-{type(self).__name__.lower()}-"))
        self.log = self.directory / "log.txt"
        self.process: subprocess.Popen[bytes] | None = None
        self.port = free_port()

    def _start(self, argv: list[str], env: dict[str, str] | None = None) -> None:
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=ROOT
            )
        try:
            _wait_for_port(self.port, self.process, self.log)
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        """Terminate, then kill after 5 s; idempotent. The directory is removed."""
        process, self.process = self.process, None
        stop_process(process)
        shutil.rmtree(self.directory, ignore_errors=True)


class Gunicorn(_Process):
    """gunicorn serving the test project with ``settings`` (JSON-able JWT_AT_* values)."""

    def __init__(self, settings: dict[str, Any]) -> None:
        super().__init__()
        env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "PYTEST_"))}
        env.update(
            DJANGO_SETTINGS_MODULE="tests.mtls_proxy_settings",
            JWT_AT_TEST_SETTINGS=json.dumps(settings),
            PYTHONPATH=str(ROOT),
        )
        self._start(
            [
                *(sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{self.port}"),
                *("--workers", "1", "--timeout", "30", "--graceful-timeout", "2"),
                "tests.mtls_proxy_wsgi:application",
            ],
            env,
        )


class Nginx(_Process):
    """nginx terminating TLS with ``server_cert``/``server_key`` and forwarding the client
    certificate to ``upstream_port`` in ``Client-Cert``, in ``cert_format``."""

    def __init__(self, *, upstream_port: int, server_cert: Path, server_key: Path, cert_format: str) -> None:
        assert NGINX is not None
        super().__init__()
        d = self.directory
        modules = ""
        http_extra = ""
        if cert_format == "rfc9440":
            (d / "client_cert.js").write_text(NJS_SCRIPT, encoding="ascii")
            modules = f"load_module {NJS_MODULE};"
            http_extra = f"js_import cert from {d}/client_cert.js;\n    js_set $client_cert_rfc9440 cert.rfc9440;"
            value = "$client_cert_rfc9440"
        else:
            value = "$ssl_client_escaped_cert"
        (d / "nginx.conf").write_text(
            f"""
{modules}
daemon off;
master_process off;
worker_processes 1;
pid {d}/nginx.pid;
error_log {self.log} warn;
events {{ worker_connections 64; }}
http {{
    access_log off;
    client_body_temp_path {d}/body;
    proxy_temp_path {d}/proxy;
    fastcgi_temp_path {d}/fastcgi;
    uwsgi_temp_path {d}/uwsgi;
    scgi_temp_path {d}/scgi;
    {http_extra}
    server {{
        listen 127.0.0.1:{self.port} ssl;
        ssl_certificate {server_cert};
        ssl_certificate_key {server_key};
        ssl_verify_client optional_no_ca;
        location / {{
            proxy_pass http://127.0.0.1:{upstream_port};
            proxy_read_timeout 30s;
            # Replaces any Client-Cert the client sent; absent without a certificate.
            proxy_set_header Client-Cert {value};
        }}
    }}
}}
""",
            encoding="ascii",
        )
        self._start([NGINX, "-p", str(d), "-c", str(d / "nginx.conf"), "-e", str(self.log)])

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"
