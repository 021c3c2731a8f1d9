"""``AccessTokenCacheControlMiddleware``: RFC 6750 §2.3 for tokens in the query string."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponseBase
from django.utils.cache import patch_cache_control

_QUERY_MARK = "_django_jwt_at_query_token"


def mark_query_token(request: HttpRequest) -> None:
    """Record that ``request`` carried its access token in the query string."""
    setattr(request, _QUERY_MARK, True)


class AccessTokenCacheControlMiddleware:
    """Add ``Cache-Control: private`` to responses whose request carried its access token
    in the URI query (RFC 6750 §2.3: such responses SHOULD be marked private, since the URI
    holds a credential). Required by system check E014 when ``"query"`` is enabled."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        if getattr(request, _QUERY_MARK, False):
            patch_cache_control(response, private=True)
        return response
