"""X.509 certificates for the mutual-TLS tests, made with ``cryptography`` directly, and the
header values a TLS-terminating proxy forwards them in.

Thumbprints are computed here with ``Certificate.fingerprint`` (not by the library under
test), and the two header encodings are written from their definitions: RFC 9440 §2.2
(a Structured Field Byte Sequence of the DER) and nginx's ``$ssl_client_escaped_cert``
(the PEM, percent-encoded except for RFC 3986 unreserved characters).
"""

from __future__ import annotations

import base64
import datetime
import ipaddress
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

_START = datetime.datetime(2020, 1, 1, tzinfo=datetime.timezone.utc)
_END = datetime.datetime(2099, 1, 1, tzinfo=datetime.timezone.utc)


@dataclass(frozen=True)
class Cert:
    """A certificate with its private key."""

    key: ec.EllipticCurvePrivateKey
    certificate: x509.Certificate

    @property
    def der(self) -> bytes:
        return self.certificate.public_bytes(serialization.Encoding.DER)

    @property
    def pem(self) -> str:
        return self.certificate.public_bytes(serialization.Encoding.PEM).decode("ascii")

    @property
    def thumbprint(self) -> str:
        """RFC 8705 §3.1 ``x5t#S256``: base64url, unpadded, of the SHA-256 of the DER."""
        digest = self.certificate.fingerprint(hashes.SHA256())
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")

    def rfc9440(self) -> str:
        """The RFC 9440 ``Client-Cert`` value: ``:`` base64 (with padding) of the DER ``:``."""
        return ":" + base64.b64encode(self.der).decode("ascii") + ":"

    def pem_urlencoded(self) -> str:
        """The PEM as nginx's ``$ssl_client_escaped_cert`` forwards it."""
        return quote(self.pem, safe="-._~")

    def header(self, cert_format: str) -> str:
        return self.rfc9440() if cert_format == "rfc9440" else self.pem_urlencoded()

    def write(self, directory: Path, name: str) -> tuple[Path, Path]:
        """Write ``<name>.crt`` (PEM) and ``<name>.key`` (PKCS #8 PEM); return their paths."""
        cert_path, key_path = directory / f"{name}.crt", directory / f"{name}.key"
        cert_path.write_text(self.pem, encoding="ascii")
        key_path.write_bytes(
            self.key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        )
        return cert_path, key_path


def make_cert(common_name: str, *, server_ip: str | None = None) -> Cert:
    """A self-signed P-256 certificate: a TLS client certificate (RFC 8705 §2.2 allows
    self-signed ones), or with ``server_ip`` a server certificate for that IP address."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(_START)
        .not_valid_after(_END)
    )
    if server_ip is not None:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(server_ip))]), critical=False
        ).add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
    else:
        builder = builder.add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
    return Cert(key, builder.sign(key, hashes.SHA256()))
