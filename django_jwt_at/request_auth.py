"""Authenticating a Django ``HttpRequest`` by its access token, for DRF and plain views.

This is the one place that reads credentials off a request (RFC 6750 §2, RFC 9449 §7,
and the client certificate a proxy forwards, RFC 8705 §3) and hands them to the
framework-free core; the DRF authentication class and the view decorators both call
:func:`authenticate_request`. It records on the request the DPoP mode and the scheme
used, so that later challenges (a permission failing, say) go on the right scheme
(:func:`challenge_context`).

It runs on every request, so it reads each header once and allocates nothing it could
build once; a token the verified-token cache holds skips the header pattern as well.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.http import HttpRequest, QueryDict

from . import clock
from .bearer import credentials_from_header, select_token
from .challenges import ChallengeContext
from .conf import DPOP_MODES, Config, IssuerConfig, dpop_mode, get_config
from .dpop import check_binding, expected_htu, remember_proof, verify_proof
from .errors import Description, InvalidDPoPProof, InvalidRequest, InvalidToken, UseDPoPNonce
from .jwks import KeySetRegistry, key_sets
from .keys import VerificationKey
from .middleware import mark_dpop_nonce, mark_query_token
from .mtls import check_certificate_binding
from .token_cache import verified_tokens
from .tokens import AccessToken
from .validation import validate_access_token

_FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"
_CONTEXT = "_django_jwt_at_challenge"
_AUTHENTICATED = "_django_jwt_at_authenticated"
# Every context a request can have, built once: recording one costs no allocation.
# Per mode: (no scheme used yet, Bearer, DPoP).
_CONTEXTS = {mode: tuple(ChallengeContext(mode, scheme) for scheme in (None, "Bearer", "DPoP")) for mode in DPOP_MODES}
_NO_TOKENS: tuple[str, ...] = ()
_BEARER_PREFIX = "Bearer "
_BEARER_PREFIX_LENGTH = len(_BEARER_PREFIX)
# RFC 6750 §2.1 b64token characters, as in bearer's pattern; "=" only at the end.
_B64TOKEN_CHARACTERS = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~+/"


class WouldBlock(Exception):
    """:func:`authenticate_request` with ``blocking=False`` needs work that may block:
    a key-set fetch, the DPoP replay store, a form body to parse, or an issuer trusted at
    run time. Nothing was decided; run the call again with ``blocking=True`` in a worker
    thread."""


class _HeldKeySets(KeySetRegistry):
    """``key_sets`` as this process holds them right now, for validation on an event loop.

    :meth:`find` answers from the fresh key set in memory; where the registry would
    fetch (no set, an expired set, or no key for the kid, which may mean a rotation) it
    raises :class:`WouldBlock`, and so it does for an issuer trusted at run time (whose
    trust the registry checks again, maybe by calling a ``TENANTS`` callable) and for
    every other use of the registry's state, so that nothing here can do I/O or decide
    differently from the registry.
    """

    def __init__(self, registry: KeySetRegistry) -> None:
        super().__init__()
        self._registry = registry

    def _state(self, issuer: IssuerConfig) -> Any:
        raise WouldBlock

    _peek = _dynamic_state = _state  # type: ignore[assignment]

    def current(self, issuer: IssuerConfig) -> Any:
        return self._registry.current(issuer)

    def find(self, issuer: IssuerConfig, kid: str | None, alg: str, config: Config) -> Sequence[VerificationKey]:
        if issuer.dynamic:
            raise WouldBlock
        key_set = self._registry.current(issuer)
        if key_set is None or clock.now() >= key_set.expires_at:
            raise WouldBlock
        found = key_set.find(kid, alg)
        if not found:
            raise WouldBlock
        return found


_held_key_sets = _HeldKeySets(key_sets)


def _query_tokens(request: HttpRequest) -> Sequence[str]:
    if not request.META.get("QUERY_STRING"):
        return _NO_TOKENS  # the common case costs no query-string parsing
    return request.GET.getlist("access_token")


def _has_form_body(request: HttpRequest) -> bool:
    # RFC 6750 §2.2: single-part application/x-www-form-urlencoded only, in a method whose
    # body has defined semantics: never GET (nor HEAD).
    if request.method in ("GET", "HEAD"):
        return False
    content_type: str = request.META.get("CONTENT_TYPE", "")
    return content_type.split(";", 1)[0].strip().lower() == _FORM_CONTENT_TYPE


def _body_tokens(request: HttpRequest) -> Sequence[str]:
    if not _has_form_body(request):
        return _NO_TOKENS
    if request.method == "POST":
        return request.POST.getlist("access_token")
    # Django parses form bodies of POST only; PUT, PATCH, DELETE ... are parsed here.
    return QueryDict(request.body, encoding=request.encoding).getlist("access_token")


def _is_b64token(raw: str, max_size: int) -> bool:
    """Whether ``raw`` is a whole b64token (``1*b64token-char *"="``) of at most
    ``max_size`` characters: then ``"Bearer " + raw`` is what the pattern of
    :func:`~django_jwt_at.bearer.credentials_from_header` accepts, with ``raw`` the token.

    Two C-level scans, cheaper than the pattern. A longer value takes the pattern's path,
    which refuses it unscanned.
    """
    if len(raw) > max_size or not raw.isascii():
        return False
    characters = raw.rstrip("=")
    return bool(characters) and not characters.encode("ascii").translate(None, _B64TOKEN_CHARACTERS)


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


def authenticate_request(
    request: HttpRequest, config: Config, *, mode: str | None = None, blocking: bool = True
) -> AccessToken | None:
    """Return the validated access token of ``request``, or None when it carries none.

    ``mode`` is the view's DPoP mode (default ``JWT_AT_DPOP``). Raises a ProtocolError
    (InvalidRequest, InvalidToken, InvalidDPoPProof, UseDPoPNonce, KeySetUnavailable) for
    credentials that are malformed, ambiguous or invalid.

    With ``blocking=False`` (an event loop calling) nothing is done that may block: the
    issuer's key set must be fresh in this process's memory. Where a fetch, the DPoP
    replay store, a form body or issuers trusted at run time (issuer templates, the
    resolver) would be involved, :class:`WouldBlock` is raised before anything is decided;
    every answer given is the one ``blocking=True`` would give.
    """
    if not blocking and (config.issuer_templates or config.issuer_resolver):
        raise WouldBlock  # a TENANTS callable or the resolver is sync code that may block
    mode = mode or config.dpop_mode
    contexts = _CONTEXTS[mode]
    meta = request.META
    header = meta.get("HTTP_AUTHORIZATION")
    if (
        mode != "required"
        and header is not None
        and header.startswith(_BEARER_PREFIX)
        and (
            verified_tokens.holds(raw := header[_BEARER_PREFIX_LENGTH:])
            or _is_b64token(raw, config.limits.max_token_size)
        )
        and not meta.get("QUERY_STRING")
        and (request.method == "GET" or not _has_form_body(request))
        and "header" in config.token_methods
    ):
        # The common case, "Bearer <b64token>" and no other credentials, decided without
        # the header pattern and select_token: the pattern would accept the value with
        # ``raw`` as the token (a token the verified-token cache holds passed full
        # validation, so it is a compact JWS within the size limit: a b64token) and, with
        # no query string and no form body, select_token would pick it. Everything else
        # takes the general path below.
        pass
    else:
        setattr(request, _CONTEXT, contexts[0])
        credentials = credentials_from_header(header, bearer=mode != "required", dpop=mode != "off")
        if credentials is not None and credentials[0] == "DPoP":
            setattr(request, _CONTEXT, contexts[2])
            if not blocking:
                raise WouldBlock  # the proof's replay store may be a network cache
            return _authenticate_dpop(request, credentials[1], config)
        if mode == "required":
            return None  # Bearer is an unsupported method here (RFC 6750 §3.1, Design decisions: dpop modes)
        if not blocking and _has_form_body(request):
            raise WouldBlock  # parsing a large body may read a file
        selected = select_token(
            credentials[1] if credentials is not None else None,
            _query_tokens(request),
            _body_tokens(request),
            config.token_methods,
        )
        if selected is None:
            return None
        method, raw = selected
        if method == "query":
            mark_query_token(request)
    setattr(request, _CONTEXT, contexts[1])
    token = validate_access_token(
        raw,
        config=config,
        key_sets=key_sets if blocking else _held_key_sets,
        now=clock.now(),
        cache=verified_tokens,
    )
    # A token without ``cnf`` is bound to nothing: both binding checks below are about
    # ``cnf`` (validation refuses a ``cnf`` that is not an object), so most tokens skip them.
    bound_somehow = "cnf" in token.claims
    # RFC 9449 §7.2: a resource that supports DPoP MUST reject a DPoP-bound token sent as
    # Bearer; without DPoP it is refused too unless explicitly allowed (Design decisions: dpop modes). The
    # allowance needs DPoP off for the whole resource, not just for this view.
    if (
        bound_somehow
        and token.dpop_bound
        and not (config.dpop_accept_bound_as_bearer and config.dpop_mode == mode == "off")
    ):
        raise InvalidToken(Description.DPOP_BEARER)
    if mode != "off" and "HTTP_DPOP" in meta:
        raise InvalidRequest(Description.MALFORMED_HEADER)  # a proof with Bearer (Design decisions: dpop modes)
    if config.require_sender_constrained or (bound_somehow and token.x5t_s256 is not None):
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
        raise InvalidDPoPProof(Description.DPOP_MISSING)  # Design decisions: invalid dpop proof
    if _query_tokens(request) or _body_tokens(request):
        raise InvalidRequest(Description.MULTIPLE_METHODS)
    now = clock.now()
    token = validate_access_token(raw, config=config, key_sets=key_sets, now=now, cache=verified_tokens)
    if not token.dpop_bound:
        raise InvalidToken(Description.DPOP_UNBOUND)  # Design decisions: dpop unbound
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


def remember_authentication(
    request: HttpRequest, authenticator: type, mode: str, token: AccessToken, user: Any
) -> None:
    """Record on ``request`` that ``authenticator`` accepted ``token`` under DPoP ``mode``.

    A view decorator above DRF's ``@api_view`` authenticates the request before DRF does;
    authenticating it again would spend its DPoP proof twice (a replay, RFC 9449 §11.1).
    """
    setattr(request, _AUTHENTICATED, (authenticator, mode, token, user))


def remembered_authentication(request: HttpRequest, authenticator: type, mode: str) -> tuple[Any, AccessToken] | None:
    """``(user, token)`` when :func:`remember_authentication` recorded the same
    authenticator class and DPoP mode on ``request``; None otherwise (authenticate anew,
    which never grants more than the first time did)."""
    record = getattr(request, _AUTHENTICATED, None)
    if record is None or record[0] is not authenticator or record[1] != mode:
        return None
    return record[3], record[2]
