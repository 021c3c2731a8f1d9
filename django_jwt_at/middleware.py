"""``AccessTokenCacheControlMiddleware``: RFC 6750 §2.3 for tokens in the query string,
and the RFC 9449 §9 ``DPoP-Nonce`` header for DRF responses."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponseBase
from django.utils.cache import patch_cache_control

from .challenges import nonce_headers

_QUERY_MARK = "_django_jwt_at_query_token"
_NONCE_MARK = "_django_jwt_at_dpop_nonce"
_EXPOSED = ("WWW-Authenticate", "DPoP-Nonce")


def mark_query_token(request: HttpRequest) -> None:
    """Record that ``request`` carried its access token in the query string."""
    setattr(request, _QUERY_MARK, True)


def mark_dpop_nonce(request: HttpRequest, nonce: str) -> None:
    """Record the nonce ``request``'s response must carry in ``DPoP-Nonce``."""
    setattr(request, _NONCE_MARK, nonce)


def _expose(response: HttpResponseBase) -> None:
    # RFC 9449 §7.1, §8: browser clients must be able to read the challenge and the nonce.
    names = [n.strip() for n in response.get("Access-Control-Expose-Headers", "").split(",") if n.strip()]
    known = {n.lower() for n in names}
    names += [n for n in _EXPOSED if n in response and n.lower() not in known]
    if names:
        response["Access-Control-Expose-Headers"] = ", ".join(names)


class AccessTokenCacheControlMiddleware:
    """Add ``Cache-Control: private`` to responses whose request carried its access token
    in the URI query (RFC 6750 §2.3: such responses SHOULD be marked private, since the URI
    holds a credential). Required by system check E014 when ``"query"`` is enabled.

    With DPoP nonces on, it adds the one ``DPoP-Nonce`` header and ``Cache-Control:
    no-store`` to ``use_dpop_nonce`` answers of DRF views (DRF's exception handler copies
    only ``WWW-Authenticate``); required then by check E037. To cross-origin requests
    (``Origin``) it exposes ``WWW-Authenticate`` and ``DPoP-Nonce`` when present
    (``Access-Control-Expose-Headers``, merged with what is there)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        if getattr(request, _QUERY_MARK, False):
            patch_cache_control(response, private=True)
        nonce = getattr(request, _NONCE_MARK, None)
        if nonce is not None and "DPoP-Nonce" not in response:
            for name, value in nonce_headers(nonce).items():
                response[name] = value
        if "HTTP_ORIGIN" in request.META and ("WWW-Authenticate" in response or "DPoP-Nonce" in response):
            _expose(response)
        return response
