"""Audit signals and log records for every access-token decision.

``access_token_validated`` is sent when a request was authenticated by a valid access
token (after the user mapping accepted it), ``access_token_rejected`` when a token, or the
request carrying it, was refused. Each refusal has a stable reason code derived from its
:class:`~django_jwt_at.errors.Description` (:data:`REASON_CODES`), and a log record on the
``django_jwt_at`` logger with the same code in ``extra["reason"]``.

Neither the signals nor the log records ever carry the raw token; a rejection carries no
claim either, and its ``issuer`` is set only when it is an issuer of ``JWT_AT_ISSUERS``
or one this process trusts at run time (never a string read from an untrusted token); its
``tenant`` is the tenant of such an issuer of an issuer template, else None. The ``request`` they carry still holds the
credentials in its headers: receivers must not log those.

Receivers of ``access_token_rejected`` cannot change the outcome: the signal is sent with
``send_robust``, so a receiver that raises is logged by Django (logger
``django.dispatch``) and the rejection stands. Receivers of ``access_token_validated``
are called with ``send``: an exception propagates and the request fails instead of being
served without its audit record (fail closed). Neither signal can veto a request; use a
user mapping or a permission for decisions.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from django.dispatch import Signal

from .conf import get_config
from .errors import Description, ProtocolError
from .tenants import dynamic_issuers
from .tokens import AccessToken

#: ``sender`` = the authentication class; kwargs ``request``, ``token`` (the validated
#: :class:`~django_jwt_at.tokens.AccessToken`), ``issuer`` (its configured issuer) and
#: ``tenant`` (its tenant, :attr:`AccessToken.tenant <django_jwt_at.tokens.AccessToken.tenant>`).
access_token_validated = Signal()

#: ``sender`` = the authentication or permission class that refused; kwargs ``request``,
#: ``reason`` (a code of :data:`REASON_CODES`), ``issuer`` (a trusted issuer or None),
#: ``tenant`` (the tenant of that issuer, or None), ``error`` (the RFC 6750 / RFC 9470
#: error code, e.g. ``"invalid_token"``) and ``status`` (the HTTP status of the response).
access_token_rejected = Signal()

logger = logging.getLogger("django_jwt_at")

_W = logging.WARNING
_I = logging.INFO

# Routine outcomes of a well-behaved client (expiry, missing scope, step-up) are INFO;
# forged, broken or misdirected tokens are WARNING. An outage is INFO per request: the
# key-set module already writes one WARNING per failure burst.
_REASONS: dict[Description, tuple[str, int]] = {
    Description.MALFORMED_HEADER: ("malformed_header", _W),
    Description.MULTIPLE_METHODS: ("multiple_methods", _W),
    Description.REPEATED_TOKEN: ("repeated_token", _W),
    Description.MALFORMED_TOKEN: ("malformed_token", _W),
    Description.TYP: ("bad_type", _W),
    Description.ALG: ("bad_algorithm", _W),
    Description.SIGNATURE: ("bad_signature", _W),
    Description.ISS: ("untrusted_issuer", _W),
    Description.AUD: ("bad_audience", _W),
    Description.EXPIRED: ("expired", _I),
    Description.NBF: ("not_yet_valid", _W),
    Description.IAT: ("issued_in_future", _W),
    Description.CLAIMS: ("bad_claims", _W),
    Description.CRIT: ("unsupported_crit", _W),
    Description.ENCRYPTED: ("encrypted", _W),
    Description.SCOPE: ("insufficient_scope", _I),
    Description.ACR: ("step_up_required", _I),
    Description.MAX_AGE: ("step_up_required", _I),
    Description.ACR_MAX_AGE: ("step_up_required", _I),
    Description.CONFIRMATION: ("unsupported_binding", _W),
    Description.DPOP_MISSING: ("dpop_proof_missing", _W),
    Description.DPOP_PROOF: ("bad_dpop_proof", _W),
    Description.DPOP_BINDING: ("bad_dpop_binding", _W),
    Description.DPOP_BEARER: ("dpop_bound_as_bearer", _W),
    Description.DPOP_UNBOUND: ("not_dpop_bound", _W),
    Description.DPOP_NONCE: ("dpop_nonce_required", _I),  # the normal first step with nonces
    Description.MTLS_MISSING: ("client_certificate_missing", _W),
    Description.MTLS_CERTIFICATE: ("bad_client_certificate", _W),
    Description.MTLS_BINDING: ("bad_certificate_binding", _W),
    Description.SENDER_CONSTRAINED: ("not_sender_constrained", _W),
    Description.UNAVAILABLE: ("key_set_unavailable", _I),  # jwks warns once per outage
    Description.NOT_AUTHENTICATED: ("not_authenticated", _I),
    Description.USER_UNKNOWN: ("unknown_user", _I),
    Description.USER_DISABLED: ("user_disabled", _W),
}

#: The stable reason code of each error description.
REASON_CODES: Mapping[Description, str] = MappingProxyType({d: code for d, (code, _) in _REASONS.items()})

#: The code of a description missing from :data:`REASON_CODES` (a test keeps it unused).
UNSPECIFIED = "unspecified"


def reason_code(error: ProtocolError) -> str:
    """The stable reason code of ``error``."""
    return REASON_CODES.get(error.description, UNSPECIFIED)


def _log_validated(token: AccessToken) -> None:
    issuer = token.issuer
    logger.info(
        "Access token validated (issuer %s)",
        issuer,
        extra={"reason": "validated", "issuer": issuer, "tenant": token.tenant},
    )


def token_validated(sender: type, request: Any, token: AccessToken) -> None:
    """Log and send ``access_token_validated`` for ``token`` (exceptions of receivers
    propagate: fail closed). Costs two checks when the level is off and nobody listens."""
    if logger.isEnabledFor(logging.INFO):
        _log_validated(token)
    # Signal.send returns at once without receivers; testing the list first also saves
    # building the call (has_listeners() would cost more than that).
    if access_token_validated.receivers:
        access_token_validated.send(sender, request=request, token=token, issuer=token.issuer, tenant=token.tenant)


async def atoken_validated(sender: type, request: Any, token: AccessToken) -> None:
    """:func:`token_validated` for an event loop: sync receivers run in a worker thread
    (Django's ``Signal.asend``), async ones on the loop; exceptions propagate."""
    if logger.isEnabledFor(logging.INFO):
        _log_validated(token)
    if access_token_validated.receivers:
        await access_token_validated.asend(
            sender, request=request, token=token, issuer=token.issuer, tenant=token.tenant
        )


def _rejection(error: ProtocolError, issuer: str | None) -> dict[str, Any]:
    """Log the rejection; return the keyword arguments of its signal. ``issuer`` (or
    ``error.issuer``) is passed on only when it is a configured issuer or one this process
    trusts at run time, with its tenant."""
    issuer = issuer or error.issuer
    tenant: str | None = None
    if issuer is not None and issuer not in get_config().issuers:
        known = dynamic_issuers.known(issuer)
        issuer, tenant = (issuer, known.tenant) if known is not None else (None, None)
    code, level = _REASONS.get(error.description, (UNSPECIFIED, logging.WARNING))
    if logger.isEnabledFor(level):
        logger.log(
            level,
            "Access token rejected: %s (%s %s)",
            code,
            error.status,
            error.code or "no error code",
            extra={"reason": code, "issuer": issuer, "tenant": tenant, "error": error.code, "status": error.status},
        )
    return {"reason": code, "issuer": issuer, "tenant": tenant, "error": error.code, "status": error.status}


def token_rejected(sender: type, request: Any, error: ProtocolError, issuer: str | None = None) -> None:
    """Log and send ``access_token_rejected`` for ``error``. ``issuer`` (or
    ``error.issuer``) is passed on only when it is a configured issuer or one this process
    trusts at run time, with its tenant. Receivers that raise do not change the outcome."""
    arguments = _rejection(error, issuer)
    if access_token_rejected.receivers:
        access_token_rejected.send_robust(sender, request=request, **arguments)


async def atoken_rejected(sender: type, request: Any, error: ProtocolError, issuer: str | None = None) -> None:
    """:func:`token_rejected` for an event loop (Django's ``Signal.asend_robust``)."""
    arguments = _rejection(error, issuer)
    if access_token_rejected.receivers:
        await access_token_rejected.asend_robust(sender, request=request, **arguments)
