"""Framework-free error types: every protocol outcome of a request.

Each error carries the RFC 6750 / RFC 9470 error code, the HTTP status it is answered with
and a description from the fixed vocabulary of :class:`Description`. Descriptions never
contain token content or library exception text (RFC 6750 §3, RFC 8725 §3.10), so an
error can be rendered into a response as it is.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence


class Description(str, enum.Enum):
    """The fixed ``error_description`` texts (ASCII, no quote or backslash)."""

    MALFORMED_HEADER = "The Authorization header is malformed"
    MULTIPLE_METHODS = "Multiple methods used to include access token"
    REPEATED_TOKEN = "The access token parameter is repeated"
    MALFORMED_TOKEN = "The access token is malformed"
    TYP = "The access token type is not at+jwt"
    ALG = "The access token signing algorithm is not allowed"
    SIGNATURE = "The access token signature is invalid"
    ISS = "The access token issuer is not trusted"
    AUD = "The access token audience is invalid"
    EXPIRED = "The access token expired"
    NBF = "The access token is not yet valid"
    IAT = "The access token issue time is in the future"
    CLAIMS = "The access token is missing a required claim or has an invalid claim"
    CRIT = "The access token has an unsupported critical header"
    ENCRYPTED = "Encrypted access tokens are not supported"
    SCOPE = "The request requires higher privileges than provided by the access token"
    ACR = "A different authentication level is required"
    MAX_AGE = "More recent authentication is required"
    ACR_MAX_AGE = "A different authentication level and more recent authentication are required"
    CONFIRMATION = "The access token is bound to a key by a method the resource server does not support"
    DPOP_MISSING = "DPoP proof is missing"
    DPOP_PROOF = "Invalid DPoP proof"
    DPOP_BINDING = "Invalid DPoP key binding"
    DPOP_BEARER = "DPoP-bound access token requires the DPoP authentication scheme"
    DPOP_UNBOUND = "Access token is not DPoP-bound"
    DPOP_NONCE = "Resource server requires nonce in DPoP proof"
    MTLS_MISSING = "Certificate-bound access token requires a client certificate"
    MTLS_CERTIFICATE = "The client certificate cannot be read"
    MTLS_BINDING = "The client certificate does not match the access token"
    SENDER_CONSTRAINED = "The resource server requires a sender-constrained access token"
    UNAVAILABLE = "The access token cannot be validated at the moment"
    NOT_AUTHENTICATED = "Authentication credentials were not provided."
    USER_UNKNOWN = "The user of the access token is not known"
    USER_DISABLED = "The user of the access token is disabled"


class ProtocolError(Exception):
    """Base of every outcome that is answered with an OAuth error.

    ``code`` is the RFC 6750 §3.1 / RFC 9470 §3 error code, ``status`` the HTTP status.
    """

    code: str = ""
    status: int = 400
    #: The configured issuer of the refused token, when the refusal came after the issuer
    #: was found in ``JWT_AT_ISSUERS`` (never a value read from an untrusted token); for
    #: the ``access_token_rejected`` signal and log records.
    issuer: str | None = None
    #: The challenge that carries the error (RFC 9449 §7.2): "Bearer", "DPoP", "both", or
    #: None for the scheme the request used.
    scheme: str | None = None
    #: The validation step that refused the token (one of
    #: :data:`django_jwt_at.validation.STEPS`), None for a refusal while parsing; for
    #: ``manage.py jwt_at_inspect``, never sent to the client.
    step: str | None = None

    def __init__(self, description: Description, *, scheme: str | None = None) -> None:
        super().__init__(description.value)
        self.description = description
        if scheme is not None:
            self.scheme = scheme


class InvalidRequest(ProtocolError):
    """RFC 6750 §3.1 ``invalid_request``: the request itself is malformed (400)."""

    code = "invalid_request"
    status = 400


class InvalidToken(ProtocolError):
    """RFC 6750 §3.1 ``invalid_token``: any RFC 9068 §4 validation failure (401)."""

    code = "invalid_token"
    status = 401


class InvalidDPoPProof(ProtocolError):
    """RFC 9449 §7.1 ``invalid_dpop_proof`` on the DPoP challenge: a proof that is missing
    or fails an RFC 9449 §4.3 check; 401 (Design decisions: invalid dpop proof)."""

    code = "invalid_dpop_proof"
    status = 401
    scheme = "DPoP"


class UseDPoPNonce(ProtocolError):
    """RFC 9449 §9 ``use_dpop_nonce`` (401): the proof lacks a current server nonce;
    ``nonce`` is the fresh one for the ``DPoP-Nonce`` response header."""

    code = "use_dpop_nonce"
    status = 401
    scheme = "DPoP"

    def __init__(self, nonce: str) -> None:
        super().__init__(Description.DPOP_NONCE)
        self.nonce = nonce


class InsufficientScope(ProtocolError):
    """RFC 6750 §3.1 ``insufficient_scope`` (403).

    ``scope`` lists the scopes the resource requires; empty for role, group and
    entitlement failures, where no scope would help (Design decisions: roles).
    """

    code = "insufficient_scope"
    status = 403

    def __init__(self, scope: Sequence[str] = ()) -> None:
        super().__init__(Description.SCOPE)
        self.scope = tuple(scope)


class InsufficientUserAuthentication(ProtocolError):
    """RFC 9470 §3 ``insufficient_user_authentication`` (401, Design decisions: step up status).

    ``acr_values`` and ``max_age`` say what a new token needs; ``scope`` is set when the
    token also lacks scopes (Design decisions: step up rules), so that one challenge says everything.
    """

    code = "insufficient_user_authentication"
    status = 401

    def __init__(
        self,
        *,
        acr_values: Sequence[str] = (),
        max_age: int | None = None,
        scope: Sequence[str] = (),
    ) -> None:
        if acr_values and max_age is not None:
            description = Description.ACR_MAX_AGE
        elif acr_values:
            description = Description.ACR
        else:
            description = Description.MAX_AGE
        super().__init__(description)
        self.acr_values = tuple(acr_values)
        self.max_age = max_age
        self.scope = tuple(scope)


class AuthenticationRequired(ProtocolError):
    """No access token where one is needed: 401 with a challenge but no error (RFC 6750 §3.1).

    ``scope`` lists the scopes the resource requires, written on the challenges when
    ``JWT_AT_CHALLENGE_SCOPE`` is on (RFC 6750 §3 allows it on any challenge), so that a
    client asks the authorization server for those and no others; empty otherwise.
    """

    code = ""
    status = 401

    def __init__(self, scope: Sequence[str] = ()) -> None:
        super().__init__(Description.NOT_AUTHENTICATED)
        self.scope = tuple(scope)


class KeySetUnavailable(ProtocolError):
    """The issuer's keys cannot be obtained and nothing usable is cached (Design decisions: keys unavailable).

    Answered with 503 and ``Retry-After``, never 401: the token may well be valid.
    """

    code = "temporarily_unavailable"
    status = 503

    def __init__(self, retry_after: int) -> None:
        super().__init__(Description.UNAVAILABLE)
        self.retry_after = retry_after
