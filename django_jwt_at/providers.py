"""Issuer profiles for authorization servers whose access tokens are not RFC 9068 tokens.

Each constant holds the profile options of one provider's access tokens, to be merged
into an entry of ``JWT_AT_ISSUERS`` next to its ``AUDIENCE`` (and ``JWKS_URI`` if
discovery is not wanted)::

    from django_jwt_at import providers

    JWT_AT_ISSUERS = {
        "https://sso.example.com/realms/shop": {
            **providers.KEYCLOAK,
            "AUDIENCE": "shop-api",
        },
    }

Every profile keeps the checks RFC 9068 §4 makes that the provider's tokens can pass
(signature, issuer, audience, expiry, types of the claims used) and relaxes only what
the provider's documented token shape requires; the system check
``django_jwt_at.W002`` says so for each issuer using one. Prefer :data:`RFC9068` where a
provider can issue RFC 9068 tokens (Auth0's "RFC 9068" token profile, Authlib,
panva's oidc-provider, Duende IdentityServer).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any


def _profile(**options: Any) -> Mapping[str, Any]:
    return MappingProxyType(options)


#: An RFC 9068 authorization server: the defaults (``typ`` ``at+jwt``, ``aud``,
#: ``client_id``, ``jti``, space-delimited ``scope``, ``roles``).
RFC9068 = _profile()

#: Auth0 with its default ("Auth0") access-token profile: ``typ`` ``JWT``, the client in
#: ``azp``, no ``jti``. With the "RFC 9068" profile selected for the API, use RFC9068.
AUTH0 = _profile(
    TOKEN_TYPES=["at+jwt", "JWT"],
    CLIENT_ID_CLAIM="azp",
    REQUIRED_CLAIMS=["azp"],
)

#: Okta custom authorization servers: no ``typ`` header, the client in ``cid``, scopes
#: as an array in ``scp``, group names in ``groups`` (when a groups claim is configured).
OKTA = _profile(
    TOKEN_TYPES=[None],
    CLIENT_ID_CLAIM="cid",
    SCOPE_CLAIM="scp",
    SCOPE_FORMAT="array",
    ROLES_CLAIM="groups",
    REQUIRED_CLAIMS=["cid", "jti"],
)

#: Microsoft Entra ID v2.0 access tokens (``accessTokenAcceptedVersion: 2``): ``typ``
#: ``JWT``, the client in ``azp``, delegated scopes space-delimited in ``scp``, app roles
#: in ``roles``, no ``jti`` (Entra's ``uti`` is not one).
ENTRA_ID = _profile(
    TOKEN_TYPES=["JWT"],
    CLIENT_ID_CLAIM="azp",
    SCOPE_CLAIM="scp",
    ROLES_CLAIM="roles",
    REQUIRED_CLAIMS=["azp"],
)

#: Keycloak: ``typ`` ``JWT``, the client in ``azp``, realm roles in
#: ``realm_access.roles``, and its own ``typ`` claim, ``Bearer`` on access tokens (``ID``
#: on ID tokens, which are refused).
KEYCLOAK = _profile(
    TOKEN_TYPES=["JWT"],
    CLIENT_ID_CLAIM="azp",
    ROLES_CLAIM="realm_access.roles",
    REQUIRED_CLAIMS=["azp", "jti"],
    REQUIRED_CLAIM_VALUES={"typ": "Bearer"},
)

#: Amazon Cognito user pools: no ``typ`` header and no ``aud``: the app client id in
#: ``client_id`` is the audience (set ``AUDIENCE`` to your app client ids); ``token_use``
#: must be ``access`` (ID tokens say ``id``); groups in ``cognito:groups``.
COGNITO = _profile(
    TOKEN_TYPES=[None],
    AUDIENCE_CLAIM="client_id",
    ROLES_CLAIM="cognito:groups",
    REQUIRED_CLAIMS=["client_id", "jti"],
    REQUIRED_CLAIM_VALUES={"token_use": "access"},
)

#: Google-signed ID tokens used as credentials between services (Cloud Run, Cloud
#: Functions, service accounts): Google's access tokens are opaque, so this accepts the
#: ID tokens Google mints for an audience you name (``AUDIENCE`` = your service's URL or
#: custom audience): ``typ`` ``JWT``, the client in ``azp``, no ``jti``, no scopes.
GOOGLE = _profile(
    TOKEN_TYPES=["JWT"],
    CLIENT_ID_CLAIM="azp",
    REQUIRED_CLAIMS=["azp"],
)

__all__ = ["AUTH0", "COGNITO", "ENTRA_ID", "GOOGLE", "KEYCLOAK", "OKTA", "RFC9068"]
