"""Interop: access tokens produced by implementations this package did not write validate
through JWTAccessTokenAuthentication, with the keys published as those libraries export
them (served by the loopback JWKS server); what they produce by default that RFC 9068
forbids is refused with the exact challenge.

- Authlib's RFC 9068 generator (``authlib.oauth2.rfc9068.JWTBearerTokenGenerator``) with
  joserfc keys: RS256 and ES256. It cannot produce PS256: it signs through joserfc's
  default registry, which refuses algorithms it does not "recommend".
- PyJWT: keys exported with its algorithms' ``to_jwk``, signed through ``PyJWK``.
- joserfc: keys generated and exported by joserfc, kid its RFC 7638 thumbprint.
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import jwt as pyjwt
import pytest
from authlib.oauth2.rfc9068 import JWTBearerTokenGenerator
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from joserfc import jwt as joserfc_jwt
from joserfc.jwk import ECKey, KeySet, OctKey, RSAKey

from .helpers import FX_AUD, FX_ISS, MFA, PWD, bearer, insufficient_scope, invalid_token, json_body

ALGORITHMS = ["RS256", "PS256", "ES256"]


def claims(now: float, **overrides: Any) -> dict[str, Any]:
    base = {
        "iss": FX_ISS,
        "sub": "user-123",
        "aud": FX_AUD,
        "client_id": "client-abc",
        "iat": int(now),
        "exp": int(now) + 600,
        "jti": str(uuid.uuid4()),
        "scope": "orders:read",
    }
    return {**base, **overrides}


@pytest.fixture
def publish(fx, server):
    """Serve a JWK Set at /interop/jwks and make it FX.iss's key set."""

    def publish(jwks: dict[str, Any]) -> None:
        # The document goes out exactly as the library serialized it.
        server.route("/interop/jwks", json.loads(json.dumps(jwks)))
        fx.configure(JWKS_URI=server.url("/interop/jwks"))

    return publish


def assert_accepted(api, token: str) -> None:
    response = api.get("/whoami", token)
    assert response.status_code == 200, response.content
    auth = json_body(response)["auth"]
    assert (auth["issuer"], auth["subject"], auth["client_id"]) == (FX_ISS, "user-123", "client-abc")
    assert api.get("/orders", token).status_code == 200


# --- PyJWT -------------------------------------------------------------------------------------------


def pyjwt_key(alg: str) -> tuple[pyjwt.PyJWK, dict[str, Any]]:
    """A PyJWK signing key and the public JWK, both as PyJWT's to_jwk writes them."""
    private = ec.generate_private_key(ec.SECP256R1()) if alg == "ES256" else rsa.generate_private_key(65537, 2048)
    algorithm = pyjwt.get_algorithm_by_name(alg)
    kid = f"pyjwt-{alg}"
    private_jwk = {**algorithm.to_jwk(private, as_dict=True), "kid": kid, "alg": alg}
    public_jwk = {**algorithm.to_jwk(private.public_key(), as_dict=True), "kid": kid, "alg": alg, "use": "sig"}
    return pyjwt.PyJWK(private_jwk), public_jwk


def pyjwt_token(key: pyjwt.PyJWK, payload: dict[str, Any], **headers: Any) -> str:
    return pyjwt.encode(payload, key.key, algorithm=key.algorithm_name, headers={"kid": key.key_id, **headers})


@pytest.mark.parametrize("alg", ALGORITHMS)
def test_pyjwt(api, publish, clock, alg):
    key, public_jwk = pyjwt_key(alg)
    publish({"keys": [public_jwk]})
    token = pyjwt_token(key, claims(clock.t), typ="at+jwt")
    assert pyjwt.get_unverified_header(token) == {"alg": alg, "kid": f"pyjwt-{alg}", "typ": "at+jwt"}
    assert_accepted(api, token)


def test_pyjwt_defaults_are_refused(api, publish, clock):
    key, public_jwk = pyjwt_key("RS256")
    publish({"keys": [public_jwk]})
    # PyJWT writes typ "JWT" unless told otherwise (RFC 9068 §4: at+jwt required).
    response = api.get("/whoami", pyjwt_token(key, claims(clock.t)))
    assert response["WWW-Authenticate"] == invalid_token("typ")
    hs256 = pyjwt.encode(
        claims(clock.t), "s3cret-s3cret-s3cret-s3cret-s3cret", algorithm="HS256", headers={"typ": "at+jwt"}
    )
    response = api.get("/whoami", hs256)
    assert (response.status_code, response["WWW-Authenticate"]) == (401, invalid_token("alg"))
    expired = pyjwt_token(key, claims(clock.t - 3600), typ="at+jwt")
    assert api.get("/whoami", expired)["WWW-Authenticate"] == invalid_token("expired")
    other, _ = pyjwt_key("RS256")  # same kid, a key that was never published
    response = api.get("/whoami", pyjwt_token(other, claims(clock.t), typ="at+jwt"))
    assert response["WWW-Authenticate"] == invalid_token("signature")


# --- joserfc ------------------------------------------------------------------------------------------


def joserfc_key(alg: str) -> RSAKey | ECKey:
    key = ECKey.generate_key("P-256") if alg == "ES256" else RSAKey.generate_key(2048)
    key.ensure_kid()  # RFC 7638 thumbprint
    return key


def joserfc_jwks(*keys: RSAKey | ECKey, alg: str) -> dict[str, Any]:
    return {"keys": [{**key.as_dict(private=False), "alg": alg, "use": "sig"} for key in keys]}


@pytest.mark.parametrize("alg", ALGORITHMS)
def test_joserfc(api, publish, clock, alg):
    key = joserfc_key(alg)
    publish(joserfc_jwks(key, alg=alg))
    token = joserfc_jwt.encode({"alg": alg, "typ": "at+jwt", "kid": key.kid}, claims(clock.t), key, algorithms=[alg])
    assert_accepted(api, token)


def test_joserfc_defaults_are_refused(api, publish, clock):
    key = joserfc_key("ES256")
    publish(joserfc_jwks(key, alg="ES256"))
    # joserfc adds typ "JWT" to a header without typ.
    token = joserfc_jwt.encode({"alg": "ES256", "kid": key.kid}, claims(clock.t), key)
    assert api.get("/whoami", token)["WWW-Authenticate"] == invalid_token("typ")
    secret = OctKey.import_key("s3cret-s3cret-s3cret-s3cret-s3cret")
    token = joserfc_jwt.encode({"alg": "HS256", "typ": "at+jwt"}, claims(clock.t), secret)
    assert api.get("/whoami", token)["WWW-Authenticate"] == invalid_token("alg")
    token = joserfc_jwt.encode({"alg": "ES256", "typ": "at+jwt", "kid": key.kid}, claims(clock.t, scope="x"), key)
    response = api.get("/orders", token)
    assert (response.status_code, response["WWW-Authenticate"]) == (403, insufficient_scope("orders:read"))


# --- Authlib ------------------------------------------------------------------------------------------


class Client:
    def get_client_id(self) -> str:
        return "client-abc"

    def get_allowed_scope(self, scope: str) -> str:
        return scope


class User:
    def get_user_id(self) -> str:
        return "user-123"


class Generator(JWTBearerTokenGenerator):
    """Authlib's RFC 9068 generator as an authorization server would subclass it."""

    def __init__(self, key: RSAKey | ECKey, alg: str, *, audience: str | None = FX_AUD, acr: str | None = None):
        super().__init__(issuer=FX_ISS, alg=alg)
        self.key_set = KeySet([key])
        self.audience = audience
        self.acr = acr

    def get_jwks(self) -> KeySet:
        return self.key_set

    def get_audiences(self, client: Client, user: User, scope: str) -> str:
        return self.audience or super().get_audiences(client, user, scope)

    def get_acr(self, user: User) -> str | None:
        return self.acr

    def get_auth_time(self, user: User) -> int | None:
        return int(time.time()) - 60 if self.acr else None


def authlib_token(generator: Generator, scope: str = "orders:read") -> str:
    return generator.generate("authorization_code", Client(), User(), scope, include_refresh_token=False)[
        "access_token"
    ]


@pytest.fixture
def wall_clock(clock):
    # Authlib stamps iat/exp/auth_time from time.time(); validate at the same time.
    clock.t = float(int(time.time()))
    return clock


@pytest.mark.parametrize("alg", ["RS256", "ES256"])
def test_authlib_rfc9068_generator(api, publish, wall_clock, alg):
    key = joserfc_key(alg)
    publish(joserfc_jwks(key, alg=alg))
    token = authlib_token(Generator(key, alg))
    header = pyjwt.get_unverified_header(token)
    assert (header["typ"], header["alg"]) == ("at+jwt", alg)
    assert_accepted(api, token)


def test_authlib_step_up_claims(api, publish, wall_clock):
    key = joserfc_key("RS256")
    publish(joserfc_jwks(key, alg="RS256"))
    token = authlib_token(Generator(key, "RS256", acr=MFA), scope="payments:write")
    assert api.post("/payments", token).status_code == 200
    token = authlib_token(Generator(key, "RS256", acr=PWD), scope="payments:write")
    response = api.post("/payments", token)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == bearer(
        "insufficient_user_authentication", "A different authentication level is required", acr_values=MFA
    )


def test_authlib_default_audience_is_refused(api, publish, wall_clock):
    # Without get_audiences, Authlib's generator puts the client_id in aud.
    key = joserfc_key("RS256")
    publish(joserfc_jwks(key, alg="RS256"))
    response = api.get("/whoami", authlib_token(Generator(key, "RS256", audience=None)))
    assert response["WWW-Authenticate"] == invalid_token("aud")
