"""The verified-token cache (JWT_AT_TOKEN_CACHE_SIZE): hits skip parsing and the
signature check, but never outlive exp, a key leaving the key set, or a settings change."""

from __future__ import annotations

import pytest

from django_jwt_at import keys as keys_module
from django_jwt_at.token_cache import verified_tokens

from .conftest import fx_jwks
from .helpers import invalid_token


@pytest.fixture
def verifications(monkeypatch):
    """Counts signature verifications."""
    calls = []
    original = keys_module.VerificationKey.verify

    def counting(self, signing_input, signature):
        calls.append(self.kid)
        return original(self, signing_input, signature)

    monkeypatch.setattr(keys_module.VerificationKey, "verify", counting)
    return calls


def test_repeated_token_is_verified_once(api, make_token, verifications):
    token = make_token()
    for _ in range(5):
        assert api.get("/orders", token).status_code == 200
    assert verifications == ["rsa-1"]
    assert len(verified_tokens) == 1


def test_cache_is_keyed_by_digest_never_by_the_token(api, make_token):
    token = make_token()
    assert api.get("/orders", token).status_code == 200
    (key,) = verified_tokens._entries
    assert isinstance(key, bytes) and len(key) == 32
    assert token.encode() not in key and key != token.encode()


def test_cached_token_still_expires(api, make_token, clock):
    token = make_token(claims={"exp": int(clock.t) + 30})
    assert api.get("/orders", token).status_code == 200
    clock.advance(30 + 60)  # exp + leeway
    response = api.get("/orders", token)
    assert (response.status_code, response["WWW-Authenticate"]) == (401, invalid_token("expired"))


def test_cached_token_rejected_once_its_key_leaves_the_key_set(api, make_token, server, keys, clock):
    token = make_token(claims={"exp": int(clock.t) + 7200})
    assert api.get("/orders", token).status_code == 200
    # The issuer drops rsa-1; the set is refreshed when its lifetime (1 h) is over.
    server.route("/jwks", {"keys": [keys["ec-1"].public_jwk(alg="ES256")]})
    clock.advance(3600 + 1)
    response = api.get("/orders", token)
    assert (response.status_code, response["WWW-Authenticate"]) == (401, invalid_token("signature"))


def test_refresh_that_keeps_the_key_revalidates_once(api, make_token, server, keys, clock, verifications):
    token = make_token(claims={"exp": int(clock.t) + 7200})
    assert api.get("/orders", token).status_code == 200
    server.route("/jwks", fx_jwks(keys))
    clock.advance(3600 + 1)
    assert api.get("/orders", token).status_code == 200
    assert api.get("/orders", token).status_code == 200
    assert verifications == ["rsa-1", "rsa-1"]


def test_cache_is_bounded(api, make_token, settings):
    settings.JWT_AT_TOKEN_CACHE_SIZE = 2
    tokens = [make_token() for _ in range(5)]
    for token in tokens:
        assert api.get("/orders", token).status_code == 200
    assert len(verified_tokens) == 2


def test_cache_can_be_switched_off(api, make_token, settings, verifications):
    settings.JWT_AT_TOKEN_CACHE_SIZE = 0
    token = make_token()
    for _ in range(3):
        assert api.get("/orders", token).status_code == 200
    assert verifications == ["rsa-1"] * 3
    assert len(verified_tokens) == 0


def test_failed_tokens_are_not_cached(api, make_token):
    assert api.get("/orders", make_token(claims={"aud": "https://other.example.com"})).status_code == 401
    assert len(verified_tokens) == 0


def test_settings_change_empties_the_cache(api, make_token, settings):
    assert api.get("/orders", make_token()).status_code == 200
    settings.JWT_AT_LEEWAY = 30
    assert len(verified_tokens) == 0


def test_cached_claims_are_read_only(api, make_token):
    from django_jwt_at.validation import validate_access_token  # noqa: F401  (documented entry point)

    token = make_token()
    assert api.get("/orders", token).status_code == 200
    (entry,) = verified_tokens._entries.values()
    with pytest.raises(TypeError):
        entry.token.claims["scope"] = "admin"  # type: ignore[index]
