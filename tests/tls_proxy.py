"""Remote-looking https hosts served from 127.0.0.1, without touching the network.

:class:`TLSProxy` is an HTTPS forward proxy (HTTP CONNECT, as requests uses for
``https_proxy``) that terminates TLS itself, with a certificate for the requested host
issued by a throwaway CA, and relays each request over plain HTTP to a
:class:`tests.live_server.LiveServer`. With ``https_proxy`` pointing at it and
``REQUESTS_CA_BUNDLE`` at its CA, ``https://as.example.com/...`` reaches the live server
through real TLS with certificate verification on, and no name is ever resolved but
127.0.0.1.
"""

from __future__ import annotations

import datetime
import socket
import ssl
import threading
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from .loopback import LoopbackListener

MAX_HEAD = 64 * 1024


def _read_head(sock: socket.socket | ssl.SSLSocket) -> bytes:
    head = b""
    while b"\r\n\r\n" not in head and len(head) < MAX_HEAD:
        chunk = sock.recv(65536)
        if not chunk:
            break
        head += chunk
    return head


def _certificates(directory: Path, hosts: list[str]) -> tuple[Path, Path, Path]:
    """A CA and a leaf certificate for ``hosts`` signed by it: (ca.pem, leaf.pem, leaf.key)."""
    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "django-jwt-at test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    leaf_key = ec.generate_private_key(ec.SECP256R1())
    leaf = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hosts[0])]))
        .issuer_name(ca_name)
        .public_key(leaf_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(h) for h in hosts]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    ca_pem, leaf_pem, leaf_key_pem = directory / "ca.pem", directory / "leaf.pem", directory / "leaf.key"
    ca_pem.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    leaf_pem.write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
    leaf_key_pem.write_bytes(
        leaf_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return ca_pem, leaf_pem, leaf_key_pem


class TLSProxy(LoopbackListener):
    """CONNECT proxy on 127.0.0.1 terminating TLS for ``hosts`` and relaying to ``upstream_port``."""

    def __init__(self, directory: Path, hosts: list[str], upstream_port: int) -> None:
        self.ca_file, leaf, key = _certificates(directory, hosts)
        self._context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self._context.load_cert_chain(leaf, key)
        self.upstream_port = upstream_port
        self.connects: list[str] = []  # the authority of each CONNECT, in order
        self._lock = threading.Lock()
        super().__init__("tls-proxy", backlog=16)
        self.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def handle(self, conn: socket.socket) -> None:
        conn.settimeout(5)
        try:
            request_line = _read_head(conn).split(b"\r\n", 1)[0].split(b" ")
            if len(request_line) < 2 or request_line[0] != b"CONNECT":
                conn.sendall(b"HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n")
                return
            with self._lock:
                self.connects.append(request_line[1].decode("latin-1"))
            conn.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
            with self._context.wrap_socket(conn, server_side=True) as tls:
                head = _read_head(tls)
                with socket.create_connection(("127.0.0.1", self.upstream_port), timeout=5) as upstream:
                    upstream.sendall(head)
                    # The live server answers with Connection: close and closes: relay to EOF.
                    while chunk := upstream.recv(65536):
                        tls.sendall(chunk)
        except (OSError, ssl.SSLError):
            pass
        finally:
            conn.close()
