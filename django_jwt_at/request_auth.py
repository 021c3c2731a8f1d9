"""Authenticating a Django ``HttpRequest`` by its access token, for DRF and plain views.

This is the one place that reads credentials off a request (RFC 6750 §2, RFC 9449 §7,
and the client certificate a proxy forwards, RFC 8705 §3) and hands them to the
framework-free core; the DRF authentication class and the view decorators both call
:func:`authenticate_request`. It records on the request the DPoP mode and the scheme
used, so that later challenges (a permission failing, say) go on the right scheme
(:func:`challenge_context`).
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, QueryDict

from . import clock
from .bearer import credentials_from_header, select_token
from .challenges import ChallengeContext
from .conf import DPOP_MODES, Config, dpop_mode, get_config
from .dpop import check_binding, expected_htu, remember_proof, verify_proof
from .errors import Description, InvalidDPoPProof, InvalidRequest, InvalidToken, UseDPoPNonce
from .jwks import key_sets
from .middleware import mark_dpop_nonce, mark_query_token
from .mtls import check_certificate_binding
from .token_cache import verified_tokens
from .tokens import AccessToken
from .validation import validate_access_token

_FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"
_CONTEXT = "_django_jwt_at_challenge"
# Every context a request can have, built once: recording one costs no allocation.
_CONTEXTS = {
    (mode, scheme): ChallengeContext(mode, scheme) for mode in DPOP_MODES for scheme in (None, "Bearer", "DPoP")
}


def _query_tokens(request: HttpRequest) -> list[str]:
    if not request.META.get("QUERY_STRING"):
        return []  # the common case costs no query-string parsing
    return request.GET.getlist("access_token")


def _body_tokens(request: HttpRequest) -> list[str]:
    # RFC 6750 §2.2: single-part application/x-www-form-urlencoded only, in a method whose
    # body has defined semantics: never GET (nor HEAD).
    if request.method in ("GET", "HEAD"):
        return []
    content_type = request.META.get("CONTENT_TYPE", "")
    if content_type.split(";", 1)[0].strip().lower() != _FORM_CONTENT_TYPE:
        return []
    if request.method == "POST":
        return request.POST.getlist("access_token")
    # Django parses form bodies of POST only; PUT, PATCH, DELETE ... are parsed here.
    return QueryDict(request.body, encoding=request.encoding).getlist("access_token")


def view_dpop_mode(view: Any, config: Config) -> str:
    """The DPoP mode of ``view``: its ``dpop`` attribute, else ``JWT_AT_DPOP``."""
    mode = getattr(view, "dpop", None)
    return config.dpop_mode if mode is None else dpop_mode(mode)


def challenge_context(request: Any, view: Any = None) -> ChallengeContext:
    """How challenges for ``request`` (a Django or DRF request) are shaped: as recorded by
    :func:`authenticate_request`, else from ``view``'s DPoP mode, no scheme used."""
    context = getattr(request, _CONTEXT, None)
    if isinstance(context, ChallengeContext):
        return context
    return ChallengeContext(view_dpop_mode(view, get_config()))


def authenticate_request(request: HttpRequest, config: Config, *, mode: str | None = None) -> AccessToken | None:
    """Return the validated access token of ``request``, or None when it carries none.

    ``mode`` is the view's DPoP mode (default ``JWT_AT_DPOP``). Raises a ProtocolError
    (InvalidRequest, InvalidToken, InvalidDPoPProof, UseDPoPNonce, KeySetUnavailable) for
    credentials that are malformed, ambiguous or invalid.
    """
    mode = mode or config.dpop_mode
    setattr(request, _CONTEXT, _CONTEXTS[mode, None])
    meta = request.META
    credentials = credentials_from_header(meta.get("HTTP_AUTHORIZATION"), bearer=mode != "required", dpop=mode != "off")
    if credentials is not None and credentials[0] == "DPoP":
        setattr(request, _CONTEXT, _CONTEXTS[mode, "DPoP"])
        return _authenticate_dpop(request, credentials[1], config)
    if mode == "required":
        return None  # Bearer is an unsupported method here (RFC 6750 §3.1, choice A-04)
    selected = select_token(
        credentials[1] if credentials is not None else None,
        _query_tokens(request),
        _body_tokens(request),
        config.token_methods,
    )
    if selected is None:
        return None
    method, raw = selected
    setattr(request, _CONTEXT, _CONTEXTS[mode, "Bearer"])
    if method == "query":
        mark_query_token(request)
    token = validate_access_token(raw, config=config, key_sets=key_sets, now=clock.now(), cache=verified_tokens)
    # RFC 9449 §7.2: a resource that supports DPoP MUST reject a DPoP-bound token sent as
    # Bearer; without DPoP it is refused too unless explicitly allowed (choice A-04). The
    # allowance needs DPoP off for the whole resource, not just for this view.
    if token.dpop_bound and not (config.dpop_accept_bound_as_bearer and config.dpop_mode == mode == "off"):
        raise InvalidToken(Description.DPOP_BEARER)
    if mode != "off" and "HTTP_DPOP" in meta:
        raise InvalidRequest(Description.MALFORMED_HEADER)  # a proof with Bearer (choice A-04)
    if token.x5t_s256 is not None or config.require_sender_constrained:
        # RFC 8705 §3: the certificate of the TLS connection must be the one the token is
        # bound to. A Bearer request is sender-constrained only by that certificate: a
        # DPoP binding accepted without a proof (the "off" allowance) does not count.
        key = config.mtls_cert_meta_key
        bound = check_certificate_binding(token, meta.get(key) if key else None, config)
        if config.require_sender_constrained and not bound:
            raise InvalidToken(Description.SENDER_CONSTRAINED)
    return token


def _authenticate_dpop(request: HttpRequest, raw: str, config: Config) -> AccessToken:
    """RFC 9449 §7.1: the DPoP scheme needs a valid proof bound to a DPoP-bound token."""
    proof = request.META.get("HTTP_DPOP")
    if proof is None:
        raise InvalidDPoPProof(Description.DPOP_MISSING)  # choice A-17
    if _query_tokens(request) or _body_tokens(request):
        raise InvalidRequest(Description.MULTIPLE_METHODS)
    now = clock.now()
    token = validate_access_token(raw, config=config, key_sets=key_sets, now=now, cache=verified_tokens)
    if not token.dpop_bound:
        raise InvalidToken(Description.DPOP_UNBOUND)  # choice A-22
    try:
        verified = verify_proof(
            proof,
            method=request.method or "",
            htu=expected_htu(config.dpop_origin, request.path),
            access_token=raw,
            config=config,
            now=now,
        )
    except UseDPoPNonce as error:
        mark_dpop_nonce(request, error.nonce)
        raise
    check_binding(token, verified)
    if token.x5t_s256 is not None:
        # Bound by both methods (cnf with jkt and x5t#S256): both bindings must verify,
        # before the proof is recorded as used.
        key = config.mtls_cert_meta_key
        check_certificate_binding(token, request.META.get(key) if key else None, config)
    remember_proof(verified, config)
    return token
