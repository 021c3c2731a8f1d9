"""Certificate-bound tokens behind a TLS-terminating proxy (RFC 8705 §3), the
sender-constraint requirement and the FAPI 2.0 switch."""

from __future__ import annotations

import re
from typing import Any

from .base import DEFAULTS, ReaderBase

#: The confirmation methods (RFC 7800 §3.1 ``cnf`` members) whose binding the package
#: verifies: always the DPoP key thumbprint (RFC 9449 §6.1); with JWT_AT_MTLS_CERT_HEADER
#: set, also the certificate thumbprint (RFC 8705 §3.1), checked by :mod:`django_jwt_at.mtls`.
DPOP_CONFIRMATION_METHODS = frozenset({"jkt"})
CERTIFICATE_CONFIRMATION_METHODS = DPOP_CONFIRMATION_METHODS | {"x5t#S256"}
#: The formats of ``JWT_AT_MTLS_CERT_FORMAT`` (see :mod:`django_jwt_at.mtls`).
MTLS_CERT_FORMATS = ("rfc9440", "pem-urlencoded")
# A header name (RFC 9110 §5.1) of letters, digits and single hyphens: WSGI turns "-" and
# "_" alike into "_", so a name with "_" could be matched by another header.
_HEADER_NAME = re.compile(r"[A-Za-z0-9]+(?:-[A-Za-z0-9]+)*\Z")
# Headers that carry something else, or that WSGI does not put under HTTP_*.
_NOT_CERT_HEADERS = frozenset(
    {"authorization", "proxy-authorization", "dpop", "cookie", "host", "content-type", "content-length"}
)


class SenderConstraintSettings(ReaderBase):
    """Reads ``JWT_AT_MTLS_CERT_*``, ``JWT_AT_REQUIRE_SENDER_CONSTRAINED`` and ``JWT_AT_FAPI2``
    (E042-E044)."""

    def sender_constraint(self) -> dict[str, Any]:
        """Certificate binding (RFC 8705 §3), the sender-constraint requirement and FAPI 2.0."""
        header = self.setting("JWT_AT_MTLS_CERT_HEADER")
        meta_key = None
        if header is not None:
            if (
                not isinstance(header, str)
                or len(header) > 64
                or not _HEADER_NAME.match(header)
                or header.lower() in _NOT_CERT_HEADERS
            ):
                self.problem(
                    "E042",
                    f"JWT_AT_MTLS_CERT_HEADER {header!r} must be None or the name of the request header "
                    "in which a trusted proxy forwards the client certificate.",
                    "Letters, digits and single hyphens, e.g. 'Client-Cert' (RFC 9440); the proxy must "
                    "remove this header from every client request.",
                )
                header = None
            else:
                meta_key = "HTTP_" + header.upper().replace("-", "_")
        cert_format = self.setting("JWT_AT_MTLS_CERT_FORMAT")
        if cert_format not in MTLS_CERT_FORMATS:
            self.problem(
                "E043",
                f"JWT_AT_MTLS_CERT_FORMAT must be one of {list(MTLS_CERT_FORMATS)}.",
                "'rfc9440': the DER certificate as a byte sequence, ':<base64>:' (RFC 9440 §2.2); "
                "'pem-urlencoded': a URL-encoded PEM certificate (nginx $ssl_client_escaped_cert).",
            )
            cert_format = DEFAULTS["JWT_AT_MTLS_CERT_FORMAT"]
        return {
            "mtls_cert_header": header,
            "mtls_cert_meta_key": meta_key,
            "mtls_cert_format": cert_format,
            "confirmation_methods": CERTIFICATE_CONFIRMATION_METHODS if meta_key else DPOP_CONFIRMATION_METHODS,
            "require_sender_constrained": self.boolean("JWT_AT_REQUIRE_SENDER_CONSTRAINED", "E044"),
            "fapi2": self.boolean("JWT_AT_FAPI2", "E044"),
        }
