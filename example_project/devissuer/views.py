"""The development issuer's public documents: its JWKS and its RFC 8414 metadata."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_GET

from .keys import public_jwk

#: Resource servers may cache the key set this long (RFC 9111 §5.2.2.1); django-jwt-at
#: clamps the lifetime to its own bounds.
JWKS_MAX_AGE = 300


@require_GET
def jwks(request: HttpRequest) -> JsonResponse:
    """The JWK Set (RFC 7517 §5) with the one public signing key."""
    response = JsonResponse({"keys": [public_jwk()]}, content_type="application/jwk-set+json")
    response["Cache-Control"] = f"public, max-age={JWKS_MAX_AGE}"
    return response


@require_GET
def metadata(request: HttpRequest) -> JsonResponse:
    """RFC 8414 §3.2 authorization server metadata, reduced to what a resource server reads:
    this issuer has no endpoints (its tokens come from ``manage.py mint_token``).
    ``issuer`` is exactly the configured identifier (RFC 8414 §3.3), whatever host name
    the request used."""
    issuer = settings.DEV_ISSUER
    response = JsonResponse({"issuer": issuer, "jwks_uri": f"{issuer}/jwks"})
    response["Cache-Control"] = f"public, max-age={JWKS_MAX_AGE}"
    return response
