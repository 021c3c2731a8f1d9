"""django_jwt_at.testing: what the test issuer mints validates through the real
authentication class, its key set reaches the package without network (installed) or over
loopback HTTP (served), overrides are undone, and the pytest plugin works in a project of
its own (run in a subprocess) and loads without Django.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ImproperlyConfigured
from django.test import AsyncClient, Client, override_settings
from rest_framework.test import APIClient

from django_jwt_at.jwks import key_sets
from django_jwt_at.models import TokenSubject
from django_jwt_at.testing import (
    OMIT,
    DPoPKey,
    TestIssuer,
    TestKey,
    auth_header,
    authenticate,
    challenges,
    dpop_headers,
    override_issuers,
)

from .dpop_proofs import ath, thumbprint
from .helpers import (
    FX_ISS,
    NO_CREDENTIALS,
    D,
    dpop,
    insufficient_scope,
    invalid_token,
    json_body,
    parse_challenges,
)
from .signing import b64url_decode

ROOT = Path(__file__).resolve().parent.parent
ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"]


@pytest.fixture(scope="module")
def issuer() -> TestIssuer:
    return TestIssuer(algorithms=("RS256", "PS256", "ES256"), scope="orders:read")


def decode(token: str) -> tuple[dict, dict]:
    header, claims, _ = token.split(".")
    return json.loads(b64url_decode(header)), json.loads(b64url_decode(claims))


# --- what is minted ------------------------------------------------------------------------------


def test_default_header_and_rfc_9068_claims(issuer, clock):
    header, claims = decode(issuer.token())
    key = issuer.key("RS256")
    assert header == {"typ": "at+jwt", "alg": "RS256", "kid": key.kid}
    assert set(claims) == {"iss", "sub", "aud", "client_id", "iat", "exp", "jti", "scope"}
    assert claims["iss"] == "https://issuer.test"
    assert claims["aud"] == "https://api.test"
    assert (claims["sub"], claims["client_id"], claims["scope"]) == ("test-user", "test-client", "orders:read")
    assert claims["iat"] == int(clock.t)  # the package's clock, not the wall clock
    assert claims["exp"] == int(clock.t) + 300
    assert decode(issuer.token())[1]["jti"] != claims["jti"]


def test_overrides_omit_and_scope_lists(issuer):
    header, claims = decode(
        issuer.token({"https://example.com/roles": ["a"]}, header={"kid": OMIT, "x": 1}, scope=["a", "b"], aud=OMIT)
    )
    assert header == {"typ": "at+jwt", "alg": "RS256", "x": 1}
    assert claims["scope"] == "a b"
    assert "aud" not in claims
    assert claims["https://example.com/roles"] == ["a"]
    header, _ = decode(issuer.token(alg="ES256"))
    assert header == {"typ": "at+jwt", "alg": "ES256", "kid": issuer.key("ES256").kid}


def test_sign_adds_nothing(issuer):
    token = issuer.sign({"alg": "PS256"}, {"a": 1}, alg="PS256")
    assert decode(token) == ({"alg": "PS256"}, {"a": 1})


def test_jwks_is_public_and_kid_is_the_rfc_7638_thumbprint():
    key = TestKey("RS256")
    assert set(key.public_jwk()) == {"kty", "n", "e", "kid", "use", "alg"}
    assert key.kid == key.thumbprint()

    class RFC7638Example(TestKey):
        def _public_members(self):
            # RFC 7638 §3.1: the example RSA key and its SHA-256 thumbprint.
            return {
                "kty": "RSA",
                "e": "AQAB",
                "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc"
                "_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2Qv"
                "zqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0f"
                "M4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
            }

    assert RFC7638Example("RS256").kid == "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"


def test_key_of_the_wrong_type_is_refused():
    with pytest.raises(ValueError):
        TestKey("ES256", private_key=TestKey("RS256").private_key)
    with pytest.raises(ValueError):
        TestKey("ES384", private_key=TestKey("ES256").private_key)
    with pytest.raises(ValueError):
        TestKey("HS256")


# --- tokens validate through the authentication class ------------------------------------------------


@pytest.mark.parametrize("alg", ALGORITHMS)
def test_minted_token_validates_installed(api, alg, outbound):
    issuer = TestIssuer(algorithms=[alg])
    with override_issuers(issuer):
        response = api.get("/whoami", issuer.token())
    assert response.status_code == 200, response.content
    body = json_body(response)["auth"]
    assert (body["issuer"], body["subject"], body["client_id"]) == ("https://issuer.test", "test-user", "test-client")
    assert outbound == []  # installed: no lookup, no fetch


def test_served_key_set_is_fetched_once(api, issuer, outbound):
    with override_issuers(issuer, serve=True):
        assert settings.JWT_AT_ISSUERS[issuer.issuer]["JWKS_URI"] == issuer.jwks_uri
        assert api.get("/whoami", issuer.token()).status_code == 200
        assert api.get("/whoami", issuer.token(alg="ES256")).status_code == 200
        assert issuer.jwks_requests == 1
    assert issuer.jwks_uri is None  # started by the override, stopped by it
    assert set(outbound) == {"127.0.0.1"}


def test_scopes_reach_the_permissions(api, issuer):
    with issuer.configure():
        assert api.get("/orders", issuer.token()).status_code == 200
        response = api.get("/orders", issuer.token(scope=OMIT))
    assert response.status_code == 403
    assert response["WWW-Authenticate"] == insufficient_scope("orders:read")


@pytest.mark.parametrize(
    ("overrides", "description"),
    [
        ({"header": {"typ": "JWT"}}, "typ"),
        ({"header": {"alg": "HS256"}}, "alg"),
        ({"exp": 0, "iat": 0}, "expired"),
        ({"aud": "https://other.test"}, "aud"),
        ({"client_id": OMIT}, "claims"),
    ],
    ids=["typ", "alg", "exp", "aud", "required-claim"],
)
def test_the_package_stays_strict(api, issuer, overrides, description):
    with override_issuers(issuer):
        response = api.get("/whoami", issuer.token(**overrides))
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == invalid_token(description)


def test_another_issuers_key_under_the_same_name_is_refused(api, issuer, outbound):
    impostor = TestIssuer(issuer.issuer, algorithms=["RS256"])
    with override_issuers(issuer):
        forged = api.get(
            "/whoami", impostor.sign({"typ": "at+jwt", "alg": "RS256", "kid": issuer.key().kid}, issuer.claims())
        )
        unknown_kid = api.get("/whoami", impostor.token())
    assert forged["WWW-Authenticate"] == invalid_token("signature")
    assert unknown_kid.status_code == 401  # an installed key set is never refreshed
    assert outbound == []


def test_override_is_undone(api, issuer):
    before = settings.JWT_AT_ISSUERS
    with override_issuers(issuer, JWT_AT_REALM="tests"):
        assert list(settings.JWT_AT_ISSUERS) == [issuer.issuer]
        assert settings.JWT_AT_REALM == "tests"
    assert settings.JWT_AT_ISSUERS == before
    assert list(before) == [FX_ISS]
    response = api.get("/whoami", issuer.token())
    assert response["WWW-Authenticate"] == invalid_token("iss")


def test_installed_keys_survive_other_setting_changes(api, issuer, outbound):
    with override_issuers(issuer), override_settings(JWT_AT_LEEWAY=0):
        assert api.get("/whoami", issuer.token()).status_code == 200
    assert outbound == []


def test_override_as_decorator(api, issuer):
    @override_issuers(issuer)
    def call():
        return api.get("/whoami", issuer.token())

    assert call().status_code == 200
    assert key_sets._installed == {}


# --- clients -----------------------------------------------------------------------------------------


def test_authenticate_apiclient_and_django_client(api, issuer):
    with override_issuers(issuer):
        token = issuer.token()
        assert authenticate(api.client, token) is api.client
        assert api.get("/whoami", secrets=[token]).status_code == 200
        authenticate(api.client, None)
        response = api.get("/whoami")
        assert response.status_code == 401
        assert response["WWW-Authenticate"] == NO_CREDENTIALS

        client = authenticate(Client(), token)
        assert client.get("/whoami").status_code == 200
        assert client.get("/whoami").status_code == 200
        assert authenticate(client, None).get("/whoami").status_code == 401
        assert Client().get("/whoami", headers=auth_header(token)).status_code == 200


# --- DPoP ---------------------------------------------------------------------------------------------

RS = "https://rs.example.com"


@pytest.fixture
def dpop_api(settings):
    settings.JWT_AT_DPOP = "optional"
    settings.JWT_AT_RESOURCE_URL = RS
    return settings


def test_dpop_key_thumbprint_jwk_and_proof(clock):
    key = DPoPKey()
    assert key.alg == "ES256"
    assert set(key.jwk) == {"kty", "crv", "x", "y"}
    assert key.jkt == thumbprint(key.jwk)  # computed independently (RFC 7638 §3)
    header, claims = decode(key.proof("POST", RS + "/orders", "the-token", nonce="n-1"))
    assert header == {"typ": "dpop+jwt", "alg": "ES256", "jwk": key.jwk}
    assert set(claims) == {"jti", "htm", "htu", "iat", "ath", "nonce"}
    assert (claims["htm"], claims["htu"], claims["iat"]) == ("POST", RS + "/orders", int(clock.t))
    assert (claims["ath"], claims["nonce"]) == (ath("the-token"), "n-1")
    assert decode(key.proof("GET", RS))[1].keys() == {"jti", "htm", "htu", "iat"}
    assert decode(key.proof("GET", RS))[1]["jti"] != decode(key.proof("GET", RS))[1]["jti"]
    header, claims = decode(key.proof("GET", RS, header={"typ": "JWT"}, claims={"iat": OMIT, "x": 1}, jti="j"))
    assert header["typ"] == "JWT"
    assert claims == {"jti": "j", "htm": "GET", "htu": RS, "x": 1}
    assert DPoPKey().jkt != key.jkt
    assert decode(DPoPKey("PS256").proof("GET", RS))[0]["jwk"]["kty"] == "RSA"


def test_dpop_proof_for_a_path_uses_the_configured_origin(settings):
    settings.JWT_AT_RESOURCE_URL = None
    settings.JWT_AT_RESOURCE = "https://API.example.com:443/v1"
    assert decode(DPoPKey().proof("GET", "/v1/orders"))[1]["htu"] == "https://api.example.com/v1/orders"
    settings.JWT_AT_RESOURCE_URL = "https://edge.example.com:8443"
    assert decode(DPoPKey().proof("GET", "/orders"))[1]["htu"] == "https://edge.example.com:8443/orders"
    settings.JWT_AT_RESOURCE_URL = settings.JWT_AT_RESOURCE = None
    with pytest.raises(ImproperlyConfigured, match="JWT_AT_RESOURCE_URL"):
        DPoPKey().proof("GET", "/orders")


def test_token_bound_to_a_dpop_key(issuer):
    key = DPoPKey()
    assert decode(issuer.token(dpop_key=key))[1]["cnf"] == {"jkt": key.jkt}
    assert decode(issuer.token(dpop_key=key, cnf={"jkt": "other"}))[1]["cnf"] == {"jkt": "other"}
    assert "cnf" not in decode(issuer.token())[1]


@pytest.mark.parametrize("path", ["/dpop-required", "/plain/dpop-required", "/~user/x", "/a%2fb"])
def test_authenticated_client_sends_a_fresh_proof_per_request(api, issuer, dpop_api, path):
    key = DPoPKey()
    token = issuer.token(dpop_key=key)
    with override_issuers(issuer):
        authenticate(api.client, token, dpop=key)
        first = api.get(path, secrets=[token])
        second = api.get(path, secrets=[token])  # a replayed proof would be refused
    assert (first.status_code, second.status_code) == (200, 200), first.content
    assert first.wsgi_request.META["HTTP_DPOP"] != second.wsgi_request.META["HTTP_DPOP"]
    header, claims = decode(first.wsgi_request.META["HTTP_DPOP"])
    assert claims["htu"] == RS + quote_path(path)
    assert (claims["htm"], claims["ath"], header["jwk"]) == ("GET", ath(token), key.jwk)
    assert first.wsgi_request.META["HTTP_AUTHORIZATION"] == f"DPoP {token}"


def quote_path(path: str) -> str:
    return {"/a%2fb": "/a/b"}.get(path, path)  # the client sends the path as the server decodes it


def test_django_client_sends_proofs_too(issuer, dpop_api):
    key = DPoPKey()
    with override_issuers(issuer):
        client = authenticate(Client(), issuer.token(dpop_key=key), dpop=key)
        assert [client.get("/dpop-required").status_code for _ in range(2)] == [200, 200]
        assert authenticate(client, issuer.token(dpop_key=key), dpop=key) is client  # not wrapped twice
        assert client.get("/dpop-required").status_code == 200
        authenticate(client, None)
        response = client.get("/dpop-required")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == dpop()
    assert "HTTP_DPOP" not in response.wsgi_request.META
    assert "get_response" not in vars(client.handler)


def test_replayed_proof_is_refused(api, issuer, dpop_api):
    key = DPoPKey()
    token = issuer.token(dpop_key=key)
    headers = dpop_headers(token, key, "GET", "/dpop-required")
    assert headers["Authorization"] == f"DPoP {token}"
    with override_issuers(issuer):
        assert api.get("/dpop-required", headers=headers, secrets=[token]).status_code == 200
        replayed = api.get("/dpop-required", headers=headers, secrets=[token])
        # A client that sends its own DPoP header keeps it.
        authenticate(api.client, token, dpop=key)
        own_header = api.get("/dpop-required", headers={"DPoP": headers["DPoP"]}, secrets=[token])
    for response in (replayed, own_header):
        assert response.status_code == 401
        assert response["WWW-Authenticate"] == dpop("invalid_dpop_proof", D["dpop-proof"])


def test_proof_by_another_key_is_refused(api, issuer, dpop_api):
    token = issuer.token(dpop_key=DPoPKey())
    with override_issuers(issuer):
        authenticate(api.client, token, dpop=DPoPKey())
        response = api.get("/dpop-required", secrets=[token])
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == dpop("invalid_token", D["dpop-binding"])


def test_bound_token_sent_as_bearer_is_refused(api, issuer, dpop_api):
    token = issuer.token(dpop_key=DPoPKey())
    with override_issuers(issuer):
        authenticate(api.client, token)
        response = api.get("/dpop-optional", secrets=[token])
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == f"{invalid_token('dpop-bearer')}, {dpop()}"


def test_client_learns_the_server_nonce(api, issuer, dpop_api):
    dpop_api.JWT_AT_DPOP_NONCE = True
    dpop_api.JWT_AT_DPOP_NONCE_SECRET = "n" * 32
    key = DPoPKey()
    token = issuer.token(dpop_key=key)
    with override_issuers(issuer):
        authenticate(api.client, token, dpop=key)
        first = api.get("/dpop-required", secrets=[token])
        second = api.get("/dpop-required", secrets=[token])
    assert first.status_code == 401
    assert challenges(first)["DPoP"]["error"] == "use_dpop_nonce"
    assert second.status_code == 200, second.content
    assert decode(second.wsgi_request.META["HTTP_DPOP"])[1]["nonce"] == first["DPoP-Nonce"]


def test_proofs_need_a_sync_test_client(issuer):
    with pytest.raises(TypeError, match="dpop_headers"):
        authenticate(AsyncClient(), issuer.token(), dpop=DPoPKey())
    assert authenticate(AsyncClient(), issuer.token()) is not None  # Bearer works on any client


# --- Django users (ModelUserMapping) ----------------------------------------------------------------


@pytest.fixture
def model_users(settings):
    settings.JWT_AT_USER_MAPPING = "django_jwt_at.users.ModelUserMapping"
    return settings


@pytest.mark.django_db
def test_token_for_links_an_existing_user(api, issuer, model_users):
    alice = get_user_model().objects.create_user("alice")
    with override_issuers(issuer):
        token = issuer.token_for(alice, scope="x")
        response = api.get("/whoami", token)
    assert response.status_code == 200, response.content
    body = json_body(response)
    assert (body["auth"]["subject"], body["user"]["username"]) == ("alice", "alice")
    assert decode(token)[1]["scope"] == "x"
    link = TokenSubject.objects.get()
    assert (link.issuer, link.subject, link.user) == (issuer.issuer, "alice", alice)
    assert issuer.linked_user("alice") == alice


@pytest.mark.django_db
def test_link_with_a_subject_of_its_own_and_relinking(api, issuer, model_users):
    alice, bob = (get_user_model().objects.create_user(name) for name in ("alice", "bob"))
    assert issuer.link(alice, "sub-1") == "sub-1"
    assert issuer.link(alice, "sub-1") == "sub-1"  # idempotent
    assert issuer.linked_user("sub-1") == alice
    issuer.link(bob, "sub-1")  # the subject now names bob
    assert issuer.linked_user("sub-1") == bob
    assert TokenSubject.objects.count() == 1
    with override_issuers(issuer):
        response = api.get("/whoami", issuer.token_for(alice, sub="sub-2"))
    assert json_body(response)["user"]["username"] == "alice"
    assert other_issuer_sees_nothing(issuer)


def other_issuer_sees_nothing(issuer):
    return TestIssuer("https://other.test", algorithms=["ES256"]).linked_user("sub-1") is None


@pytest.mark.django_db
def test_unknown_subject_and_created_users(api, issuer, model_users):
    with override_issuers(issuer):
        unknown = api.get("/whoami", issuer.token(sub="carol"))
        assert issuer.linked_user("carol") is None
        with override_settings(JWT_AT_CREATE_USERS=True):
            created = api.get("/whoami", issuer.token(sub="carol"))
    assert unknown.status_code == 401
    assert unknown["WWW-Authenticate"] == (
        'Bearer realm="api", error="invalid_token", error_description="The user of the access token is not known"'
    )
    assert created.status_code == 200
    carol = issuer.linked_user("carol")
    assert json_body(created)["user"]["username"] == carol.username
    assert carol.username.startswith("jwt.")
    assert not carol.is_staff


# --- reading challenges ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("", {}),
        ('Bearer realm="api"', {"Bearer": {"realm": "api"}}),
        (
            'Bearer realm="api", error="invalid_token", error_description="a, b", DPoP algs="ES256 PS256"',
            {
                "Bearer": {"realm": "api", "error": "invalid_token", "error_description": "a, b"},
                "DPoP": {"algs": "ES256 PS256"},
            },
        ),
        ('DPoP algs="ES256", Bearer realm=api', {"DPoP": {"algs": "ES256"}, "Bearer": {"realm": "api"}}),
        ('Bearer realm = "a\\"b" ,, Basic', {"Bearer": {"realm": 'a"b'}, "Basic": {}}),
        ("Negotiate abc==, Basic realm=x", {"Negotiate": {"token68": "abc=="}, "Basic": {"realm": "x"}}),
    ],
    ids=["empty", "one", "two-schemes", "token-values", "escapes-and-empty-elements", "token68"],
)
def test_challenges_parses_rfc_9110_challenges(value, expected):
    assert challenges(value) == expected


@pytest.mark.parametrize(
    "value",
    ['Bearer realm="a" error="x"', 'Bearer realm="a", realm="b"', "Bearer, Bearer", "=x", 'Bearer realm="a"x'],
    ids=["no-comma", "parameter-twice", "scheme-twice", "no-scheme", "junk"],
)
def test_challenges_refuses_what_is_not_a_challenge_list(value):
    with pytest.raises(ValueError):
        challenges(value)


def test_challenges_of_a_response_agree_with_the_strict_parser(api, issuer, dpop_api):
    with override_issuers(issuer):
        response = api.get("/orders", issuer.token(scope=OMIT))
    value = response["WWW-Authenticate"]
    assert challenges(response) == {scheme: dict(params) for scheme, params in parse_challenges(value)}
    assert challenges(response)["Bearer"]["scope"] == "orders:read"
    assert challenges(APIClient().get("/public")) == {}


# --- the pytest plugin -------------------------------------------------------------------------------


def _run_pytest(path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "PYTEST_"))}
    env["PYTHONPATH"] = str(ROOT)
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args],
        cwd=path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


PROJECT = {
    "pytest.ini": """
        [pytest]
        DJANGO_SETTINGS_MODULE = project_settings
        pythonpath = .
    """,
    "project_settings.py": """
        SECRET_KEY = "x"
        INSTALLED_APPS = ["django.contrib.contenttypes", "django.contrib.auth", "rest_framework", "django_jwt_at"]
        DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}
        ROOT_URLCONF = "project_urls"
        REST_FRAMEWORK = {
            "DEFAULT_AUTHENTICATION_CLASSES": ["django_jwt_at.authentication.JWTAccessTokenAuthentication"],
            "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
        }
        JWT_AT_ISSUERS = {"https://login.example.com": {"AUDIENCE": "https://api.example.com"}}
    """,
    "project_urls.py": """
        from django.urls import path
        from rest_framework.response import Response
        from rest_framework.views import APIView
        from django_jwt_at.permissions import HasScope

        class Orders(APIView):
            permission_classes = [HasScope("orders:read")]
            def get(self, request):
                return Response({"sub": request.auth.subject})

        urlpatterns = [path("orders", Orders.as_view())]
    """,
    "test_orders.py": """
        from django_jwt_at.testing import authenticate

        def test_installed(jwt_at_issuer, jwt_at_client):
            authenticate(jwt_at_client, jwt_at_issuer.token(scope="orders:read", sub="alice"))
            response = jwt_at_client.get("/orders")
            assert (response.status_code, response.json()) == (200, {"sub": "alice"})

        def test_served(jwt_at_served_issuer, jwt_at_client):
            authenticate(jwt_at_client, jwt_at_served_issuer.token(scope="other", alg="ES256"))
            response = jwt_at_client.get("/orders")
            assert response.status_code == 403
            assert 'scope="orders:read"' in response["WWW-Authenticate"]
            assert jwt_at_served_issuer.jwks_requests == 1

        def test_no_token(jwt_at_issuer, jwt_at_client):
            # No external origin configured: DPoP is off, the challenge is Bearer-only.
            assert jwt_at_client.get("/orders")["WWW-Authenticate"] == 'Bearer realm="api"'

        # pytest-django's settings fixture, before or after the issuer fixtures: every change
        # is undone after the test, in reverse order.
        def test_settings_fixture_first(settings, jwt_at_issuer, jwt_at_client):
            settings.JWT_AT_REALM = "changed"
            assert jwt_at_client.get("/orders")["WWW-Authenticate"] == 'Bearer realm="changed"'

        def test_settings_fixture_last(jwt_at_served_issuer, jwt_at_client, settings):
            settings.JWT_AT_REALM = "changed"
            assert jwt_at_client.get("/orders")["WWW-Authenticate"] == 'Bearer realm="changed"'

        def test_everything_is_restored():
            from django.conf import settings

            assert settings.JWT_AT_ISSUERS == {"https://login.example.com": {"AUDIENCE": "https://api.example.com"}}
            assert not hasattr(settings, "JWT_AT_REALM")
    """,
}


def test_plugin_fixtures_in_a_project(tmp_path):
    for name, text in PROJECT.items():
        (tmp_path / name).write_text(textwrap.dedent(text))
    result = _run_pytest(tmp_path, "-q")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "6 passed" in result.stdout


def test_plugin_loads_without_django(tmp_path):
    (tmp_path / "test_plain.py").write_text("def test_plain():\n    assert 1 + 1 == 2\n")
    result = _run_pytest(tmp_path, "-p", "no:django", "-q", "--fixtures")
    assert result.returncode == 0, result.stdout + result.stderr
    for fixture in ("jwt_at_test_issuer", "jwt_at_issuer", "jwt_at_served_issuer", "jwt_at_client"):
        assert fixture in result.stdout
    result = _run_pytest(tmp_path, "-p", "no:django", "-q")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 passed" in result.stdout
    probe = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, django_jwt_at.testing.pytest_plugin; print(sorted(m for m in "
            "('django', 'cryptography', 'jose', 'rest_framework', 'requests') if m in sys.modules))",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    assert probe.stdout.strip() == "[]"
