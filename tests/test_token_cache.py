"""The verified-token cache (JWT_AT_TOKEN_CACHE_SIZE): hits skip parsing and the
signature check, but never outlive exp, a key leaving the key set, or a settings change."""

from __future__ import annotations

import json
import threading

import pytest

import django_jwt_at.clock
from django_jwt_at import keys as keys_module
from django_jwt_at.token_cache import verified_tokens

from .conftest import fx_jwks
from .helpers import FX_AUD, invalid_token


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


def test_cache_key_compares_the_whole_token(api, make_token, verifications):
    """The key is the token string itself: a hit needs every character equal, so a token
    differing from a cached one in one character of its signature misses the cache and
    is verified (and refused) in full."""
    token = make_token()
    assert api.get("/orders", token).status_code == 200
    assert list(verified_tokens._entries) == [token]
    head, payload, signature = token.split(".")
    for position in (0, len(signature) // 2, len(signature) - 2):
        flipped = "A" if signature[position] != "A" else "B"
        forged = f"{head}.{payload}.{signature[:position]}{flipped}{signature[position + 1 :]}"
        assert forged not in verified_tokens
        response = api.get("/orders", forged)
        assert (response.status_code, response["WWW-Authenticate"]) == (401, invalid_token("signature"))
    assert verifications == ["rsa-1"] * 4  # the cached token once, each forgery in full
    assert list(verified_tokens._entries) == [token]


def test_cache_is_in_process_memory_only(api, make_token):
    """The token is a credential: the cache never writes it to the (possibly shared)
    Django cache."""
    from django.core.cache import caches

    from django_jwt_at.conf import get_config

    token = make_token()
    assert api.get("/orders", token).status_code == 200
    shared = caches[get_config().cache_alias]
    store = shared._cache  # LocMemCache: key -> pickled value
    assert store  # the key set is there
    assert not any(token in key or token.encode() in value for key, value in store.items())


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
    # The oldest leave first: the last two are the ones kept.
    assert list(verified_tokens._entries) == tokens[-2:]


def test_rotation_found_by_unknown_kid_revalidates_cached_tokens_once(api, make_token, server, keys, verifications):
    cached = make_token()
    assert api.get("/orders", cached).status_code == 200
    # A token signed with a newly published key refreshes the key set before its lifetime
    # is over; the cached token's key object is not in the new set, so it is verified once
    # more against it and then served from the cache again.
    server.route("/jwks", fx_jwks(keys, keys["rsa-2"].public_jwk(alg="RS256")))
    assert api.get("/orders", make_token(key="rsa-2")).status_code == 200
    assert api.get("/orders", cached).status_code == 200
    assert api.get("/orders", cached).status_code == 200
    assert verifications == ["rsa-1", "rsa-2", "rsa-1"]


def test_cache_under_concurrent_use(api, make_token, settings, server):
    """16 threads validate 64 tokens through a cache of 8 entries: every eviction races
    with lookups and insertions; every answer must still be right and the bound hold."""
    settings.JWT_AT_TOKEN_CACHE_SIZE = 8
    from django_jwt_at.conf import get_config
    from django_jwt_at.jwks import key_sets
    from django_jwt_at.validation import validate_access_token

    tokens = [make_token(claims={"sub": f"user-{i}"}) for i in range(64)]
    config = get_config()
    now = django_jwt_at.clock.now()
    validate_access_token(tokens[0], config=config, key_sets=key_sets, now=now, cache=verified_tokens)
    barrier = threading.Barrier(16)
    wrong: list[str] = []

    def worker(offset: int) -> None:
        barrier.wait()
        for round_ in range(20):
            for i in range(offset, offset + 64, 7):
                token = tokens[i % 64]
                result = validate_access_token(token, config=config, key_sets=key_sets, now=now, cache=verified_tokens)
                if result.subject != f"user-{i % 64}":
                    wrong.append(result.subject)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert wrong == []
    assert len(verified_tokens) <= 8


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


def test_cached_token_attributes_are_read_only(api, make_token):
    assert api.get("/orders", make_token()).status_code == 200
    (entry,) = verified_tokens._entries.values()
    for name in ("subject", "scopes", "expires_at", "claims", "issuer"):
        with pytest.raises(AttributeError):
            setattr(entry.token, name, None)


def test_cached_claims_are_read_only(api, make_token):
    from django_jwt_at.validation import validate_access_token  # noqa: F401  (documented entry point)

    token = make_token()
    assert api.get("/orders", token).status_code == 200
    (entry,) = verified_tokens._entries.values()
    with pytest.raises(TypeError):
        entry.token.claims["scope"] = "admin"  # type: ignore[index]


@pytest.mark.parametrize(
    "mutate",
    [
        lambda t: t.claims["roles"].append("superadmin"),
        lambda t: t.claims["realm_access"]["roles"].append("superadmin"),
        lambda t: t.claims["realm_access"].update(roles=["superadmin"]),
        lambda t: t.claims["realm_access"].setdefault("extra", 1),
        lambda t: t.claims["aud"].append("https://other.example.com"),
        lambda t: t.claims.__setitem__("scope", "admin"),
        lambda t: t.header["x-nested"]["k"].append(1),
    ],
    ids=["roles", "nested-object-list", "nested-update", "nested-setdefault", "aud", "top-level", "header"],
)
def test_claims_and_header_are_read_only_all_the_way_down(mutate, make_token, settings, fx):
    """A view that changed nested claims of a cached token changed what the next request
    with that token was granted; every level is read-only."""
    from django_jwt_at.conf import get_config
    from django_jwt_at.jwks import key_sets
    from django_jwt_at.validation import validate_access_token

    raw = make_token(
        header={"x-nested": {"k": [0]}},
        claims={"roles": ["reader"], "realm_access": {"roles": ["reader"]}, "aud": [FX_AUD, "https://x.example"]},
    )

    def validate():
        config = get_config()
        return validate_access_token(
            raw, config=config, key_sets=key_sets, now=django_jwt_at.clock.now(), cache=verified_tokens
        )

    token = validate()
    with pytest.raises((TypeError, AttributeError)):
        mutate(token)
    again = validate()
    assert again is token  # from the verified-token cache
    assert again.roles == frozenset({"reader"})
    assert again.claim_values("realm_access.roles") == frozenset({"reader"})
    assert again.audience == (FX_AUD, "https://x.example")
    assert "superadmin" not in json.dumps(again.claims) and "extra" not in json.dumps(again.claims)
    assert json.loads(json.dumps(again.header))["x-nested"] == {"k": [0]}


def test_read_only_claims_serialise_copy_and_pickle(api, make_token):
    import copy
    import pickle

    assert api.get("/orders", make_token(claims={"roles": ["a"], "obj": {"k": [1]}})).status_code == 200
    (entry,) = verified_tokens._entries.values()
    claims = entry.token.claims
    assert isinstance(claims, dict) and isinstance(claims["obj"], dict)
    assert claims["roles"] == ("a",) and claims["obj"]["k"] == (1,)
    assert json.loads(json.dumps(claims))["obj"] == {"k": [1]}
    assert pickle.loads(pickle.dumps(claims)) == claims
    assert copy.deepcopy(claims) == claims and copy.copy(claims) == claims
    plain = json.loads(json.dumps(claims))
    plain["roles"].append("b")  # a plain copy is the view's own
    assert claims["roles"] == ("a",)
