"""Certificate-bound access tokens (RFC 8705 §3) behind a TLS-terminating proxy.

Free of any web framework, like :mod:`~django_jwt_at.dpop`: the caller passes the value of
the header in which a trusted proxy forwards the client certificate of the TLS connection
(``JWT_AT_MTLS_CERT_HEADER``), in one of two formats (``JWT_AT_MTLS_CERT_FORMAT``):

* ``"rfc9440"``: the ``Client-Cert`` field of RFC 9440 §2.2, a Structured Field Byte
  Sequence (RFC 8941 §3.3.5) holding the DER certificate, ``:<base64>:``;
* ``"pem-urlencoded"``: the certificate in PEM, percent-encoded, as nginx's
  ``$ssl_client_escaped_cert`` gives it.

Both are parsed strictly, the DER must be an X.509 certificate, and the token's
``cnf`` ``x5t#S256`` must equal its SHA-256 thumbprint (RFC 8705 §3.1). Every failure is
an :class:`~django_jwt_at.errors.InvalidToken` with a fixed description; certificate
content never reaches a response or a log.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
from urllib.parse import unquote_to_bytes

from cryptography import x509

from .conf import Config
from .errors import Description, InvalidToken
from .tokens import AccessToken

#: The longest certificate header read, in characters; checked before anything is decoded.
#: A leaf certificate is 1-2 KB of DER; a URL-encoded PEM of 8 KB of DER stays below this.
MAX_CERT_HEADER_SIZE = 16384

# RFC 8941 §3.3.5 / §4.2.7: ":" base64 ":" and nothing else (RFC 9440 §2.2 defines no
# parameter). Leading and trailing SP are discarded by the parser (RFC 8941 §4.2).
# Padding may be absent: RFC 8941 §4.2.7 says parsers SHOULD NOT fail on that.
_SF_BINARY = re.compile(r" *:([A-Za-z0-9+/]*)(={0,2}): *\Z")
# A percent-encoded PEM: unreserved characters (RFC 3986 §2.3), "%XX" escapes, and the
# base64 characters some proxies leave unescaped. No "%" without two hex digits.
_PEM_ESCAPED = re.compile(r"[A-Za-z0-9._~+/=%-]+\Z")
_BAD_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")
# RFC 7468 §3 strict form: one CERTIFICATE block, base64 lines of at most 64 characters,
# nothing before or after it but one final line break. Checked line by line: linear time.
_EOL = re.compile(rb"\r\n|\r|\n")
_PEM_LINE = re.compile(rb"[A-Za-z0-9+/=]{1,64}\Z")
_PEM_BEGIN = b"-----BEGIN CERTIFICATE-----"
_PEM_END = b"-----END CERTIFICATE-----"


def _unreadable() -> InvalidToken:
    return InvalidToken(Description.MTLS_CERTIFICATE)


def _b64decode(data: bytes) -> bytes:
    """Strict standard base64 (RFC 4648 §4): alphabet, padding where it belongs, no excess
    length. Raises ValueError."""
    try:
        return base64.b64decode(data, validate=True)
    except binascii.Error:
        raise ValueError("not base64") from None


def certificate_from_header(value: str, cert_format: str) -> bytes:
    """The DER of the one X.509 certificate in ``value``, a header in ``cert_format``.

    Raises InvalidToken (``MTLS_CERTIFICATE``) for a value longer than
    :data:`MAX_CERT_HEADER_SIZE`, one that breaks the format's syntax (RFC 8941 §3.3.5 for
    ``rfc9440``; for ``pem-urlencoded`` a bad percent-encoding or anything but exactly one
    ``CERTIFICATE`` block in RFC 7468 §3 strict form), or a DER that is not a certificate.
    """
    if len(value) > MAX_CERT_HEADER_SIZE:
        raise _unreadable()
    try:
        if cert_format == "rfc9440":
            match = _SF_BINARY.match(value)
            if match is None:
                raise ValueError("not a byte sequence")
            body = match.group(1)
            if len(body) % 4 == 1:
                raise ValueError("not base64")
            der = _b64decode((body + "=" * (-len(body) % 4)).encode("ascii"))
        elif cert_format == "pem-urlencoded":
            if not _PEM_ESCAPED.match(value) or _BAD_PERCENT.search(value):
                raise ValueError("not a percent-encoded PEM")
            lines = _EOL.split(unquote_to_bytes(value))
            if lines[-1] == b"":
                lines.pop()  # the final line break
            body = lines[1:-1]
            if (
                len(lines) < 3
                or lines[0] != _PEM_BEGIN
                or lines[-1] != _PEM_END
                or not all(_PEM_LINE.match(line) for line in body)
            ):
                raise ValueError("not one PEM certificate")
            der = _b64decode(b"".join(body))
        else:
            raise ValueError("unknown format")
        if not der:
            raise ValueError("empty")
        x509.load_der_x509_certificate(der)  # cryptography raises ValueError for non-certificates
    except ValueError:
        raise _unreadable() from None
    return der


def certificate_thumbprint(der: bytes) -> str:
    """The RFC 8705 §3.1 ``x5t#S256`` of a DER certificate: base64url without padding of
    its SHA-256 digest."""
    return base64.urlsafe_b64encode(hashlib.sha256(der).digest()).rstrip(b"=").decode("ascii")


def check_certificate_binding(token: AccessToken, header_value: str | None, config: Config) -> bool:
    """Verify the certificate binding of ``token`` against the forwarded certificate.

    Returns False when the token is not certificate-bound (no ``cnf`` ``x5t#S256``; the
    header is then not read at all), True when it is and ``header_value`` carries the
    certificate whose thumbprint it names (compared in constant time). Raises
    InvalidToken: ``CONFIRMATION`` when certificate binding is not configured
    (``JWT_AT_MTLS_CERT_HEADER`` is None: the binding cannot be verified, RFC 8705 §3),
    ``MTLS_MISSING`` when no certificate was forwarded, ``MTLS_CERTIFICATE`` when it cannot
    be read, ``MTLS_BINDING`` when it is another certificate.
    """
    expected = token.x5t_s256
    if expected is None:
        return False
    if config.mtls_cert_meta_key is None:
        # Validation refuses such a token already; this guards other callers and tokens
        # validated under an earlier configuration.
        raise InvalidToken(Description.CONFIRMATION)
    if not header_value:
        raise InvalidToken(Description.MTLS_MISSING)
    actual = certificate_thumbprint(certificate_from_header(header_value, config.mtls_cert_format))
    if not hmac.compare_digest(expected.encode("utf-8", "surrogatepass"), actual.encode("ascii")):
        raise InvalidToken(Description.MTLS_BINDING)
    return True
