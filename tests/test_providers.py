"""Issuer profiles (django_jwt_at.providers): for each provider, a token shaped as the
provider documents it passes with the recipe and is refused by the strict RFC 9068
default, and the provider's own look-alikes (ID tokens) stay refused."""

from __future__ import annotations

import json
import uuid

import pytest
from django.core.checks import run_checks

from django_jwt_at import providers

from .conftest import ABSENT
from .helpers import FX_AUD, bearer, insufficient_scope, invalid_token, json_body

NOW_OFFSET = 60


def _claims(now: float, **claims: object) -> dict:
    base = {"iat": int(now) - NOW_OFFSET, "exp": int(now) + 3600}
    base.update(claims)
    return {k: v for k, v in base.items() if v is not ABSENT}


def auth0_default(now: float) -> tuple[dict, dict]:
    """Auth0's default access-token profile (docs: "Access Token Profiles")."""
    header = {"typ": "JWT"}
    claims = _claims(
        now,
        iss="https://tenant.eu.auth0.com/",
        sub="auth0|64f1c0ffee",
        aud=[FX_AUD, "https://tenant.eu.auth0.com/userinfo"],
        azp="K1xAz3vPqQ9",
        scope="openid profile orders:read",
        permissions=["orders:read"],
    )
    return header, claims


def auth0_rfc9068(now: float) -> tuple[dict, dict]:
    """Auth0 with the "RFC 9068" access-token profile."""
    header = {"typ": "at+jwt"}
    claims = _claims(
        now,
        iss="https://tenant.eu.auth0.com/",
        sub="auth0|64f1c0ffee",
        aud=FX_AUD,
        client_id="K1xAz3vPqQ9",
        jti=str(uuid.uuid4()),
        scope="orders:read",
    )
    return header, claims


def okta(now: float) -> tuple[dict, dict]:
    """Okta custom authorization server ("Access token" reference): no typ header."""
    header = {"typ": ABSENT}
    claims = _claims(
        now,
        ver=1,
        jti="AT.7Ydg3qYqTj1u0qx6Q9vB2m",
        iss="https://dev-123456.okta.com/oauth2/default",
        aud=FX_AUD,
        cid="0oa1b2c3d4E5F6g7h8i9",
        uid="00u1a2b3c4D5e6F7g8h9",
        scp=["orders:read", "openid"],
        auth_time=int(now) - 300,
        sub="ada@example.com",
        groups=["admin", "Everyone"],
    )
    return header, claims


def entra_id(now: float) -> tuple[dict, dict]:
    """Microsoft Entra ID v2.0 access token ("Access token claims reference")."""
    header = {"typ": "JWT", "x5t": "kWbkaa6qs8wsTnBwiiNYOhHbnAw"}
    claims = _claims(
        now,
        aud=FX_AUD,
        iss="https://login.microsoftonline.com/72f988bf-86f1-41af-91ab-2d7cd011db47/v2.0",
        nbf=int(now) - NOW_OFFSET,
        aio="AVQAq/8TAAAA",
        azp="6e74172b-be56-4843-9ff4-e66a39bb12e3",
        azpacr="0",
        name="Ada Lovelace",
        oid="690222be-ff1a-4d56-abd1-7e4f7d38e474",
        preferred_username="ada@contoso.com",
        rh="I",
        scp="orders:read User.Read",
        sub="MF4f-ggWMEji12KynJUNQZphaUTvLcQug5jdF2nl01Q",
        tid="72f988bf-86f1-41af-91ab-2d7cd011db47",
        uti="fqiBqXLPj0eQa82S-IYFAA",
        ver="2.0",
        roles=["admin"],
    )
    return header, claims


def keycloak(now: float, typ_claim: str = "Bearer") -> tuple[dict, dict]:
    """Keycloak access token (typ claim "Bearer"; its ID tokens say "ID")."""
    header = {"typ": "JWT"}
    claims = _claims(
        now,
        jti="3c0a3d2e-5e0b-4b6a-9a7e-1c7d3c1b0f21",
        iss="https://sso.example.com/realms/shop",
        aud=[FX_AUD, "account"],
        sub="f1b7c6a2-3b4d-4e5f-8a9b-0c1d2e3f4a5b",
        typ=typ_claim,
        azp="shop-frontend",
        session_state="b1c2d3e4",
        acr="1",
        realm_access={"roles": ["admin", "offline_access"]},
        resource_access={"account": {"roles": ["manage-account"]}},
        scope="openid profile orders:read",
        sid="b1c2d3e4",
        preferred_username="ada",
    )
    return header, claims


def cognito(now: float, token_use: str = "access") -> tuple[dict, dict]:
    """Amazon Cognito user-pool access token: no typ header, no aud."""
    header = {"typ": ABSENT}
    claims = _claims(
        now,
        sub="aaaaaaaa-bbbb-cccc-dddd-example",
        **{"cognito:groups": ["admin"]},
        iss="https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_example",
        version=2,
        client_id="1example23456789",
        origin_jti="ebc0c8d8-0f1d-4a1a-9b0d-2a7c0b9e9f4a",
        event_id="d0b2c0e1-0a8f-4b43-9c7c-5e0c3f2a1b6d",
        token_use=token_use,
        scope="orders:read aws.cognito.signin.user.admin",
        auth_time=int(now) - 60,
        jti="a1b2c3d4-e5f6-7a8b-9c0d-example",
        username="ada",
    )
    return header, claims


def google(now: float) -> tuple[dict, dict]:
    """A Google-signed ID token minted for a service's audience (metadata server)."""
    header = {"typ": "JWT"}
    claims = _claims(
        now,
        aud=FX_AUD,
        azp="113774264463038321964",
        email="caller@project.iam.gserviceaccount.com",
        email_verified=True,
        iss="https://accounts.google.com",
        sub="113774264463038321964",
    )
    return header, claims


# (name, profile, token shape, audience option, expected client id, default-profile verdict)
CASES = [
    ("auth0", providers.AUTH0, auth0_default, FX_AUD, "K1xAz3vPqQ9", invalid_token("typ")),
    ("okta", providers.OKTA, okta, FX_AUD, "0oa1b2c3d4E5F6g7h8i9", invalid_token("typ")),
    ("entra_id", providers.ENTRA_ID, entra_id, FX_AUD, "6e74172b-be56-4843-9ff4-e66a39bb12e3", invalid_token("typ")),
    ("keycloak", providers.KEYCLOAK, keycloak, FX_AUD, "shop-frontend", invalid_token("typ")),
    ("cognito", providers.COGNITO, cognito, "1example23456789", "1example23456789", invalid_token("typ")),
    ("google", providers.GOOGLE, google, FX_AUD, "113774264463038321964", invalid_token("typ")),
    ("rfc9068", providers.RFC9068, auth0_rfc9068, FX_AUD, "K1xAz3vPqQ9", None),
]


@pytest.fixture
def use_issuer(fx):
    """Configure one issuer (the shape's iss) with a profile, keys from the loopback server."""

    def configure(issuer: str, profile, audience: str) -> None:
        fx.settings.JWT_AT_ISSUERS = {
            issuer: {**profile, "AUDIENCE": audience, "JWKS_URI": fx.server.url("/jwks"), "ALGORITHMS": ["RS256"]}
        }

    return configure


def _token(make_token, shape) -> str:
    header, claims = shape
    return make_token(header=header, payload=json.dumps(claims))


@pytest.mark.parametrize(
    ("profile", "shape", "audience", "client_id"),
    [pytest.param(p, s, a, c, id=n) for n, p, s, a, c, _ in CASES],
)
def test_recipe_accepts_the_providers_token(api, make_token, clock, use_issuer, profile, shape, audience, client_id):
    header, claims = shape(clock.t)
    use_issuer(claims["iss"], profile, audience)
    response = api.get("/whoami", _token(make_token, (header, claims)))
    assert response.status_code == 200, response.content
    auth = json_body(response)["auth"]
    assert (auth["issuer"], auth["subject"], auth["client_id"]) == (claims["iss"], claims["sub"], client_id)
    assert json_body(response)["user"]["is_staff"] is False


@pytest.mark.parametrize(
    ("shape", "expected"),
    [pytest.param(s, e, id=n) for n, _, s, _, _, e in CASES if e is not None],
)
def test_strict_default_refuses_the_providers_token(api, make_token, clock, use_issuer, shape, expected):
    header, claims = shape(clock.t)
    use_issuer(claims["iss"], providers.RFC9068, FX_AUD)
    response = api.get("/whoami", _token(make_token, (header, claims)))
    assert (response.status_code, response["WWW-Authenticate"]) == (401, expected)


def test_rfc9068_token_passes_the_default(api, make_token, clock, use_issuer):
    header, claims = auth0_rfc9068(clock.t)
    use_issuer(claims["iss"], {}, FX_AUD)
    assert api.get("/orders", _token(make_token, (header, claims))).status_code == 200


@pytest.mark.parametrize(
    ("profile", "shape", "audience", "scope_granted"),
    [
        pytest.param(providers.OKTA, okta, FX_AUD, True, id="okta-scp-array"),
        pytest.param(providers.ENTRA_ID, entra_id, FX_AUD, True, id="entra-scp-string"),
        pytest.param(providers.KEYCLOAK, keycloak, FX_AUD, True, id="keycloak-scope"),
        pytest.param(providers.COGNITO, cognito, "1example23456789", True, id="cognito-scope"),
        pytest.param(providers.GOOGLE, google, FX_AUD, False, id="google-no-scopes"),
    ],
)
def test_scopes_come_from_the_profiles_claim(
    api, make_token, clock, use_issuer, profile, shape, audience, scope_granted
):
    header, claims = shape(clock.t)
    use_issuer(claims["iss"], profile, audience)
    response = api.get("/orders", _token(make_token, (header, claims)))
    if scope_granted:
        assert response.status_code == 200
    else:
        assert (response.status_code, response["WWW-Authenticate"]) == (403, insufficient_scope("orders:read"))


@pytest.mark.parametrize(
    ("profile", "shape", "audience"),
    [
        pytest.param(providers.OKTA, okta, FX_AUD, id="okta-groups"),
        pytest.param(providers.ENTRA_ID, entra_id, FX_AUD, id="entra-roles"),
        pytest.param(providers.KEYCLOAK, keycloak, FX_AUD, id="keycloak-realm_access.roles"),
        pytest.param(providers.COGNITO, cognito, "1example23456789", id="cognito-groups"),
    ],
)
def test_roles_come_from_the_profiles_claim(api, make_token, clock, use_issuer, profile, shape, audience):
    header, claims = shape(clock.t)
    use_issuer(claims["iss"], profile, audience)
    assert api.get("/admin", _token(make_token, (header, claims))).status_code == 200
    # Without the role the same shape gets 403 insufficient_scope without scope.
    roles_path = dict(profile)["ROLES_CLAIM"].split(".")
    target = claims
    for part in roles_path[:-1]:
        target = target[part]
    target[roles_path[-1]] = ["viewer"]
    response = api.get("/admin", _token(make_token, (header, claims)))
    assert (response.status_code, response["WWW-Authenticate"]) == (403, insufficient_scope())


def test_keycloak_id_token_is_refused(api, make_token, clock, use_issuer):
    header, claims = keycloak(clock.t, typ_claim="ID")
    use_issuer(claims["iss"], providers.KEYCLOAK, FX_AUD)
    response = api.get("/whoami", _token(make_token, (header, claims)))
    assert (response.status_code, response["WWW-Authenticate"]) == (401, invalid_token("claims"))


def test_cognito_id_token_is_refused(api, make_token, clock, use_issuer):
    # Cognito ID tokens carry aud (the app client id), token_use "id" and no client_id.
    header, claims = cognito(clock.t, token_use="id")
    claims["aud"] = claims.pop("client_id")
    use_issuer(claims["iss"], providers.COGNITO, "1example23456789")
    response = api.get("/whoami", _token(make_token, (header, claims)))
    assert (response.status_code, response["WWW-Authenticate"]) == (401, invalid_token("aud"))


def test_cognito_audience_is_the_client_id(api, make_token, clock, use_issuer):
    header, claims = cognito(clock.t)
    use_issuer(claims["iss"], providers.COGNITO, "another-app-client")
    response = api.get("/whoami", _token(make_token, (header, claims)))
    assert (response.status_code, response["WWW-Authenticate"]) == (401, invalid_token("aud"))


def test_profile_keeps_the_other_checks(api, make_token, clock, use_issuer):
    """A relaxed typ does not relax anything else: an Entra-shaped token signed by a key
    that is not published, or expired, is still refused."""
    header, claims = entra_id(clock.t)
    use_issuer(claims["iss"], providers.ENTRA_ID, FX_AUD)
    forged = make_token(header=header, payload=json.dumps(claims), key="KX")
    response = api.get("/whoami", forged)
    assert (response.status_code, response["WWW-Authenticate"]) == (401, invalid_token("signature"))
    claims["exp"] = int(clock.t) - 3600
    response = api.get("/whoami", _token(make_token, (header, claims)))
    assert (response.status_code, response["WWW-Authenticate"]) == (401, invalid_token("expired"))


def test_typ_of_another_issuers_profile_is_refused(api, make_token, clock, fx):
    """TOKEN_TYPES is per issuer: typ JWT accepted for the Entra issuer is still refused
    for an RFC 9068 issuer configured beside it."""
    header, claims = entra_id(clock.t)
    fx.settings.JWT_AT_ISSUERS = {
        claims["iss"]: {**providers.ENTRA_ID, "AUDIENCE": FX_AUD, "JWKS_URI": fx.server.url("/jwks")},
        "https://as.example.com": {"AUDIENCE": FX_AUD, "JWKS_URI": fx.server.url("/jwks")},
    }
    assert api.get("/whoami", _token(make_token, (header, claims))).status_code == 200
    header, strict = auth0_rfc9068(clock.t)
    strict["iss"] = "https://as.example.com"
    response = api.get("/whoami", make_token(header={"typ": "JWT"}, payload=json.dumps(strict)))
    assert (response.status_code, response["WWW-Authenticate"]) == (401, invalid_token("typ"))


def test_required_claim_values_and_extra_required_claims(api, make_token, clock, fx):
    header, claims = auth0_rfc9068(clock.t)
    fx.settings.JWT_AT_ISSUERS = {
        claims["iss"]: {
            "AUDIENCE": FX_AUD,
            "JWKS_URI": fx.server.url("/jwks"),
            "REQUIRED_CLAIMS": ["client_id", "jti", "tid"],
            "REQUIRED_CLAIM_VALUES": {"tid": "tenant-1"},
        }
    }
    response = api.get("/whoami", _token(make_token, (header, claims)))
    assert (response.status_code, response["WWW-Authenticate"]) == (401, invalid_token("claims"))
    claims["tid"] = "tenant-2"
    response = api.get("/whoami", _token(make_token, (header, claims)))
    assert (response.status_code, response["WWW-Authenticate"]) == (401, invalid_token("claims"))
    claims["tid"] = "tenant-1"
    assert api.get("/whoami", _token(make_token, (header, claims))).status_code == 200


def test_scope_array_of_non_strings_is_invalid(api, make_token, clock, use_issuer):
    header, claims = okta(clock.t)
    claims["scp"] = ["orders:read", 7]
    use_issuer(claims["iss"], providers.OKTA, FX_AUD)
    response = api.get("/orders", _token(make_token, (header, claims)))
    assert (response.status_code, response["WWW-Authenticate"]) == (401, invalid_token("claims"))


def test_relaxed_profile_is_announced_by_w002(fx):
    fx.settings.JWT_AT_ISSUERS = {
        "https://sso.example.com/realms/shop": {**providers.KEYCLOAK, "AUDIENCE": FX_AUD},
        "https://as.example.com": {"AUDIENCE": FX_AUD},
    }
    w002 = [m for m in run_checks() if m.id == "django_jwt_at.W002"]
    assert [m.msg.split("'")[1] for m in w002] == ["https://sso.example.com/realms/shop"]


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("TOKEN_TYPES", []),
        ("TOKEN_TYPES", ["at+jwt", 5]),
        ("SCOPE_FORMAT", "list"),
        ("SCOPE_CLAIM", ""),
        ("ROLES_CLAIM", None),
        ("REQUIRED_CLAIMS", "jti"),
        ("REQUIRED_CLAIM_VALUES", {"typ": 1}),
    ],
)
def test_bad_profile_options_are_e018(fx, option, value):
    fx.settings.JWT_AT_ISSUERS = {"https://as.example.com": {"AUDIENCE": FX_AUD, option: value}}
    ids = [m.id for m in run_checks() if m.id.startswith("django_jwt_at.E")]
    assert ids == ["django_jwt_at.E018"]


def test_unprofiled_bearer_challenge_unchanged(api):
    """Profiles change nothing in challenges: no credentials is still the bare realm."""
    response = api.get("/orders")
    assert (response.status_code, response["WWW-Authenticate"]) == (401, bearer())
