"""Authenticating a Django ``HttpRequest`` by its access token, for DRF and plain views.

This is the one place that reads credentials off a request (RFC 6750 §2) and hands them
to the framework-free core; the DRF authentication class and the view decorators both
call :func:`authenticate_request`.
"""

from __future__ import annotations

from django.http import HttpRequest, QueryDict

from . import clock
from .bearer import bearer_token_from_header, select_token
from .conf import Config
from .jwks import key_sets
from .middleware import mark_query_token
from .token_cache import verified_tokens
from .tokens import AccessToken
from .validation import validate_access_token

_FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"


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


def authenticate_request(request: HttpRequest, config: Config) -> AccessToken | None:
    """Return the validated access token of ``request``, or None when it carries none.

    Raises a ProtocolError (InvalidRequest, InvalidToken, KeySetUnavailable) for
    credentials that are malformed, ambiguous or invalid.
    """
    selected = select_token(
        bearer_token_from_header(request.META.get("HTTP_AUTHORIZATION")),
        _query_tokens(request),
        _body_tokens(request),
        config.token_methods,
    )
    if selected is None:
        return None
    method, raw = selected
    if method == "query":
        mark_query_token(request)
    return validate_access_token(raw, config=config, key_sets=key_sets, now=clock.now(), cache=verified_tokens)
