"""Fixtures of the conformance suite: keys, the live JWKS server, the fixture profile (FX,
spec §0.2), a controllable clock, the T0 token factory and a recording API client.

Every response a test obtains through ``api`` is checked at teardown for the rules that
hold for "all failing fixtures": challenge syntax (C-6750-15/17/18/19, C-DRF-03), the
DPoP challenge and headers (spec §0.3, C-9449-31/32/34/35) and no token material in
headers, body or INFO+ log records (C-6750-31). A violation is reported as an error at
teardown of the test that produced it.
"""

from __future__ import annotations

import logging
import re
import socket
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
from django.core.cache import caches
from rest_framework.test import APIClient

import django_jwt_at.clock
from django_jwt_at.jwks import key_sets
from django_jwt_at.token_cache import verified_tokens

from . import signing
from .helpers import FX_AUD, FX_ISS, FX_ISS2, MFA, SecretIndex, challenge_problems, dpop_response_problems
from .live_server import LiveServer
from .redis_server import redis_server  # noqa: F401  (the session fixture, for every module)

#: The fixed "current time" of the suite (2030-03-17), seen by the library via clock.now().
NOW = 1_900_000_000.0
FX_ALGORITHMS = ["RS256", "PS256", "ES256"]

ABSENT = object()  # header/claim override value meaning "remove this member"


# ---------------------------------------------------------------------------------------
# keys
# ---------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def keys() -> dict[str, signing.SigningKey]:
    """Every key of spec §0.2 plus a few extra ones, generated once per session."""
    return {
        "rsa-1": signing.rsa_key("rsa-1", alg="RS256"),
        "ec-1": signing.ec_key("ec-1", "P-256"),
        "ps-1": signing.rsa_key("ps-1", alg="PS256"),
        "KX": signing.rsa_key("KX", alg="RS256"),  # attacker, never published
        "weak-1": signing.rsa_key("weak-1", bits=1024, alg="RS256"),
        "enc-1": signing.rsa_key("enc-1", alg="RS256"),
        "as2-1": signing.rsa_key("as2-1", alg="RS256"),
        "rsa-2": signing.rsa_key("rsa-2", alg="RS256"),
        "priv-1": signing.rsa_key("priv-1", alg="RS256"),
        "shared-1-as": signing.rsa_key("shared-1", alg="RS256"),
        "shared-1-as2": signing.rsa_key("shared-1", alg="RS256"),
        "ec-384": signing.ec_key("ec-384", "P-384"),
        "ec-521": signing.ec_key("ec-521", "P-521"),
        "ed-1": signing.ed25519_key("ed-1"),
    }


def fx_jwks(keys: dict[str, signing.SigningKey], *extra: dict) -> dict:
    """The FX.iss key set: rsa-1 (RS256), ec-1 (ES256), ps-1 (PS256), plus ``extra``."""
    return {
        "keys": [
            keys["rsa-1"].public_jwk(alg="RS256"),
            keys["ec-1"].public_jwk(alg="ES256"),
            keys["ps-1"].public_jwk(alg="PS256"),
            *extra,
        ]
    }


# ---------------------------------------------------------------------------------------
# live server, clock, state
# ---------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def live_server_instance() -> Iterable[LiveServer]:
    server = LiveServer()
    yield server
    server.close()


@pytest.fixture
def server(live_server_instance: LiveServer, keys: dict[str, signing.SigningKey]) -> Iterable[LiveServer]:
    """The loopback server, reset, publishing FX.iss keys at /jwks and FX.iss2 at /as2/jwks."""
    live_server_instance.reset()
    live_server_instance.route("/jwks", fx_jwks(keys))
    live_server_instance.route("/as2/jwks", {"keys": [keys["as2-1"].public_jwk(alg="RS256")]})
    yield live_server_instance
    live_server_instance.reset()


@dataclass
class FakeClock:
    t: float = NOW

    def __call__(self) -> float:
        return self.t

    def advance(self, seconds: float) -> float:
        self.t += seconds
        return self.t


@pytest.fixture(autouse=True)
def clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    """The library reads time only through django_jwt_at.clock.now()."""
    fake = FakeClock()
    monkeypatch.setattr(django_jwt_at.clock, "now", fake)
    return fake


@pytest.fixture(autouse=True)
def _reset_state() -> Iterable[None]:
    key_sets.clear()
    verified_tokens.clear()
    caches["default"].clear()
    yield
    key_sets.clear()
    verified_tokens.clear()
    caches["default"].clear()


@pytest.fixture(autouse=True)
def outbound(monkeypatch: pytest.MonkeyPatch) -> Iterable[list[str]]:
    """Records every host name resolved during the test; a non-loopback one is an error
    (no request may ever leave for a host named by a token or by unusable metadata)."""
    seen: list[str] = []
    real = socket.getaddrinfo

    def spy(host: Any, *args: Any, **kwargs: Any) -> Any:
        seen.append(host.decode() if isinstance(host, bytes) else str(host))
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", spy)
    yield seen
    foreign = [h for h in seen if h not in ("127.0.0.1", "localhost", "::1")]
    assert not foreign, f"[C-8725-12/C-8414-04] outbound connection attempt to {foreign}"


@dataclass
class FX:
    """The fixture profile as configured for this test."""

    settings: Any
    server: LiveServer
    keys: dict[str, signing.SigningKey]

    def issuer_options(self, **overrides: Any) -> dict:
        options = {"AUDIENCE": FX_AUD, "JWKS_URI": self.server.url("/jwks"), "ALGORITHMS": list(FX_ALGORITHMS)}
        options.update(overrides)
        return {k: v for k, v in options.items() if v is not ABSENT}

    def configure(self, **overrides: Any) -> None:
        """Replace FX.iss's options (ABSENT removes one)."""
        self.settings.JWT_AT_ISSUERS = {FX_ISS: self.issuer_options(**overrides)}

    def add_iss2(self) -> None:
        issuers = dict(self.settings.JWT_AT_ISSUERS)
        issuers[FX_ISS2] = {"AUDIENCE": FX_AUD, "JWKS_URI": self.server.url("/as2/jwks"), "ALGORITHMS": ["RS256"]}
        self.settings.JWT_AT_ISSUERS = issuers


@pytest.fixture(autouse=True)
def fx(settings: Any, server: LiveServer, keys: dict[str, signing.SigningKey]) -> FX:
    settings.JWT_AT_ISSUERS = {}
    fixture = FX(settings, server, keys)
    fixture.configure()
    settings.JWT_AT_REALM = "api"
    settings.JWT_AT_LEEWAY = 60
    settings.JWT_AT_TOKEN_METHODS = ["header"]
    settings.JWT_AT_ERROR_DESCRIPTIONS = True
    settings.JWT_AT_ERROR_URI = None
    settings.JWT_AT_HTTP_TIMEOUT = 2
    # Spec sections 1-3 and 6-8 describe a Bearer-only resource (their challenges have no
    # DPoP part); the DPoP and metadata suites set the mode they test.
    settings.JWT_AT_DPOP = "off"
    return fixture


# ---------------------------------------------------------------------------------------
# tokens
# ---------------------------------------------------------------------------------------

_SIGNABLE = {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}


def _fits(alg: Any, key: signing.SigningKey) -> bool:
    """Whether ``key`` can produce an ``alg`` signature (else the key's own alg is used)."""
    if not isinstance(alg, str) or alg not in _SIGNABLE:
        return False
    family = {"RSA": ("RS", "PS"), "EC": ("ES",), "OKP": ("EdDSA",)}[key.kty]
    return alg.startswith(family)


def t0_claims(now: float) -> dict:
    """The claims of T0 (spec §0.2)."""
    return {
        "iss": FX_ISS,
        "sub": "user-123",
        "aud": FX_AUD,
        "client_id": "client-abc",
        "iat": int(now),
        "exp": int(now) + 600,
        "jti": str(uuid.uuid4()),
        "scope": "orders:read orders:write payments:write",
        "auth_time": int(now) - 60,
        "acr": MFA,
        "roles": ["admin"],
    }


def _apply(base: dict, overrides: dict | None, remove: Iterable[str] = ()) -> dict:
    result = dict(base)
    for name, value in (overrides or {}).items():
        if value is ABSENT:
            result.pop(name, None)
        else:
            result[name] = value
    for name in remove:
        result.pop(name, None)
    return result


@pytest.fixture
def make_token(keys: dict[str, signing.SigningKey], clock: FakeClock) -> Any:
    """``make_token(header_overrides, claim_overrides, key="rsa-1", remove=[...])`` -> T0 variant.

    The header defaults to ``{"typ":"at+jwt","alg":<key's alg>,"kid":<key's kid>}``; claims
    to T0 at the current fake time. ``remove`` drops claims, ``ABSENT`` as an override
    value drops a header member or claim. ``payload`` replaces the claims segment (bytes,
    str JSON text or signing.Raw); ``sign_alg`` signs with another algorithm than the
    header announces; ``now`` mints relative to another time.
    """

    def factory(
        header: dict | None = None,
        claims: dict | None = None,
        *,
        key: str | signing.SigningKey | bytes = "rsa-1",
        remove: Iterable[str] = (),
        payload: Any = None,
        sign_alg: str | None = None,
        now: float | None = None,
    ) -> str:
        k = keys[key] if isinstance(key, str) else key
        if isinstance(k, signing.SigningKey):
            base_header = {"typ": "at+jwt", "alg": k.default_alg, "kid": k.kid}
        else:
            base_header = {"typ": "at+jwt", "alg": "HS256"}
        h = _apply(base_header, header)
        body = payload if payload is not None else _apply(t0_claims(clock.t if now is None else now), claims, remove)
        alg = sign_alg
        if alg is None:
            announced = h.get("alg")
            if isinstance(k, signing.SigningKey):
                alg = announced if _fits(announced, k) else k.default_alg
            else:
                alg = announced if isinstance(announced, str) and announced.startswith("HS") else "HS256"
        return signing.sign_compact(h, body, k, alg=alg)

    return factory


@pytest.fixture
def t0(make_token: Any) -> str:
    return make_token()


# ---------------------------------------------------------------------------------------
# API client with response checks
# ---------------------------------------------------------------------------------------


@dataclass
class Exchange:
    secrets: list[str]
    response: Any
    what: str


@dataclass
class Api:
    """APIClient wrapper that records every exchange for the teardown checks."""

    client: APIClient = field(default_factory=APIClient)
    exchanges: list[Exchange] = field(default_factory=list)

    def request(
        self,
        method: str,
        path: str,
        token: str | None = None,
        *,
        authorization: str | None = None,
        data: Any = None,
        content_type: str | None = None,
        secrets: Iterable[str] = (),
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> Any:
        found = list(secrets)
        if token is not None:
            authorization = f"Bearer {token}"
            found.append(token)
        if authorization is not None:
            extra["HTTP_AUTHORIZATION"] = authorization
            parts = authorization.split(" ", 1)
            if len(parts) == 2 and parts[1].strip():
                found.append(parts[1].strip())
        query = urlsplit(path).query
        found += [v for k, v in parse_qsl(query, keep_blank_values=True) if k == "access_token"]
        if isinstance(data, str) and "access_token=" in data:
            found += [v for k, v in parse_qsl(data, keep_blank_values=True) if k == "access_token"]
        elif isinstance(data, bytes) and b"access_token" in data:
            found += re.findall(r"[A-Za-z0-9_\-]{20,}\.[A-Za-z0-9_\-]{20,}\.[A-Za-z0-9_\-]+", data.decode("latin-1"))
        if data is None:
            data = ""
        kwargs: dict[str, Any] = dict(extra)
        if headers:
            kwargs["headers"] = headers
        response = self.client.generic(method, path, data, content_type or "application/octet-stream", **kwargs)
        self.exchanges.append(Exchange([s for s in found if s], response, f"{method} {path[:80]}"))
        return response

    def get(self, path: str, token: str | None = None, **kwargs: Any) -> Any:
        return self.request("GET", path, token, **kwargs)

    def post(self, path: str, token: str | None = None, **kwargs: Any) -> Any:
        return self.request("POST", path, token, **kwargs)


def response_text(response: Any) -> str:
    headers = "\n".join(f"{k}: {v}" for k, v in response.items())
    return headers + "\n\n" + response.content.decode("utf-8", "replace")


def exchange_problems(exchange: Exchange, records: Iterable[logging.LogRecord] = ()) -> list[str]:
    response = exchange.response
    problems = challenge_problems(response.get("WWW-Authenticate"), response.status_code)
    problems += dpop_response_problems(response)
    if response.status_code == 500:
        problems.append("C-DRF-09: status 500")
    if response.status_code >= 400 and SecretIndex(exchange.secrets).leaks(response_text(response)):
        problems.append("C-6750-31: token material in the response")
    return problems


@pytest.fixture
def api(caplog: pytest.LogCaptureFixture) -> Iterable[Api]:
    caplog.set_level(logging.DEBUG)
    client = Api()
    yield client
    problems: list[str] = []
    for exchange in client.exchanges:
        problems += [f"{exchange.what}: {p}" for p in exchange_problems(exchange)]
    # C-6750-31: no log record at INFO or above carries token material.
    index = SecretIndex({s for e in client.exchanges if e.response.status_code >= 400 for s in e.secrets})
    for record in caplog.get_records("call"):
        if record.levelno >= logging.INFO and index.leaks(record.getMessage() + (record.exc_text or "")):
            problems.append(f"C-6750-31: token material in log record {record.name}:{record.levelname}")
    assert not problems, "response invariants violated:\n" + "\n".join(sorted(set(problems)))
