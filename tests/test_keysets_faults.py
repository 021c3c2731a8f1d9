"""Key sets under load and under faults (issue 4; spec section 7, choices A-11 and A-35).

Single-flight in a thread pool and across worker processes on one real Redis, the
unknown-kid flood, a JWKS outage over the whole max-stale window, every fetch fault, the
retry back-off and its Retry-After, rotation, Cache-Control bounds, a Redis outage, and
stale-if-error for discovery metadata. Documents come from the live loopback server, time
from the injected clock; only the multi-process and dead-lock-holder tests wait on real time
(a bounded poll).
"""

from __future__ import annotations

import logging
import socket
import threading
import uuid

import pytest
from django.core.cache import caches

from django_jwt_at import jwks
from django_jwt_at.conf import get_config
from django_jwt_at.errors import KeySetUnavailable
from django_jwt_at.jwks import cache_key, key_sets
from django_jwt_at.validation import validate_access_token

from .conftest import NOW, fx_jwks
from .helpers import (
    FX_AUD,
    FX_ISS,
    assert_unavailable,
    challenge_params,
    invalid_token,
    subjects_from_workers,
)
from .redis_server import RedisServer, needs_redis, run_validate_workers
from .shared_entries import read as read_entry

RS8414 = "/.well-known/oauth-authorization-server"
OIDC = "/.well-known/openid-configuration"
DAY = 86400
HOUR = 3600


def jwt_at_records(caplog, level):
    """Records of the package's modules; the per-request audit records of the logger
    ``django_jwt_at`` itself are asserted in test_signals."""
    return [r for r in caplog.get_records("call") if r.name.startswith("django_jwt_at.") and r.levelno == level]


def no_tracebacks(caplog):
    return not [r for r in caplog.get_records("call") if r.exc_info or r.exc_text]


def discovery_issuer(fx, server):
    """Configure the loopback origin as an issuer without JWKS_URI (RFC 8414 discovery)."""
    issuer = server.origin
    fx.settings.JWT_AT_ISSUERS = {issuer: {"AUDIENCE": FX_AUD, "ALGORITHMS": ["RS256", "PS256", "ES256"]}}
    server.route(RS8414, {"issuer": issuer, "jwks_uri": server.url("/jwks")})
    return issuer


def validate(token, registry=key_sets):
    config = get_config()
    return validate_access_token(token, config=config, key_sets=registry, now=jwks.clock.now())


# --- unknown-kid flood (C-8414-07, choice A-35) ---------------------------------------------------


@pytest.mark.parametrize("warm", [True, False], ids=["warm-cache", "cold-cache"])
def test_unknown_kid_flood_1000_random_kids_in_one_cooldown_cause_at_most_one_refetch(
    api, make_token, server, clock, warm
):
    if warm:
        assert api.get("/orders", make_token()).status_code == 200
    before = server.count("/jwks")
    for _ in range(1000):
        clock.advance(0.05)  # 1,000 tokens in 50 s, inside the 60 s cooldown
        response = api.get("/orders", make_token(header={"kid": uuid.uuid4().hex}, key="ec-1"))
        assert response.status_code == 401
        assert response["WWW-Authenticate"] == invalid_token("signature")
    # Choice A-35: the fetch that fills a cold cache does not start the cooldown (so a key
    # published just after it is found at once); the flood then costs one refetch.
    assert server.count("/jwks") - before == (1 if warm else 2)
    assert server.count("/jwks") == 2


# --- single flight in one process (threads) -------------------------------------------------------


@pytest.mark.parametrize("discovery", [False, True], ids=["jwks-uri", "discovery"])
def test_cold_start_32_threads_cause_exactly_one_fetch(fx, make_token, server, keys, discovery):
    iss = discovery_issuer(fx, server) if discovery else FX_ISS
    server.route("/jwks", fx_jwks(keys), delay=0.3)  # long enough for all threads to pile up
    tokens = [make_token(claims={"iss": iss}) for _ in range(32)]
    barrier = threading.Barrier(32)
    outcomes = []

    def worker(token):
        barrier.wait(10)
        try:
            outcomes.append(validate(token).subject)
        except Exception as exc:
            outcomes.append(type(exc).__name__)

    threads = [threading.Thread(target=worker, args=(t,)) for t in tokens]
    for t in threads:
        t.start()
    for t in threads:
        t.join(20)
    assert outcomes == ["user-123"] * 32
    assert server.count("/jwks") == 1
    assert server.count(RS8414) == (1 if discovery else 0)


def test_cold_start_32_threads_against_failing_endpoint_cause_one_fetch_and_503s(make_token, server):
    server.route("/jwks", "down", status=500, delay=0.3)
    tokens = [make_token() for _ in range(32)]
    barrier = threading.Barrier(32)
    outcomes = []

    def worker(token):
        barrier.wait(10)
        try:
            validate(token)
            outcomes.append("ok")
        except KeySetUnavailable as exc:
            outcomes.append(exc.retry_after)

    threads = [threading.Thread(target=worker, args=(t,)) for t in tokens]
    for t in threads:
        t.start()
    for t in threads:
        t.join(20)
    assert outcomes == [jwks.FAILURE_BACKOFF] * 32  # every waiter got the one fetch's outcome
    assert server.count("/jwks") == 1


def test_cold_start_4_workers_x_8_threads_on_one_shared_cache_cause_exactly_one_fetch(make_token, server, keys):
    # Four registries are four workers' process memory; the locmem cache is their shared cache.
    server.route("/jwks", fx_jwks(keys), delay=0.3)
    outcomes = subjects_from_workers(validate, [make_token() for _ in range(32)])
    assert outcomes == ["user-123"] * 32
    assert server.count("/jwks") == 1


# --- single flight across processes on a real Redis ----------------------------------------------


@needs_redis
@pytest.mark.parametrize("discovery", [False, True], ids=["jwks-uri", "discovery"])
def test_4_worker_processes_on_one_redis_fetch_once_per_ttl_window(
    fx, make_token, server, keys, redis_server, discovery
):
    redis_server.flush()
    iss = discovery_issuer(fx, server) if discovery else FX_ISS
    issuer_options = {"AUDIENCE": FX_AUD, "ALGORITHMS": ["RS256", "PS256", "ES256"]}
    if not discovery:
        issuer_options["JWKS_URI"] = server.url("/jwks")
    # TTL 300 s; the cold workers meet while the one fetch is in flight (0.5 s).
    server.route("/jwks", fx_jwks(keys), headers={"Cache-Control": "max-age=300"}, delay=0.5)
    django_settings = {
        "SECRET_KEY": "worker",
        "INSTALLED_APPS": ["django_jwt_at"],
        "USE_TZ": True,
        "CACHES": {"default": redis_server.cache_settings()},
        "JWT_AT_ISSUERS": {iss: issuer_options},
        "JWT_AT_HTTP_TIMEOUT": 5,
    }
    per_worker = 60
    token_lists = [
        [make_token(claims={"iss": iss}, key=k) for k in ["rsa-1", "ec-1", "ps-1"] * (per_worker // 3)]
        for _ in range(4)
    ]
    outcomes = run_validate_workers(django_settings, token_lists, NOW, 299 / per_worker)  # the whole TTL window
    assert len({pid for pid, _ in outcomes}) == 4
    assert [o for _, o in outcomes] == [["ok"] * per_worker] * 4
    assert server.count("/jwks") == 1
    assert server.count(RS8414) == (1 if discovery else 0)


@needs_redis
def test_dead_lock_holder_delays_a_cold_worker_by_at_most_the_timeout_then_it_fetches(
    api, make_token, server, settings, redis_server
):
    redis_server.flush()
    settings.CACHES = {"default": redis_server.cache_settings()}
    settings.JWT_AT_HTTP_TIMEOUT = 0.5
    # a worker took the fetch lock and died before storing the document
    caches["default"].add(cache_key("jwks", server.url("/jwks")) + ":lock", 1, timeout=60)
    assert api.get("/orders", make_token()).status_code == 200
    assert server.count("/jwks") == 1
    key_sets.clear()  # the next cold worker finds the document in Redis
    assert api.get("/orders", make_token()).status_code == 200
    assert server.count("/jwks") == 1


@needs_redis
def test_shared_entry_is_kept_in_redis_for_lifetime_plus_max_stale(api, make_token, server, settings, redis_server):
    import redis

    redis_server.flush()
    settings.CACHES = {"default": redis_server.cache_settings()}
    assert api.get("/orders", make_token()).status_code == 200
    ttl = redis.Redis.from_url(redis_server.url).ttl(":1:" + cache_key("jwks", server.url("/jwks")))
    assert HOUR + DAY - 5 <= ttl <= HOUR + DAY


# --- outage with a warm cache --------------------------------------------------------------------


def test_outage_with_warm_cache_200_until_max_stale_then_503_then_200_within_one_retry(
    api, make_token, server, keys, clock, caplog
):
    assert api.get("/orders", make_token()).status_code == 200  # fetched at NOW, fresh for 1 h
    usable_until = NOW + HOUR + DAY  # lifetime + JWT_AT_JWKS_MAX_STALE (choice A-35)
    server.route("/jwks", "down", status=500)
    statuses = []
    while clock.t + 300 < usable_until:
        clock.advance(300)
        statuses.append(api.get("/orders", make_token()).status_code)
    clock.t = usable_until - 1
    statuses.append(api.get("/orders", make_token()).status_code)
    assert statuses.count(401) == 0  # no false 401
    assert set(statuses) == {200}
    assert len(statuses) > 290
    clock.t = usable_until
    retry_after = assert_unavailable(api.get("/orders", make_token()))
    assert retry_after <= 60
    attempts = server.count("/jwks")
    assert len(jwt_at_records(caplog, logging.WARNING)) == 1  # one warning for the whole burst

    server.route("/jwks", fx_jwks(keys))  # recovery
    clock.advance(retry_after)
    assert api.get("/orders", make_token()).status_code == 200
    assert server.count("/jwks") == attempts + 1
    assert no_tracebacks(caplog)


def test_outage_unknown_kid_with_warm_cache_is_503_not_401(api, make_token, server, keys, clock):
    assert api.get("/orders", make_token()).status_code == 200
    server.route("/jwks", "down", status=500)
    assert_unavailable(api.get("/orders", make_token(key="rsa-2")), retry_after=jwks.FAILURE_BACKOFF)
    assert api.get("/orders", make_token()).status_code == 200  # known keys keep working


# --- every fault ----------------------------------------------------------------------------------


def _closed_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


FAULTS = {
    "refused": None,
    "delay-past-timeout": None,
    "http-500": ("<html>error</html>", 500, {"Content-Type": "text/html"}),
    "garbage": (b"\x00\xff\xfe garbage", 200, {}),
    "not-json": ("{not json", 200, {"Content-Type": "application/json"}),
    "not-a-jwks": ({"issuer": FX_ISS, "keys": "x"}, 200, {}),
    "huge-body": (b'{"keys":[' + b" " * (600 * 1024) + b"]}", 200, {}),
    "redirect-other-host": None,
    "no-usable-key": None,
}


def apply_fault(fault, fx, server, keys, settings):
    settings.JWT_AT_HTTP_TIMEOUT = 0.5
    if fault == "refused":
        fx.configure(JWKS_URI=f"http://127.0.0.1:{_closed_port()}/jwks")
    elif fault == "delay-past-timeout":
        server.route("/jwks", fx_jwks(keys), delay=3)
    elif fault == "redirect-other-host":
        server.route("/jwks-real", fx_jwks(keys))
        server.redirect("/jwks", server.url("/jwks-real", host="localhost"))
    elif fault == "no-usable-key":
        server.route(
            "/jwks",
            {
                "keys": [
                    keys["weak-1"].public_jwk(),  # RSA-1024
                    keys["enc-1"].public_jwk(use="enc"),
                    {"kty": "oct", "kid": "hmac", "k": "c2VjcmV0"},
                    keys["rsa-2"].public_jwk(alg="RS512"),  # not an allowed algorithm
                ]
            },
        )
    else:
        body, status, headers = FAULTS[fault]
        server.route("/jwks", body, status=status, headers=headers)


@pytest.mark.parametrize("fault", list(FAULTS))
def test_fault_on_cold_cache_gives_503_with_retry_after_and_one_warning(
    api, make_token, fx, server, keys, settings, caplog, fault
):
    apply_fault(fault, fx, server, keys, settings)
    response = api.get("/orders", make_token())
    assert_unavailable(response, retry_after=jwks.FAILURE_BACKOFF)
    assert server.count("/jwks-real") == 0
    warnings = jwt_at_records(caplog, logging.WARNING)
    assert len([w for w in warnings if w.getMessage().startswith("Key set of issuer")]) == 1
    assert FX_ISS in warnings[-1].getMessage()
    assert no_tracebacks(caplog)


@pytest.mark.parametrize("fault", list(FAULTS))
def test_fault_on_expired_warm_cache_serves_stale_keys(
    api, make_token, fx, server, keys, settings, clock, caplog, fault
):
    settings.JWT_AT_HTTP_TIMEOUT = 0.5
    assert api.get("/orders", make_token()).status_code == 200
    if fault == "refused":
        # the URL changes with the settings, which empties process memory: the stale copy
        # comes from the shared cache under the old URL only, so use a server that closed.
        dead = server.__class__()
        dead.route("/jwks", fx_jwks(keys))
        fx.configure(JWKS_URI=dead.url("/jwks"))
        assert api.get("/orders", make_token()).status_code == 200
        dead.close()
    else:
        apply_fault(fault, fx, server, keys, settings)
    clock.advance(HOUR + 1)
    assert api.get("/orders", make_token()).status_code == 200
    assert api.get("/orders", make_token(key="ec-1")).status_code == 200
    messages = [r.getMessage() for r in jwt_at_records(caplog, logging.WARNING)]
    assert len([m for m in messages if m.startswith("Key set of issuer")]) == 1
    assert no_tracebacks(caplog)


# --- back-off and Retry-After ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cooldown", "expected"),
    [(60, [5, 10, 20, 40, 60, 60]), (300, [5, 10, 20, 40, 80, 160, 300, 300])],
    ids=["cooldown-60", "cooldown-300"],
)
def test_backoff_doubles_up_to_the_cooldown_and_retry_after_reflects_it(
    api, make_token, server, keys, clock, settings, caplog, cooldown, expected
):
    settings.JWT_AT_JWKS_REFRESH_COOLDOWN = cooldown
    server.route("/jwks", "down", status=500)
    seen = []
    for attempt, backoff in enumerate(expected, start=1):
        seen.append(assert_unavailable(api.get("/orders", make_token())))
        assert server.count("/jwks") == attempt
        clock.advance(backoff - 1)  # within the back-off: no new attempt, Retry-After counts down
        assert_unavailable(api.get("/orders", make_token()), retry_after=1)
        assert server.count("/jwks") == attempt
        clock.advance(1)
    assert seen == expected
    assert len(jwt_at_records(caplog, logging.WARNING)) == 1  # one warning for the burst

    server.route("/jwks", fx_jwks(keys))
    assert api.get("/orders", make_token()).status_code == 200
    infos = [r.getMessage() for r in jwt_at_records(caplog, logging.INFO)]
    assert any(f"after {len(expected)} failed attempts" in m for m in infos)

    # a new failure burst logs a new warning and starts the back-off again
    server.route("/jwks", "down", status=500)
    clock.advance(HOUR)
    assert api.get("/orders", make_token()).status_code == 200  # stale keys
    assert len(jwt_at_records(caplog, logging.WARNING)) == 2
    clock.advance(jwks.FAILURE_BACKOFF - 1)
    attempts = server.count("/jwks")
    assert api.get("/orders", make_token()).status_code == 200
    assert server.count("/jwks") == attempts


# --- rotation (C-8414-06, C-8414-08) --------------------------------------------------------------


def test_rotation_new_key_accepted_on_first_sight(api, make_token, server, keys):
    assert api.get("/orders", make_token()).status_code == 200
    server.route("/jwks", fx_jwks(keys, keys["rsa-2"].public_jwk()))
    assert api.get("/orders", make_token(key="rsa-2")).status_code == 200
    assert server.count("/jwks") == 2


def test_rotation_removed_key_rejected_after_refresh(api, make_token, server, keys):
    assert api.get("/orders", make_token()).status_code == 200
    server.route("/jwks", {"keys": [keys["rsa-2"].public_jwk(), keys["ec-1"].public_jwk()]})
    assert api.get("/orders", make_token(key="rsa-2")).status_code == 200  # the refresh
    response = api.get("/orders", make_token())
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == invalid_token("signature")
    assert server.count("/jwks") == 2
    key_sets.clear()  # another worker reads the refreshed set from the shared cache
    assert api.get("/orders", make_token(key="rsa-2")).status_code == 200
    assert server.count("/jwks") == 2
    # its cooldown is its own: the removed kid costs it one refetch, then none
    for _ in range(3):
        assert api.get("/orders", make_token()).status_code == 401
    assert server.count("/jwks") == 3


# --- Cache-Control bounds (choice A-35) -----------------------------------------------------------


@pytest.mark.parametrize(
    ("cache_control", "lifetime"),
    [
        ("max-age=10", 300),
        ("public, max-age=99999999", DAY),
        (None, HOUR),
        ("no-store", 300),
        ("no-cache, max-age=7200", 300),
        ("max-age=7200", 7200),
    ],
    ids=["below-min", "above-max", "absent-default", "no-store", "no-cache", "within-bounds"],
)
def test_cache_control_max_age_is_clamped_to_the_bounds(api, make_token, server, keys, clock, cache_control, lifetime):
    headers = {"Cache-Control": cache_control} if cache_control else {}
    server.route("/jwks", fx_jwks(keys), headers=headers)
    assert api.get("/orders", make_token()).status_code == 200
    entry = read_entry(cache_key("jwks", server.url("/jwks")))
    assert entry["expires_at"] - entry["fetched_at"] == lifetime
    clock.advance(lifetime - 1)
    assert api.get("/orders", make_token()).status_code == 200
    assert server.count("/jwks") == 1
    clock.advance(1)
    assert api.get("/orders", make_token()).status_code == 200
    assert server.count("/jwks") == 2


def test_cache_control_bounds_follow_the_settings(api, make_token, server, keys, clock, settings):
    settings.JWT_AT_JWKS_MIN_TTL = 60
    settings.JWT_AT_JWKS_DEFAULT_TTL = 120
    settings.JWT_AT_JWKS_MAX_TTL = 600
    for cache_control, lifetime in [("max-age=30", 60), ("max-age=6000", 600), (None, 120)]:
        key_sets.clear()
        caches["default"].clear()
        server.route("/jwks", fx_jwks(keys), headers={"Cache-Control": cache_control} if cache_control else {})
        assert api.get("/orders", make_token()).status_code == 200
        entry = read_entry(cache_key("jwks", server.url("/jwks")))
        assert entry["expires_at"] - entry["fetched_at"] == lifetime, cache_control


# --- the shared cache fails -----------------------------------------------------------------------


@needs_redis
def test_redis_stopped_mid_test_requests_still_validated_with_one_warning(
    api, make_token, fx, server, keys, clock, settings, caplog
):
    private = RedisServer()  # a server of our own, which this test stops
    try:
        settings.CACHES = {"default": private.cache_settings()}
        assert api.get("/orders", make_token()).status_code == 200
        assert server.count("/jwks") == 1
        private.stop()

        statuses = [api.get("/orders", make_token()).status_code]  # process memory: no I/O
        assert server.count("/jwks") == 1
        key_sets.clear()  # a worker started after Redis died: direct fetch
        statuses.append(api.get("/orders", make_token()).status_code)
        assert server.count("/jwks") == 2
        clock.advance(HOUR + 1)  # lifetime over: refetch without the cache
        statuses.append(api.get("/orders", make_token(key="ec-1")).status_code)
        statuses.append(api.get("/orders", make_token(key="rsa-2")).status_code)  # unknown kid
        assert statuses == [200, 200, 200, 401]
        assert server.count("/jwks") == 4
        warnings = [r.getMessage() for r in jwt_at_records(caplog, logging.WARNING)]
        assert warnings == [
            "JWT_AT_CACHE 'default' is unavailable (ConnectionError); key sets are fetched without it for 30 s"
        ]
        assert no_tracebacks(caplog)
    finally:
        private.close()


def test_cache_outage_with_issuer_outage_is_503_not_500(api, make_token, server, settings):
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "jwt-at-tests"},
        "broken": {"BACKEND": "tests.test_keysets_discovery.BrokenCache"},
    }
    settings.JWT_AT_CACHE = "broken"
    server.route("/jwks", "down", status=500)
    assert_unavailable(api.get("/orders", make_token()), retry_after=jwks.FAILURE_BACKOFF)


# --- discovery metadata: same caching treatment ----------------------------------------------------


def test_metadata_fetched_once_by_several_workers_and_honours_its_cache_control(
    api, make_token, fx, server, keys, clock
):
    issuer = discovery_issuer(fx, server)
    server.route(RS8414, {"issuer": issuer, "jwks_uri": server.url("/jwks")}, headers={"Cache-Control": "max-age=600"})
    server.route("/jwks", fx_jwks(keys), headers={"Cache-Control": "max-age=7200"})
    for _ in range(3):
        key_sets.clear()  # three workers sharing the Django cache
        assert api.get("/orders", make_token(claims={"iss": issuer})).status_code == 200
    assert (server.count(RS8414), server.count("/jwks")) == (1, 1)
    entry = read_entry(cache_key("metadata", issuer))
    assert entry["expires_at"] - entry["fetched_at"] == 600
    clock.advance(7200)  # key set expired: the metadata (600 s) is refreshed with it
    assert api.get("/orders", make_token(claims={"iss": issuer})).status_code == 200
    assert (server.count(RS8414), server.count("/jwks")) == (2, 2)


def test_metadata_outage_serves_the_previous_jwks_uri_stale_if_error(api, make_token, fx, server, keys, clock, caplog):
    issuer = discovery_issuer(fx, server)
    assert api.get("/orders", make_token(claims={"iss": issuer})).status_code == 200
    server.route(RS8414, "down", status=500)
    server.route(OIDC, "down", status=500)
    clock.advance(HOUR + 1)  # metadata and key set expired; the JWKS endpoint still works
    assert api.get("/orders", make_token(claims={"iss": issuer})).status_code == 200
    assert server.count("/jwks") == 2
    key_sets.clear()  # a worker started during the metadata outage: stale metadata from the cache
    clock.advance(1)
    assert api.get("/orders", make_token(claims={"iss": issuer})).status_code == 200
    messages = [r.getMessage() for r in jwt_at_records(caplog, logging.WARNING)]
    assert len([m for m in messages if m.startswith("Metadata of issuer")]) == 2  # one per worker
    assert not jwt_at_records(caplog, logging.ERROR)
    # beyond max-stale the metadata is no longer used: 503, with an ERROR for the metadata
    clock.advance(DAY)
    key_sets.clear()
    assert_unavailable(api.get("/orders", make_token(claims={"iss": issuer})))
    errors = [r.getMessage() for r in jwt_at_records(caplog, logging.ERROR)]
    assert len(errors) == 1 and errors[0].startswith(f"Metadata of issuer {issuer} is unusable")


def test_metadata_and_jwks_outage_on_warm_cache_keep_200_until_max_stale(api, make_token, fx, server, clock):
    issuer = discovery_issuer(fx, server)
    assert api.get("/orders", make_token(claims={"iss": issuer})).status_code == 200
    for path in (RS8414, OIDC, "/jwks"):
        server.route(path, "down", status=500)
    for _ in range(20):
        clock.advance(HOUR)
        assert api.get("/orders", make_token(claims={"iss": issuer})).status_code == 200
    clock.t = NOW + HOUR + DAY
    assert_unavailable(api.get("/orders", make_token(claims={"iss": issuer})))


def test_unknown_kid_during_outage_within_cooldown_is_an_ordinary_401(api, make_token, server, clock):
    assert api.get("/orders", make_token()).status_code == 200
    assert api.get("/orders", make_token(header={"kid": "nope"})).status_code == 401  # uses the refetch
    server.route("/jwks", "down", status=500)
    clock.advance(10)
    response = api.get("/orders", make_token(header={"kid": "nope-2"}))
    assert response.status_code == 401
    assert challenge_params(response["WWW-Authenticate"])["error"] == "invalid_token"
    assert server.count("/jwks") == 2
