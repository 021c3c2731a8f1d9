"""Third-party OAuth clients against the package, over real sockets.

The API is the example of docs/mcp.rst (tests/mcp_example), served by Django's threaded
WSGI server on 127.0.0.1 (tests/django_server.py); tokens come from the small
authorization server of tests/oauth_server.py, also on 127.0.0.1. No client is mocked or
patched: each is driven through its public API as an application would drive it.

- the ``mcp`` SDK's ``OAuthClientProvider``: 401, RFC 9728 metadata from
  ``resource_metadata``, RFC 8414 metadata, RFC 7591 registration, authorization code
  with PKCE, token, 200; it asks for the scopes of the 401's challenge
  (``JWT_AT_CHALLENGE_SCOPE``), not for every scope of the metadata;
- requests-oauth2client: its DPoP client retries ``use_dpop_nonce`` by itself on an API
  in DPoP ``"optional"`` mode with server nonces; its Bearer client gets 200 and 403;
- Authlib's ``OAuth2Session`` with the client credentials grant.

The clock is the real one here: the clients and the authorization server stamp tokens
and proofs with it. Every request has a timeout; nothing sleeps.
"""

from __future__ import annotations

import importlib
import json
import re
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import anyio
import pytest
import requests
from authlib.integrations.requests_client import OAuth2Session
from mcp.client.auth import OAuthClientProvider
from mcp.shared.auth import OAuthClientInformationFull, OAuthClientMetadata, OAuthToken
from requests_oauth2client import BearerToken, DPoPToken, OAuth2Client, OAuth2ClientCredentialsAuth

from . import signing
from .django_server import DjangoServer
from .dpop_proofs import make_proof, public_jwk, thumbprint
from .helpers import D, bearer, dpop
from .oauth_server import AuthorizationServer

try:  # the MCP SDK 2.x: callback handlers answer an AuthorizationCodeResult (1.x: a tuple)
    from mcp.client.auth import AuthorizationCodeResult
except ImportError:  # pragma: no cover
    AuthorizationCodeResult = None  # type: ignore[assignment,misc]


def _sdk_http_module() -> Any:
    """The HTTP client library of the installed MCP SDK: httpx2 for 2.x, httpx for 1.x
    (on Python 3.10, where httpx2 does not install, pip chooses 1.x)."""
    for name in ("httpx2", "httpx"):
        try:
            module = importlib.import_module(name)
        except ImportError:
            continue
        if issubclass(OAuthClientProvider, module.Auth):
            return module
    raise RuntimeError("the MCP SDK's OAuthClientProvider is neither an httpx2 nor an httpx Auth")


mcp_httpx = _sdk_http_module()

EXAMPLE = Path(__file__).resolve().parent / "mcp_example"
EXAMPLE_AS = "https://auth.example.com"
EXAMPLE_RS = "https://mcp.example.com"
#: Every scope the example's views enforce, in URLconf order: its metadata's scopes_supported.
ALL_SCOPES = ["mcp:tools", "orders:read", "orders:write", "refunds:write"]
TIMEOUT = 10  # seconds, for every HTTP request of a client
FLOW_TIMEOUT = 30  # seconds, for a whole MCP authorization flow
SECRET = "agent-secret-of-the-tests"
NONCE_SECRET = "a-nonce-secret-of-at-least-32-characters"


@pytest.fixture(autouse=True)
def clock() -> None:
    """Replaces the suite's fake clock: here the package reads real time."""


@pytest.fixture(scope="module")
def rs() -> Iterator[DjangoServer]:
    server = DjangoServer()
    yield server
    server.close()


@pytest.fixture(scope="module")
def authorization_server(rs: DjangoServer) -> Iterator[AuthorizationServer]:
    server = AuthorizationServer(default_resource=rs.origin, scopes_supported=ALL_SCOPES)
    server.add_client("agent", SECRET)
    yield server
    server.close()


def example_settings(issuer: str, resource: str) -> dict[str, Any]:
    """The JWT_AT_* settings of the example, with its URLs replaced by the servers' own."""
    source = (EXAMPLE / "settings.py").read_text(encoding="utf-8")
    assert EXAMPLE_AS in source and EXAMPLE_RS in source  # the replacements below take effect
    namespace: dict[str, Any] = {}
    exec(source.replace(EXAMPLE_AS, issuer).replace(EXAMPLE_RS, resource), namespace)
    return {name: value for name, value in namespace.items() if name.startswith("JWT_AT_")}


@pytest.fixture
def example(settings: Any, rs: DjangoServer, authorization_server: AuthorizationServer) -> Any:
    """The example's settings and URLconf, its issuer the test authorization server
    (found by RFC 8414 discovery, as the example sets no JWKS_URI)."""
    for name, value in example_settings(authorization_server.issuer, rs.origin).items():
        setattr(settings, name, value)
    settings.ROOT_URLCONF = "tests.mcp_example.urls"
    with authorization_server.lock:
        authorization_server.authorization_requests.clear()
        authorization_server.token_requests.clear()
    return settings


class TimeoutSession(requests.Session):
    """A requests session whose requests all have a timeout, including those a client
    library makes by itself (token requests, retries), and that ignores proxy and netrc
    settings of the environment: every request goes straight to 127.0.0.1."""

    def __init__(self) -> None:
        super().__init__()
        self.trust_env = False

    def request(self, *args: Any, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        kwargs.setdefault("timeout", TIMEOUT)
        return super().request(*args, **kwargs)


# --- the documented example ---------------------------------------------------------------------

DOCS = (Path(__file__).resolve().parent.parent / "docs" / "mcp.rst").read_text(encoding="utf-8")


def as_documented(text: str, rs: DjangoServer, authorization_server: AuthorizationServer) -> str:
    """``text`` with the servers' URLs replaced by the example's."""
    for origin, documented in ((rs.origin, EXAMPLE_RS), (authorization_server.issuer, EXAMPLE_AS)):
        text = re.sub(re.escape(origin) + r"(?![0-9])", documented, text)
    return text


def assert_documented(response: requests.Response, status: int, rs: DjangoServer, as_: AuthorizationServer) -> None:
    """The response has ``status`` and a challenge that docs/mcp.rst shows verbatim."""
    assert response.status_code == status, response.text
    line = "WWW-Authenticate: " + as_documented(response.headers["WWW-Authenticate"], rs, as_)
    assert line in DOCS, f"docs/mcp.rst does not show {line!r}"


def test_example_answers_are_the_documented_ones(
    example: Any, rs: DjangoServer, authorization_server: AuthorizationServer
):
    """The example run as docs/mcp.rst shows it: its metadata document and challenges
    are there verbatim (with the example's URLs)."""
    as_ = authorization_server
    http = TimeoutSession()
    metadata_url = rs.url("/.well-known/oauth-protected-resource")
    document = http.get(metadata_url).json()
    assert document["scopes_supported"] == ALL_SCOPES
    assert document["authorization_servers"] == [as_.issuer]
    shown = textwrap.indent(as_documented(json.dumps(document, indent=2), rs, as_), "   ")
    assert shown in DOCS, f"docs/mcp.rst does not show the metadata document:\n{shown}"

    # No token: the endpoint's scopes (JWT_AT_CHALLENGE_SCOPE).
    ping = {"jsonrpc": "2.0", "id": 1, "method": "ping"}
    assert_documented(http.post(rs.url("/mcp"), json=ping), 401, rs, as_)
    assert_documented(http.post(rs.url("/api/refunds")), 401, rs, as_)
    # A token for another resource (RFC 8707), and one without the scope of a write.
    other = as_.issue("agent", "agent", "mcp:tools", "https://other.example.com")["access_token"]
    response = http.post(rs.url("/mcp"), json=ping, headers={"Authorization": f"Bearer {other}"})
    assert_documented(response, 401, rs, as_)
    reader = as_.issue("agent", "agent", "orders:read", rs.origin)["access_token"]
    response = http.post(rs.url("/api/orders"), headers={"Authorization": f"Bearer {reader}"})
    assert_documented(response, 403, rs, as_)

    # Step-up on the DPoP-only endpoint: a DPoP-bound token without acr and auth_time.
    key = signing.ec_key("agent-dpop", "P-256")
    bound = as_.issue("agent", "agent", "refunds:write", rs.origin, jkt=thumbprint(public_jwk(key)))["access_token"]

    def refund(**claims: Any) -> requests.Response:
        url = rs.url("/api/refunds")
        proof = make_proof(key, token=bound, now=time.time(), method="POST", htu=url, claims=claims)
        return http.post(url, headers={"Authorization": f"DPoP {bound}", "DPoP": proof})

    assert_documented(refund(), 401, rs, as_)
    # With nonces on, a proof without one.
    example.JWT_AT_DPOP_NONCE = True
    example.JWT_AT_DPOP_NONCE_SECRET = NONCE_SECRET
    response = refund()
    assert_documented(response, 401, rs, as_)
    assert response.headers["Cache-Control"] == "no-store"
    assert_documented(refund(nonce=response.headers["DPoP-Nonce"]), 401, rs, as_)  # the step-up again


# --- the MCP SDK ----------------------------------------------------------------------------------


class MemoryStorage:
    """The SDK's TokenStorage, in memory."""

    def __init__(self) -> None:
        self.tokens: OAuthToken | None = None
        self.client_info: OAuthClientInformationFull | None = None

    async def get_tokens(self) -> OAuthToken | None:
        return self.tokens

    async def set_tokens(self, tokens: OAuthToken) -> None:
        self.tokens = tokens

    async def get_client_info(self) -> OAuthClientInformationFull | None:
        return self.client_info

    async def set_client_info(self, client_info: OAuthClientInformationFull) -> None:
        self.client_info = client_info


async def mcp_requests(url: str) -> list[Any]:
    """Two requests to ``url`` through the SDK's OAuthClientProvider. The redirect handler
    follows the authorization URL to the auto-approving authorization server and hands
    the parameters of its redirect to the callback handler, as a browser and a loopback
    listener would."""
    redirects: list[dict[str, str]] = []

    async def redirect_handler(authorization_url: str) -> None:
        async with mcp_httpx.AsyncClient(timeout=TIMEOUT, trust_env=False) as browser:  # redirects not followed
            answer = await browser.get(authorization_url)
        assert answer.status_code == 302, answer.text
        redirects.append(dict(parse_qsl(urlsplit(answer.headers["Location"]).query)))

    async def callback_handler() -> Any:
        params = redirects.pop()
        if AuthorizationCodeResult is None:  # pragma: no cover
            return params["code"], params.get("state")
        return AuthorizationCodeResult(code=params["code"], state=params.get("state"), iss=params.get("iss"))

    provider = OAuthClientProvider(
        server_url=url,
        client_metadata=OAuthClientMetadata(
            client_name="django-jwt-at tests",
            redirect_uris=["http://127.0.0.1:9/callback"],  # never contacted
            grant_types=["authorization_code"],
            response_types=["code"],
            token_endpoint_auth_method="client_secret_post",
        ),
        storage=MemoryStorage(),
        redirect_handler=redirect_handler,
        callback_handler=callback_handler,
    )
    with anyio.fail_after(FLOW_TIMEOUT):
        async with mcp_httpx.AsyncClient(auth=provider, timeout=TIMEOUT, trust_env=False) as client:
            first = await client.post(url, json={"jsonrpc": "2.0", "id": 1, "method": "ping"})
            second = await client.post(url, json={"jsonrpc": "2.0", "id": 2, "method": "ping"})
    return [first, second]


@pytest.mark.parametrize(
    "challenge_scope, requested",
    [(True, "mcp:tools"), (False, " ".join(ALL_SCOPES))],
    ids=["challenge-scope-on-asks-for-the-endpoint-scope", "off-asks-for-every-scope-of-the-metadata"],
)
def test_mcp_sdk_oauth_flow(
    example: Any, rs: DjangoServer, authorization_server: AuthorizationServer, challenge_scope: bool, requested: str
):
    example.JWT_AT_CHALLENGE_SCOPE = challenge_scope
    first, second = anyio.run(mcp_requests, rs.url("/mcp"))
    assert first.status_code == 200, first.text
    assert first.json() == {"subject": "user-42", "scopes": sorted(requested.split())}
    assert second.status_code == 200, second.text
    # One authorization, for the scopes the 401 named, for this resource (RFC 8707).
    [authorization] = authorization_server.authorization_requests
    assert authorization["scope"] == requested
    # The resource of the metadata; the SDK before 2.0 wrote an origin with a "/".
    resources = (rs.origin, rs.origin + "/")
    assert authorization["resource"] in resources
    assert authorization["code_challenge_method"] == "S256"
    [token_request] = authorization_server.token_requests
    assert token_request["form"]["grant_type"] == "authorization_code"
    assert token_request["form"]["resource"] in resources


# --- requests-oauth2client ------------------------------------------------------------------------


def rofc_client(authorization_server: AuthorizationServer, *, dpop: bool) -> OAuth2Client:
    return OAuth2Client(
        token_endpoint=authorization_server.token_endpoint,
        client_id="agent",
        client_secret=SECRET,
        session=TimeoutSession(),
        dpop_bound_access_tokens=dpop,
        testing=True,  # plain http on 127.0.0.1
    )


def test_requests_oauth2client_dpop_retries_use_dpop_nonce(
    example: Any, rs: DjangoServer, authorization_server: AuthorizationServer
):
    """DPoP "optional" with server nonces: the first proof has no nonce, the API answers
    ``use_dpop_nonce`` with the DPoP challenge alone, and the client retries with the
    nonce by itself (it does so only when the field starts with the DPoP challenge)."""
    example.JWT_AT_DPOP_NONCE = True
    example.JWT_AT_DPOP_NONCE_SECRET = NONCE_SECRET
    client = rofc_client(authorization_server, dpop=True)
    auth = OAuth2ClientCredentialsAuth(client, scope="orders:read", resource=rs.origin)
    session = TimeoutSession()

    response = session.get(rs.url("/api/orders"), auth=auth)
    assert response.status_code == 200, response.text
    assert response.json() == {"orders": [], "client": "agent"}
    token = auth.token
    assert isinstance(token, DPoPToken)
    assert token.dpop_key.rs_nonce  # the API asked for a nonce, and the client used it
    assert authorization_server.token_requests[-1]["dpop"]  # a DPoP-bound token (cnf.jkt)

    # The nonce is kept for the next requests.
    assert session.get(rs.url("/api/orders"), auth=auth).status_code == 200
    # Without credentials, the nonce-free challenges of an optional-mode API.
    response = session.get(rs.url("/api/orders"))
    assert response.status_code == 401
    metadata_url = rs.url("/.well-known/oauth-protected-resource")
    assert response.headers["WWW-Authenticate"] == (
        f"{bearer(scope='orders:read', resource_metadata=metadata_url)}, "
        f"{dpop(scope='orders:read', resource_metadata=metadata_url)}"
    )


def test_requests_oauth2client_bearer(example: Any, rs: DjangoServer, authorization_server: AuthorizationServer):
    client = rofc_client(authorization_server, dpop=False)
    auth = OAuth2ClientCredentialsAuth(client, scope="orders:read", resource=rs.origin)
    session = TimeoutSession()

    response = session.get(rs.url("/api/orders"), auth=auth)
    assert response.status_code == 200, response.text
    assert type(auth.token) is BearerToken
    assert not authorization_server.token_requests[-1]["dpop"]

    response = session.post(rs.url("/api/orders"), auth=auth)
    assert response.status_code == 403
    metadata_url = rs.url("/.well-known/oauth-protected-resource")
    assert response.headers["WWW-Authenticate"] == (
        f"{bearer('insufficient_scope', D['scope'], scope='orders:write', resource_metadata=metadata_url)}, "
        f"{dpop(resource_metadata=metadata_url)}"
    )

    # With orders:write too, the same request is allowed.
    auth = OAuth2ClientCredentialsAuth(client, scope="orders:read orders:write", resource=rs.origin)
    assert session.post(rs.url("/api/orders"), auth=auth).status_code == 201


# --- Authlib --------------------------------------------------------------------------------------


def test_authlib_client_credentials(example: Any, rs: DjangoServer, authorization_server: AuthorizationServer):
    with OAuth2Session(
        "agent", SECRET, scope="orders:read", token_endpoint_auth_method="client_secret_basic"
    ) as session:
        session.trust_env = False  # straight to 127.0.0.1, whatever proxies the environment names
        token = session.fetch_token(
            authorization_server.token_endpoint, grant_type="client_credentials", resource=rs.origin, timeout=TIMEOUT
        )
        assert token["token_type"] == "Bearer"
        response = session.get(rs.url("/api/orders"), timeout=TIMEOUT)
    assert response.status_code == 200, response.text
    assert response.json() == {"orders": [], "client": "agent"}
    assert authorization_server.token_requests[-1]["form"] == {
        "grant_type": "client_credentials",
        "scope": "orders:read",
        "resource": rs.origin,
    }
