"""The shared cache is a trust boundary: what another process (or anyone else) stored there
is used only when this deployment signed it, and never beyond the lifetime bounds.

Against the suite's real redis-server: entries planted unsigned, signed with another
SECRET_KEY, moved between cache keys, or claiming impossible times are ignored with one log
record and the document is fetched from the loopback server; a far-future expiry is clamped
to JWT_AT_JWKS_MAX_TTL, so no key set survives a flush of the cache beyond that bound; a
rotation of SECRET_KEY costs one refetch per entry; a legitimately signed entry is used
without any fetch. Entries are written and read with Django's signing only
(:mod:`tests.shared_entries`), never through the library under test.
"""

from __future__ import annotations

import io
import json
import logging

import pytest
from django.core.cache import caches
from django.core.management import call_command

from django_jwt_at.conf import get_config
from django_jwt_at.jwks import cache_key, key_sets

from . import shared_entries
from .conftest import NOW, fx_jwks
from .helpers import FX_ISS, FX_ISS2, invalid_token, subjects_from_workers
from .redis_server import needs_redis, redis_server
from .test_keysets_faults import RS8414, assert_unavailable, discovery_issuer, validate

__all__ = ["redis_server"]  # the session fixture, imported so pytest sees it here

pytestmark = needs_redis

DAY = 86400
HOUR = 3600
YEAR = 365 * DAY
OTHER_SECRET = "another-deployment-with-its-own-secret-key-0123456789"


@pytest.fixture
def redis_cache(settings, redis_server):
    """JWT_AT_CACHE ("default") on the suite's real Redis, empty before and after."""
    redis_server.flush()
    settings.CACHES = {"default": redis_server.cache_settings()}
    yield caches["default"]
    redis_server.flush()


def attacker_jwks(keys):
    """The attacker's own key published under the kid of the issuer's real key."""
    return {"keys": [keys["KX"].public_jwk(alg="RS256", kid="rsa-1")]}


def forged(make_token, **claims):
    """A token signed with the attacker's key, naming the real key's kid."""
    return make_token(header={"kid": "rsa-1"}, claims=claims or None, key="KX")


def package_records(caplog, level=None):
    return [
        r
        for r in caplog.get_records("call")
        if r.name.startswith("django_jwt_at.") and (level is None or r.levelno == level)
    ]


def refusals(caplog):
    """(level, reason, issuer) of each ignored shared-cache entry."""
    return [
        (r.levelname, getattr(r, "reason", None), getattr(r, "issuer", None))
        for r in package_records(caplog)
        if r.getMessage().startswith("Ignored the shared-cache entry")
    ]


def jwks_key(server, path="/jwks"):
    return cache_key("jwks", server.url(path))


# --- planted entries ------------------------------------------------------------------------------


def _planted(form, key, url, document):
    text = json.dumps(document)
    if form == "v1-dict":  # the unsigned format of earlier versions
        return {"uri": url, "text": text, "fetched_at": NOW, "expires_at": NOW + YEAR}
    payload = {"v": 1, "key": key, "subject": url, "url": url, "text": text}
    payload.update(fetched_at=NOW, expires_at=NOW + YEAR)
    compact = json.dumps(payload, separators=(",", ":"))
    if form == "unsigned-json":
        return compact
    if form == "forged-signature":
        return compact + ":" + "A" * 43
    assert form == "another-secret-key"
    return shared_entries.signed(key, url, text, NOW, NOW + YEAR, secret=OTHER_SECRET)


@pytest.mark.parametrize("form", ["v1-dict", "unsigned-json", "forged-signature", "another-secret-key"])
def test_planted_jwks_entry_is_ignored_with_one_error_and_the_real_set_is_fetched(
    api, make_token, server, keys, clock, redis_cache, redis_server, caplog, form
):
    key = jwks_key(server)
    planted = _planted(form, key, server.url("/jwks"), attacker_jwks(keys))
    redis_cache.set(key, planted, timeout=YEAR)

    response = api.get("/orders", forged(make_token))
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == invalid_token("signature")
    assert server.count("/jwks") == 1  # the real key set, fetched instead
    assert refusals(caplog) == [("ERROR", "shared_cache_bad_signature", FX_ISS)]
    assert len(package_records(caplog, logging.ERROR)) == 1
    message = next(r for r in package_records(caplog, logging.ERROR)).getMessage()
    assert keys["KX"].public_jwk()["n"][:40] not in message  # no entry content
    assert '"keys"' not in message

    # the fetched set replaced the planted entry for every process
    assert shared_entries.read(key)["text"] == json.dumps(fx_jwks(keys))
    assert api.get("/orders", make_token()).status_code == 200
    key_sets.clear()  # another worker
    assert api.get("/orders", forged(make_token)).status_code == 401
    assert api.get("/orders", make_token()).status_code == 200
    assert server.count("/jwks") == 1
    assert len(refusals(caplog)) == 1

    # flushed and planted again: still nothing of it in use, in this process or a new one
    redis_server.flush()
    redis_cache.set(key, planted, timeout=YEAR)
    clock.advance(HOUR)  # the set expired: the cache is read again
    assert api.get("/orders", forged(make_token)).status_code == 401
    key_sets.clear()
    assert api.get("/orders", forged(make_token)).status_code == 401
    assert server.count("/jwks") == 2  # one refetch at expiry; the new worker found it signed


def test_planted_metadata_entry_cannot_point_the_jwks_uri_elsewhere(
    api, make_token, fx, server, keys, redis_cache, caplog
):
    issuer = discovery_issuer(fx, server)
    server.route("/evil-jwks", attacker_jwks(keys))
    evil = {"issuer": issuer, "jwks_uri": server.url("/evil-jwks")}
    redis_cache.set(
        cache_key("metadata", issuer),
        {"url": server.url(RS8414), "text": json.dumps(evil), "fetched_at": NOW, "expires_at": NOW + YEAR},
        timeout=YEAR,
    )
    response = api.get("/orders", forged(make_token, iss=issuer))
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == invalid_token("signature")
    assert (server.count(RS8414), server.count("/jwks"), server.count("/evil-jwks")) == (1, 1, 0)
    assert refusals(caplog) == [("ERROR", "shared_cache_bad_signature", issuer)]
    assert shared_entries.read(cache_key("metadata", issuer))["subject"] == issuer


def test_entry_moved_to_another_issuers_key_is_refused(api, make_token, fx, server, keys, redis_cache, caplog):
    fx.add_iss2()
    assert api.get("/orders", make_token()).status_code == 200  # FX.iss's signed entry
    genuine = redis_cache.get(jwks_key(server))
    redis_cache.set(jwks_key(server, "/as2/jwks"), genuine, timeout=HOUR)  # ... under FX.iss2's key

    # FX.iss's key would verify this token if FX.iss2 took FX.iss's document for its own
    response = api.get("/orders", make_token(claims={"iss": FX_ISS2}))
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == invalid_token("signature")
    assert refusals(caplog) == [("ERROR", "shared_cache_wrong_key", FX_ISS2)]
    # FX.iss2's own set: the fetch that fills the cache, then one refetch for the unknown kid
    assert server.count("/as2/jwks") == 2
    assert api.get("/orders", make_token(claims={"iss": FX_ISS2}, key="as2-1")).status_code == 200
    assert api.get("/orders", make_token()).status_code == 200
    assert server.count("/jwks") == 1


# --- lifetimes read back are clamped -----------------------------------------------------------------


@pytest.mark.parametrize("max_ttl", [DAY, 600], ids=["default-max-ttl", "max-ttl-600"])
def test_far_future_expiry_of_a_signed_entry_is_clamped_to_max_ttl(
    api, make_token, server, keys, clock, settings, redis_cache, caplog, max_ttl
):
    if max_ttl != DAY:
        settings.JWT_AT_JWKS_MIN_TTL = settings.JWT_AT_JWKS_DEFAULT_TTL = 300
        settings.JWT_AT_JWKS_MAX_TTL = max_ttl
    key = jwks_key(server)
    redis_cache.set(key, shared_entries.signed(key, server.url("/jwks"), fx_jwks(keys), NOW, NOW + 10 * YEAR), YEAR)

    assert api.get("/orders", make_token()).status_code == 200
    assert server.count("/jwks") == 0
    assert key_sets.current(get_config().issuers[FX_ISS]).expires_at == NOW + max_ttl
    clock.t = NOW + max_ttl - 1
    assert api.get("/orders", make_token()).status_code == 200
    assert server.count("/jwks") == 0
    clock.t = NOW + max_ttl  # the bound, whatever the entry says
    assert api.get("/orders", make_token()).status_code == 200
    assert server.count("/jwks") == 1
    assert shared_entries.read(key)["fetched_at"] == NOW + max_ttl
    assert not refusals(caplog)


def test_expiry_is_clamped_from_the_fetch_time_of_the_entry(
    api, make_token, server, keys, clock, redis_cache, redis_server, caplog
):
    key = jwks_key(server)
    entry = shared_entries.signed(key, server.url("/jwks"), fx_jwks(keys), NOW - HOUR, NOW + YEAR)
    redis_cache.set(key, entry, timeout=YEAR)
    assert api.get("/orders", make_token()).status_code == 200
    assert server.count("/jwks") == 0
    assert key_sets.current(get_config().issuers[FX_ISS]).expires_at == NOW - HOUR + DAY

    # fetched a max TTL ago: no longer fresh, whatever its expiry says
    redis_server.flush()
    entry = shared_entries.signed(key, server.url("/jwks"), fx_jwks(keys), NOW - DAY, NOW + YEAR)
    redis_cache.set(key, entry, timeout=YEAR)
    key_sets.clear()  # another worker
    assert api.get("/orders", make_token()).status_code == 200
    assert server.count("/jwks") == 1
    assert not refusals(caplog)


@pytest.mark.parametrize(
    ("leeway", "ahead", "accepted"),
    [(60, 30, True), (60, 61, False), (60, 10 * YEAR, False), (0, 3, True), (0, 6, False)],
    ids=["within-leeway", "past-leeway", "ten-years", "zero-leeway-drift", "zero-leeway-past-5s"],
)
def test_entry_claiming_a_fetch_time_in_the_future_is_refused_beyond_the_leeway(
    api, make_token, server, keys, settings, redis_cache, caplog, leeway, ahead, accepted
):
    settings.JWT_AT_LEEWAY = leeway
    key = jwks_key(server)
    entry = shared_entries.signed(key, server.url("/jwks"), fx_jwks(keys), NOW + ahead, NOW + ahead + HOUR)
    redis_cache.set(key, entry, timeout=YEAR)
    assert api.get("/orders", make_token()).status_code == 200
    if accepted:  # another host's clock, up to JWT_AT_LEEWAY (at least 5 s) ahead of ours
        assert server.count("/jwks") == 0
        assert not refusals(caplog)
        assert key_sets.current(get_config().issuers[FX_ISS]).fetched_at == NOW
    else:
        assert server.count("/jwks") == 1
        assert refusals(caplog) == [("ERROR", "shared_cache_bad_entry", FX_ISS)]


@pytest.mark.parametrize(
    ("entry", "issuer_up"),
    [("signed", True), ("signed", False), ("planted", True)],
    ids=["signed-issuer-up", "signed-issuer-down", "planted-unsigned"],
)
def test_after_a_flush_no_key_set_read_from_the_cache_outlives_the_bound(
    api, make_token, server, keys, clock, redis_cache, redis_server, entry, issuer_up
):
    key = jwks_key(server)
    if entry == "signed":
        # A key the issuer no longer publishes (rsa-2) with an expiry in 10 years, signed
        # with SECRET_KEY: the worst a process can have read before the flush.
        document = fx_jwks(keys, keys["rsa-2"].public_jwk(alg="RS256"))
        redis_cache.set(key, shared_entries.signed(key, server.url("/jwks"), document, NOW, NOW + 10 * YEAR), YEAR)
        status = 200

        def token():
            return make_token(key="rsa-2")
    else:  # the attacker's key, planted unsigned: never in use at all
        redis_cache.set(key, _planted("v1-dict", key, server.url("/jwks"), attacker_jwks(keys)), timeout=YEAR)
        status = 401

        def token():
            return forged(make_token)

    assert api.get("/orders", token()).status_code == status
    assert server.count("/jwks") == (0 if entry == "signed" else 1)

    redis_server.flush()  # the operator's response
    if not issuer_up:
        server.route("/jwks", "down", status=500)
    clock.t = NOW + DAY - 1
    assert api.get("/orders", token()).status_code == status
    if entry == "signed":
        assert server.count("/jwks") == 0  # from process memory
    clock.t = NOW + DAY  # JWT_AT_JWKS_MAX_TTL after the read
    if issuer_up:
        response = api.get("/orders", token())
        assert response.status_code == 401
        assert response["WWW-Authenticate"] == invalid_token("signature")
        assert api.get("/orders", make_token()).status_code == 200
    else:
        # stale-if-error still serves it, up to JWT_AT_JWKS_MAX_STALE past the clamped expiry
        assert api.get("/orders", token()).status_code == 200
        clock.t = NOW + 2 * DAY - 1
        assert api.get("/orders", token()).status_code == 200
        clock.t = NOW + 2 * DAY
        assert_unavailable(api.get("/orders", token()))


# --- legitimate entries ------------------------------------------------------------------------------


def test_signed_entry_of_another_worker_is_used_without_any_fetch(api, make_token, server, keys, redis_cache, caplog):
    key = jwks_key(server)
    entry = shared_entries.signed(key, server.url("/jwks"), fx_jwks(keys), NOW - 60, NOW - 60 + HOUR)
    redis_cache.set(key, entry, timeout=HOUR + DAY)
    for _ in range(4):
        key_sets.clear()  # four workers behind the same Redis
        assert api.get("/orders", make_token()).status_code == 200
        assert api.get("/orders", make_token(key="ec-1")).status_code == 200
    assert server.count("/jwks") == 0
    assert key_sets.current(get_config().issuers[FX_ISS]).expires_at == NOW - 60 + HOUR
    assert not package_records(caplog, logging.WARNING) and not package_records(caplog, logging.ERROR)


# --- rotation of SECRET_KEY ----------------------------------------------------------------------------


@pytest.mark.parametrize("fallbacks", [False, True], ids=["without-fallbacks", "old-key-in-fallbacks"])
def test_secret_key_rotation_refetches_each_entry_once_then_workers_share_the_new_one(
    api, make_token, fx, server, settings, redis_cache, caplog, fallbacks
):
    issuer = discovery_issuer(fx, server)  # two entries: metadata and JWK Set
    old = settings.SECRET_KEY
    assert api.get("/orders", make_token(claims={"iss": issuer})).status_code == 200
    assert (server.count(RS8414), server.count("/jwks")) == (1, 1)

    settings.SECRET_KEY = "the-rotated-secret-key-of-this-deployment-0123456789"
    settings.SECRET_KEY_FALLBACKS = [old] if fallbacks else []
    for _ in range(4):
        key_sets.clear()  # workers restarted with the new key
        for _ in range(5):
            assert api.get("/orders", make_token(claims={"iss": issuer})).status_code == 200
    assert (server.count(RS8414), server.count("/jwks")) == (2, 2)
    level, reason = ("WARNING", "shared_cache_previous_key") if fallbacks else ("ERROR", "shared_cache_bad_signature")
    assert sorted(refusals(caplog)) == [(level, reason, issuer)] * 2  # one per entry
    assert len(package_records(caplog, logging.ERROR)) == (0 if fallbacks else 2)
    shared_entries.read(cache_key("metadata", issuer))  # now signed with the new key
    shared_entries.read(cache_key("jwks", server.url("/jwks")))


def test_secret_key_rotation_cold_start_4_workers_x_8_threads_log_one_error_and_fetch_once(
    make_token, server, keys, settings, redis_cache, caplog
):
    caplog.set_level(logging.DEBUG)
    assert validate(make_token()).subject == "user-123"  # an entry signed with the old key
    assert server.count("/jwks") == 1
    settings.SECRET_KEY = "the-rotated-secret-key-of-this-deployment-0123456789"
    server.route("/jwks", fx_jwks(keys), delay=0.3)  # the other threads poll the old entry meanwhile
    outcomes = subjects_from_workers(validate, [make_token() for _ in range(32)])
    assert outcomes == ["user-123"] * 32
    assert server.count("/jwks") == 2
    assert refusals(caplog) == [("ERROR", "shared_cache_bad_signature", FX_ISS)]


# --- operators -----------------------------------------------------------------------------------------


def test_keys_command_reports_an_ignored_entry(server, keys, redis_cache):
    key = jwks_key(server)
    redis_cache.set(key, _planted("another-secret-key", key, server.url("/jwks"), attacker_jwks(keys)), YEAR)
    out = io.StringIO()
    call_command("jwt_at_keys", stdout=out)
    lines = out.getvalue().splitlines()
    ignored = "  error:    the shared cache entry is ignored: its signature does not verify with SECRET_KEY"
    assert any(line.startswith(ignored) for line in lines)
    assert "  state:    not in the shared cache (--refresh fetches it)" in lines
    assert server.count("/jwks") == 0


def test_without_secret_key_nothing_is_shared_and_every_worker_fetches(
    api, make_token, server, keys, settings, redis_cache, caplog
):
    key = jwks_key(server)
    redis_cache.set(key, shared_entries.signed(key, server.url("/jwks"), fx_jwks(keys), NOW, NOW + HOUR), HOUR)
    settings.SECRET_KEY = ""
    for _ in range(2):
        key_sets.clear()
        assert api.get("/orders", make_token()).status_code == 200
    assert server.count("/jwks") == 2
    assert json.loads(shared_entries_payload(redis_cache.get(key)))["fetched_at"] == NOW  # left alone
    warnings = [r.getMessage() for r in package_records(caplog, logging.WARNING)]
    assert warnings == ["SECRET_KEY is empty: key sets and metadata are not shared through JWT_AT_CACHE"] * 2


def shared_entries_payload(raw):
    """The JSON payload of a signed entry, without checking it (its key is gone here)."""
    return raw.rsplit(":", 1)[0]
