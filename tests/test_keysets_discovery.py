"""Spec section 7: issuer discovery (RFC 8414, OIDC Discovery) and JWKS behaviour.

All documents come from the live loopback server; time moves through the injected clock.
"""

from __future__ import annotations

import logging
import re
import socket
import threading
import time
import uuid

import pytest
from django.core.cache import caches
from django.core.checks import ERROR
from django.core.exceptions import ImproperlyConfigured
from rest_framework.test import APIClient

from django_jwt_at.conf import get_config
from django_jwt_at.jwks import key_sets

from .conftest import ABSENT, fx_jwks
from .helpers import FX_AUD, FX_ISS, FX_ISS2, challenge_params, invalid_token, json_body, our_messages
from .live_server import LiveServer
from .redis_server import needs_redis

RS8414 = "/.well-known/oauth-authorization-server"
OIDC = "/.well-known/openid-configuration"


def assert_unavailable(response):
    """C-8414-09: 503 + Retry-After, never invalid_token."""
    assert response.status_code == 503, (response.status_code, response.content)
    assert re.fullmatch(r"[0-9]+", response["Retry-After"]), response["Retry-After"]
    value = response.get("WWW-Authenticate", "")
    assert "invalid_token" not in value
    assert b"invalid_token" not in response.content
    body = json_body(response)
    assert body["error"] == "temporarily_unavailable"
    assert isinstance(body["detail"], str) and body["detail"]


def discovery_issuer(fx, issuer, **options):
    """Configure ``issuer`` (a loopback URL) without JWKS_URI, so discovery is used."""
    opts = {"AUDIENCE": FX_AUD, "ALGORITHMS": ["RS256", "PS256", "ES256"]}
    opts.update(options)
    fx.settings.JWT_AT_ISSUERS = {issuer: {k: v for k, v in opts.items() if v is not ABSENT}}


def metadata(issuer, jwks_uri):
    return {"issuer": issuer, "jwks_uri": jwks_uri, "response_types_supported": ["code"]}


# --- discovery -----------------------------------------------------------------------------------


def test_C_8414_discovery_rfc8414_location(api, make_token, fx, server):
    issuer = server.origin
    discovery_issuer(fx, issuer)
    server.route(RS8414, metadata(issuer, server.url("/jwks")))
    assert api.get("/orders", make_token(claims={"iss": issuer})).status_code == 200
    assert server.paths() == [RS8414, "/jwks"]


@pytest.mark.parametrize(
    "bad_issuer",
    ["{origin}/", "{origin}/other", "HTTP://127.0.0.1:{port}", None, "{origin}#"],
    ids=[
        "C-8414-01-trailing-slash",
        "C-8414-01-other-path",
        "C-8414-01-case",
        "C-8414-01-missing",
        "C-8414-01-fragment",
    ],
)
def test_C_8414_01_issuer_mismatch(api, make_token, fx, server, caplog, bad_issuer):
    caplog.set_level(logging.INFO)
    issuer = server.origin
    discovery_issuer(fx, issuer)
    named = None if bad_issuer is None else bad_issuer.format(origin=server.origin, port=server.port)
    document = metadata(named, server.url("/jwks"))
    if named is None:
        del document["issuer"]
    server.route(RS8414, document)
    server.route(OIDC, document)
    response = api.get("/orders", make_token(claims={"iss": issuer}))
    assert_unavailable(response)
    assert server.count("/jwks") == 0
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR and r.name.startswith("django_jwt_at")]
    assert errors, "an ERROR log record must name the issuer mismatch"
    assert any(issuer in r.getMessage() for r in errors)
    assert not any(r.levelno >= logging.ERROR and "Traceback" in (r.exc_text or "") for r in errors)


def test_C_8414_01_mismatch_reported_by_check(fx, server):
    issuer = server.origin
    discovery_issuer(fx, issuer)
    server.route(RS8414, metadata(issuer + "/", server.url("/jwks")))
    server.route(OIDC, metadata(issuer + "/", server.url("/jwks")))
    messages = our_messages(include_deployment_checks=True)
    assert any(m.level >= ERROR for m in messages), messages
    assert server.count("/jwks") == 0


def test_C_8414_01_mismatch_recovers_when_metadata_fixed(api, make_token, fx, server, clock):
    issuer = server.origin
    discovery_issuer(fx, issuer)
    server.route(RS8414, metadata(issuer + "/", server.url("/jwks")))
    assert_unavailable(api.get("/orders", make_token(claims={"iss": issuer})))
    server.route(RS8414, metadata(issuer, server.url("/jwks")))
    clock.advance(3600)
    assert api.get("/orders", make_token(claims={"iss": issuer})).status_code == 200


def test_C_8414_02_tenant_rfc8414_first(api, make_token, fx, server):
    issuer = server.origin + "/tenant1"
    discovery_issuer(fx, issuer)
    server.route(RS8414 + "/tenant1", metadata(issuer, server.url("/jwks")))
    server.route("/tenant1" + OIDC, metadata(issuer, server.url("/jwks")))
    assert api.get("/orders", make_token(claims={"iss": issuer})).status_code == 200
    assert server.count(RS8414 + "/tenant1") == 1
    assert server.count("/tenant1" + OIDC) == 0
    assert server.paths() == [RS8414 + "/tenant1", "/jwks"]


@pytest.mark.parametrize(
    "failure",
    ["404", "500", "html", "mismatch"],
    ids=["C-8414-02-fallback-404", "C-8414-02-fallback-500", "C-8414-02-fallback-html", "C-8414-02-fallback-mismatch"],
)
def test_C_8414_02_tenant_oidc_fallback(api, make_token, fx, server, failure):
    issuer = server.origin + "/tenant1"
    discovery_issuer(fx, issuer)
    if failure == "500":
        server.route(RS8414 + "/tenant1", "oops", status=500)
    elif failure == "html":
        server.route(RS8414 + "/tenant1", "<html></html>", headers={"Content-Type": "text/html"})
    elif failure == "mismatch":
        server.route(RS8414 + "/tenant1", metadata(server.origin, server.url("/jwks")))
    server.route("/tenant1" + OIDC, metadata(issuer, server.url("/jwks")))
    assert api.get("/orders", make_token(claims={"iss": issuer})).status_code == 200
    assert server.paths() == [RS8414 + "/tenant1", "/tenant1" + OIDC, "/jwks"]


def test_C_8414_02_terminating_slash_removed(api, make_token, fx, server):
    issuer = server.origin + "/tenant1/"
    discovery_issuer(fx, issuer)
    server.route(RS8414 + "/tenant1", metadata(issuer, server.url("/jwks")))
    assert api.get("/orders", make_token(claims={"iss": issuer})).status_code == 200
    assert server.paths()[0] == RS8414 + "/tenant1"


@pytest.mark.parametrize(
    "jwks_uri",
    ["http://as.example.com/jwks", None, "", "ftp://127.0.0.1/jwks", "/jwks", 42],
    ids=[
        "C-8414-03-http",
        "C-8414-03-missing",
        "C-8414-03-empty",
        "C-8414-03-ftp",
        "C-8414-03-relative",
        "C-8414-03-number",
    ],
)
def test_C_8414_03_unusable_jwks_uri(api, make_token, fx, server, outbound, jwks_uri):
    issuer = server.origin
    discovery_issuer(fx, issuer)
    document = metadata(issuer, jwks_uri)
    if jwks_uri is None:
        del document["jwks_uri"]
    server.route(RS8414, document)
    server.route(OIDC, document)
    assert_unavailable(api.get("/orders", make_token(claims={"iss": issuer})))
    assert "as.example.com" not in outbound


@pytest.mark.parametrize(
    ("allow_http", "host", "expected"),
    [(True, "localhost", 200), (False, "localhost", 503), (False, "127.0.0.1", 200)],
    ids=["C-8414-03-http-with-allow-http", "C-8414-03-http-other-origin", "C-8414-03-http-issuer-origin"],
)
def test_C_8414_03_http_jwks_uri_from_metadata(api, make_token, fx, server, allow_http, host, expected):
    # Loopback http is a rule for URLs written in settings: a jwks_uri read from metadata may
    # use http only with ALLOW_HTTP or on the origin of the (http, loopback) issuer itself.
    issuer = server.origin
    discovery_issuer(fx, issuer, ALLOW_HTTP=allow_http)
    server.route(RS8414, metadata(issuer, server.url("/jwks", host=host)))
    response = api.get("/orders", make_token(claims={"iss": issuer}))
    if expected == 503:
        assert_unavailable(response)
    assert response.status_code == expected
    assert server.count("/jwks") == (1 if expected == 200 else 0)


@pytest.mark.parametrize(
    "iss",
    ["https://attacker.example", "{origin}/attacker", "{origin}"],
    ids=["C-8414-04-external", "C-8414-04-loopback-path", "C-8414-04-loopback-origin"],
)
def test_C_8414_04_no_discovery_for_untrusted_iss(api, make_token, server, outbound, iss):
    token = make_token(claims={"iss": iss.format(origin=server.origin)}, key="KX")
    response = api.get("/orders", token)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == invalid_token("iss")
    assert server.total() == 0
    assert "attacker.example" not in outbound


# --- caching -----------------------------------------------------------------------------------


def test_C_8414_05_one_fetch_for_many_requests(api, make_token, server, clock):
    for _ in range(100):
        clock.advance(1)
        assert api.get("/orders", make_token()).status_code == 200
    assert server.count("/jwks") == 1


def test_C_8414_05_one_fetch_with_discovery(api, make_token, fx, server, clock):
    issuer = server.origin
    discovery_issuer(fx, issuer)
    server.route(RS8414, metadata(issuer, server.url("/jwks")))
    for _ in range(100):
        clock.advance(1)
        assert api.get("/orders", make_token(claims={"iss": issuer})).status_code == 200
    assert server.count(RS8414) == 1
    assert server.count("/jwks") == 1


def test_C_8414_05_shared_cache_between_processes(api, make_token, fx, server):
    issuer = server.origin
    discovery_issuer(fx, issuer)
    server.route(RS8414, metadata(issuer, server.url("/jwks")))
    assert api.get("/orders", make_token(claims={"iss": issuer})).status_code == 200
    key_sets.clear()  # another worker: empty process memory, same Django cache
    assert api.get("/orders", make_token(claims={"iss": issuer})).status_code == 200
    assert server.count(RS8414) == 1
    assert server.count("/jwks") == 1


def test_C_8414_05_cache_outage_does_not_stop_validation(api, make_token, settings, server):
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "jwt-at-tests"},
        "broken": {"BACKEND": "tests.test_keysets_discovery.BrokenCache"},
    }
    settings.JWT_AT_CACHE = "broken"
    assert api.get("/orders", make_token()).status_code == 200
    assert api.get("/orders", make_token()).status_code == 200
    assert server.count("/jwks") == 1


class BrokenCache:
    """A cache backend whose every operation fails (a Redis outage)."""

    def __init__(self, *args, **kwargs):
        pass

    def close(self, **kwargs):  # called by Django at the end of every request
        pass

    def __getattr__(self, name):
        def fail(*args, **kwargs):
            raise ConnectionError("cache down")

        return fail


@pytest.mark.parametrize(
    ("cache_control", "lifetime"),
    [(None, 3600), ("max-age=60", 300), ("public, max-age=1000", 1000), ("max-age=1000000", 86400)],
    ids=["C-8414-05-ttl-default-1h", "C-8414-05-ttl-min-5min", "C-8414-05-ttl-max-age", "C-8414-05-ttl-max-24h"],
)
def test_C_8414_05_cache_lifetime(api, make_token, server, keys, clock, cache_control, lifetime):
    headers = {"Cache-Control": cache_control} if cache_control else {}
    server.route("/jwks", fx_jwks(keys), headers=headers)
    assert api.get("/orders", make_token()).status_code == 200
    clock.advance(lifetime - 2)
    assert api.get("/orders", make_token()).status_code == 200
    assert server.count("/jwks") == 1
    clock.advance(3)
    assert api.get("/orders", make_token()).status_code == 200
    assert server.count("/jwks") == 2


def test_C_8414_05_single_flight(make_token, server, keys):
    server.route("/jwks", fx_jwks(keys), delay=0.3)
    tokens = [make_token() for _ in range(8)]
    statuses = []

    def call(token):
        response = APIClient().get("/orders", HTTP_AUTHORIZATION=f"Bearer {token}")
        statuses.append(response.status_code)

    threads = [threading.Thread(target=call, args=(t,)) for t in tokens]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert statuses == [200] * 8
    assert server.count("/jwks") == 1


def test_C_8414_06_rotation(api, make_token, server, keys):
    assert api.get("/orders", make_token()).status_code == 200
    server.route("/jwks", fx_jwks(keys, keys["rsa-2"].public_jwk()))
    assert api.get("/orders", make_token(key="rsa-2")).status_code == 200
    assert server.count("/jwks") == 2
    assert api.get("/orders", make_token(key="rsa-2")).status_code == 200
    assert api.get("/orders", make_token()).status_code == 200
    assert server.count("/jwks") == 2


def test_C_8414_06_rotation_seen_twice_in_a_row(api, make_token, server, keys, clock):
    # The first refetch was caused by an unknown kid; the next rotation is seen after the cooldown.
    assert api.get("/orders", make_token()).status_code == 200
    server.route("/jwks", fx_jwks(keys, keys["rsa-2"].public_jwk()))
    assert api.get("/orders", make_token(key="rsa-2")).status_code == 200
    server.route("/jwks", fx_jwks(keys, keys["rsa-2"].public_jwk(), keys["as2-1"].public_jwk(kid="rsa-3")))
    clock.advance(61)
    assert api.get("/orders", make_token(key=keys["as2-1"], header={"kid": "rsa-3"})).status_code == 200
    assert server.count("/jwks") == 3


def test_C_8414_07_unknown_kid_flood(api, make_token, server, keys, clock):
    assert api.get("/orders", make_token()).status_code == 200
    before = server.count("/jwks")
    for _ in range(100):
        clock.advance(0.1)
        response = api.get("/orders", make_token(header={"kid": uuid.uuid4().hex}))
        assert response.status_code == 401
        assert challenge_params(response["WWW-Authenticate"])["error"] == "invalid_token"
    assert server.count("/jwks") - before <= 1
    # a key published during the cooldown is found once the cooldown is over
    server.route("/jwks", fx_jwks(keys, keys["rsa-2"].public_jwk()))
    fetches = server.count("/jwks")
    assert api.get("/orders", make_token(key="rsa-2")).status_code == 401
    assert server.count("/jwks") == fetches
    clock.advance(60)
    assert api.get("/orders", make_token(key="rsa-2")).status_code == 200
    assert server.count("/jwks") == fetches + 1


def test_C_8414_07_unknown_kid_flood_cold_cache(api, make_token, server, clock):
    for _ in range(50):
        clock.advance(0.1)
        assert api.get("/orders", make_token(header={"kid": uuid.uuid4().hex})).status_code == 401
    assert server.count("/jwks") <= 2  # the filling fetch plus at most one refresh


def test_C_8414_08_revocation_after_lifetime(api, make_token, server, keys, clock):
    server.route("/jwks", fx_jwks(keys), headers={"Cache-Control": "max-age=300"})
    assert api.get("/orders", make_token()).status_code == 200
    server.route("/jwks", {"keys": [keys["ec-1"].public_jwk(), keys["ps-1"].public_jwk()]})
    clock.advance(301)
    response = api.get("/orders", make_token())
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == invalid_token("signature")
    assert api.get("/orders", make_token(key="ec-1")).status_code == 200


def test_C_8414_08_revocation_after_forced_refresh(api, make_token, server, keys, clock):
    assert api.get("/orders", make_token()).status_code == 200
    server.route("/jwks", {"keys": [keys["ec-1"].public_jwk(), keys["ps-1"].public_jwk()]})
    clock.advance(1)
    assert api.get("/orders", make_token(header={"kid": "unknown-kid"})).status_code == 401
    assert server.count("/jwks") == 2
    response = api.get("/orders", make_token())
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == invalid_token("signature")


def test_key_sets_follow_settings_changes(api, make_token, fx, server, keys):
    assert api.get("/orders", make_token()).status_code == 200
    server.route("/jwks-b", {"keys": [keys["rsa-2"].public_jwk()]})
    fx.configure(JWKS_URI=server.url("/jwks-b"))
    assert api.get("/orders", make_token(key="rsa-2")).status_code == 200
    response = api.get("/orders", make_token())
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == invalid_token("signature")
    assert server.count("/jwks-b") <= 2  # the filling fetch, then at most one refresh for the unknown kid


# --- failures ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "failure",
    [
        "500",
        "503",
        "404",
        "html",
        "keys-string",
        "keys-missing",
        "not-json",
        "json-array",
        "hang",
        "refused",
    ],
    ids=[
        "C-8414-09-500",
        "C-8414-09-503",
        "C-8414-09-404",
        "C-8414-09-html",
        "C-8414-09-keys-string",
        "C-8414-09-keys-missing",
        "C-8414-09-not-json",
        "C-8414-09-json-array",
        "C-8414-09-hang",
        "C-8414-09-refused",
    ],
)
def test_C_8414_09_cold_cache_unavailable(api, make_token, fx, server, settings, keys, failure):
    settings.JWT_AT_HTTP_TIMEOUT = 0.5
    html = {"Content-Type": "text/html"}
    if failure in ("500", "503", "404"):
        server.route("/jwks", "<html>error</html>", status=int(failure), headers=html)
    elif failure == "html":
        server.route("/jwks", "<html><body>login</body></html>", headers=html)
    elif failure == "keys-string":
        server.route("/jwks", {"keys": "x"})
    elif failure == "keys-missing":
        server.route("/jwks", {"kys": []})
    elif failure == "not-json":
        server.route("/jwks", "{not json")
    elif failure == "json-array":
        server.route("/jwks", [fx_jwks(keys)])
    elif failure == "hang":
        server.route("/jwks", fx_jwks(keys), delay=5)
    elif failure == "refused":
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        fx.configure(JWKS_URI=f"http://127.0.0.1:{port}/jwks")
    response = api.get("/orders", make_token())
    assert_unavailable(response)


def test_C_8414_09_recovers_after_backoff(api, make_token, server, keys, clock):
    server.route("/jwks", "down", status=500)
    assert_unavailable(api.get("/orders", make_token()))
    server.route("/jwks", fx_jwks(keys))
    clock.advance(3600)
    assert api.get("/orders", make_token()).status_code == 200


def test_C_8414_09_discovery_unavailable(api, make_token, fx, server):
    issuer = server.origin
    discovery_issuer(fx, issuer)
    server.route(RS8414, "down", status=503)
    server.route(OIDC, "down", status=503)
    assert_unavailable(api.get("/orders", make_token(claims={"iss": issuer})))


def test_C_8414_10_warm_cache_survives_outage(api, make_token, server, clock):
    assert api.get("/orders", make_token()).status_code == 200
    server.route("/jwks", "down", status=500)
    assert api.get("/orders", make_token()).status_code == 200
    clock.advance(3601)  # past the lifetime: stale keys still serve while the endpoint fails
    assert api.get("/orders", make_token()).status_code == 200
    clock.advance(3600)
    assert api.get("/orders", make_token()).status_code == 200


def test_C_8414_10_stale_keys_from_shared_cache_in_new_worker(api, make_token, server, clock):
    assert api.get("/orders", make_token()).status_code == 200
    server.route("/jwks", "down", status=500)
    clock.advance(3601)
    key_sets.clear()  # a worker started after the lifetime, while the issuer is down
    assert api.get("/orders", make_token()).status_code == 200
    assert server.count("/jwks") == 2


def test_C_8414_10_hard_maximum_age(api, make_token, server, clock):
    assert api.get("/orders", make_token()).status_code == 200
    server.route("/jwks", "down", status=500)
    clock.advance(3600 + 86400 + 1)  # lifetime + 24 h max stale (choice A-35)
    assert_unavailable(api.get("/orders", make_token()))


def test_C_8414_10_warm_cache_survives_hang(api, make_token, server, keys, clock, settings):
    settings.JWT_AT_HTTP_TIMEOUT = 0.5
    assert api.get("/orders", make_token()).status_code == 200
    server.route("/jwks", fx_jwks(keys), delay=5)
    clock.advance(3601)
    started = time.monotonic()
    assert api.get("/orders", make_token()).status_code == 200
    assert time.monotonic() - started < 2.5


@pytest.mark.parametrize(
    "where",
    ["jwks-hang", "jwks-drip", "metadata-hang"],
    ids=["C-8414-11-jwks-hang", "C-8414-11-jwks-drip", "C-8414-11-metadata-hang"],
)
def test_C_8414_11_hanging_endpoint_bounded(api, make_token, fx, server, keys, settings, where):
    settings.JWT_AT_HTTP_TIMEOUT = 0.5
    iss = FX_ISS
    if where == "jwks-hang":
        server.route("/jwks", fx_jwks(keys), delay=10)
    elif where == "jwks-drip":
        server.route("/jwks", b" " * 90 + b'{"keys":[]}', drip=0.03)  # ~3 s in total
    else:
        iss = server.origin
        discovery_issuer(fx, iss)
        server.route(RS8414, metadata(iss, server.url("/jwks")), delay=10)
        server.route(OIDC, metadata(iss, server.url("/jwks")), delay=10)
    started = time.monotonic()
    response = api.get("/orders", make_token(claims={"iss": iss}))
    elapsed = time.monotonic() - started
    assert_unavailable(response)
    limit = 0.5 * (2 if where == "metadata-hang" else 1)  # two metadata locations may each use the timeout
    assert elapsed < limit + 1.0, f"took {elapsed:.2f}s with a {0.5}s timeout"


def test_C_8414_11_default_timeout_at_most_5s(settings):
    del settings.JWT_AT_HTTP_TIMEOUT
    assert 0 < get_config().http_timeout <= 5


@pytest.mark.parametrize(
    "target",
    ["other-host", "other-port", "https-same-host", "other-host-metadata"],
    ids=["C-8414-12-other-host", "C-8414-12-other-port", "C-8414-12-scheme-change", "C-8414-12-metadata-other-host"],
)
def test_C_8414_12_redirects_not_followed(api, make_token, fx, server, keys, target):
    server.route("/jwks-real", fx_jwks(keys))
    iss = FX_ISS
    other = None
    if target == "other-host":
        server.redirect("/jwks", server.url("/jwks-real", host="localhost"))
    elif target == "other-port":
        other = LiveServer()
        other.route("/jwks", fx_jwks(keys))
        server.redirect("/jwks", other.url("/jwks"))
    elif target == "https-same-host":
        server.redirect("/jwks", f"https://127.0.0.1:{server.port}/jwks-real")
    else:
        iss = server.origin
        discovery_issuer(fx, iss)
        server.route("/meta-real", metadata(iss, server.url("/jwks-real")))
        server.redirect(RS8414, server.url("/meta-real", host="localhost"))
        server.redirect(OIDC, server.url("/meta-real", host="localhost"))
    try:
        assert_unavailable(api.get("/orders", make_token(claims={"iss": iss})))
        assert server.count("/jwks-real") == 0
        assert server.count("/meta-real") == 0
        if other is not None:
            assert other.total() == 0
    finally:
        if other is not None:
            other.close()


@pytest.mark.parametrize("private_key", ["priv-1", "ec-private"], ids=["C-8414-13-rsa", "C-8414-13-ec"])
def test_C_8414_13_published_private_key(api, make_token, server, keys, caplog, private_key):
    caplog.set_level(logging.INFO)
    from . import signing

    key = keys["priv-1"] if private_key == "priv-1" else signing.ec_key("ec-private", "P-256")
    server.route("/jwks", fx_jwks(keys, key.private_jwk()))
    assert api.get("/orders", make_token()).status_code == 200  # the other keys stay usable
    assert api.get("/orders", make_token(key="ec-1")).status_code == 200
    response = api.get("/orders", make_token(key=key))
    assert response.status_code == 401
    assert challenge_params(response["WWW-Authenticate"])["error"] == "invalid_token"
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR and key.kid in r.getMessage()]
    assert errors, "an ERROR naming the kid must be logged"
    assert all(FX_ISS in r.getMessage() for r in errors)
    assert len(errors) == server.count("/jwks")  # once per fetch
    for r in errors:  # and never the private material itself
        assert key.private_jwk()["d"][:20] not in r.getMessage()


def test_C_8414_14_same_kid_two_issuers(api, make_token, fx, server, keys):
    fx.add_iss2()
    server.route("/jwks", fx_jwks(keys, keys["shared-1-as"].public_jwk()))
    server.route("/as2/jwks", {"keys": [keys["as2-1"].public_jwk(), keys["shared-1-as2"].public_jwk()]})
    assert api.get("/orders", make_token(claims={"iss": FX_ISS2}, key="shared-1-as2")).status_code == 200
    assert api.get("/orders", make_token(claims={"iss": FX_ISS}, key="shared-1-as")).status_code == 200
    response = api.get("/orders", make_token(claims={"iss": FX_ISS2}, key="shared-1-as"))
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == invalid_token("signature")
    response = api.get("/orders", make_token(claims={"iss": FX_ISS}, key="shared-1-as2"))
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == invalid_token("signature")


@pytest.mark.parametrize(
    "issuer",
    [
        "https://as.example.com?tenant=1",
        "https://as.example.com#frag",
        "http://as.example.com",
        "https://as.example.com/path?x",
        "as.example.com",
        "",
        "https://user@as.example.com",
    ],
    ids=[
        "C-8414-15-query",
        "C-8414-15-fragment",
        "C-8414-15-http",
        "C-8414-15-path-query",
        "C-8414-15-no-scheme",
        "C-8414-15-empty",
        "C-8414-15-userinfo",
    ],
)
def test_C_8414_15_bad_issuer_identifier(fx, issuer):
    fx.settings.JWT_AT_ISSUERS = {issuer: {"AUDIENCE": FX_AUD, "JWKS_URI": "https://as.example.com/jwks"}}
    with pytest.raises(ImproperlyConfigured):
        get_config()
    errors = our_messages()
    assert errors and all(m.level >= ERROR for m in errors), errors


@pytest.mark.parametrize(
    "issuer,options",
    [
        ("http://as.example.com", {"ALLOW_HTTP": True}),
        ("http://127.0.0.1:8080", {}),
        ("http://localhost/x", {}),
        ("https://as.example.com/tenant1", {}),
    ],
    ids=["C-8414-15-ok-allow-http", "C-8414-15-ok-loopback", "C-8414-15-ok-localhost", "C-8414-15-ok-path"],
)
def test_C_8414_15_acceptable_issuer_identifier(fx, issuer, options):
    fx.settings.JWT_AT_ISSUERS = {issuer: {"AUDIENCE": FX_AUD, **options}}
    assert issuer in get_config().issuers
    assert not our_messages()


# --- shared cache on a real Redis --------------------------------------------------------------


@needs_redis
def test_C_8414_05_shared_cache_redis(api, make_token, fx, server, settings, redis_server):
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "jwt-at-tests"},
        "shared": redis_server.cache_settings(),
    }
    settings.JWT_AT_CACHE = "shared"
    caches["shared"].clear()
    issuer = server.origin
    discovery_issuer(fx, issuer)
    server.route(RS8414, metadata(issuer, server.url("/jwks")))
    try:
        assert api.get("/orders", make_token(claims={"iss": issuer})).status_code == 200
        for _ in range(3):
            key_sets.clear()  # three more workers behind the same Redis
            assert api.get("/orders", make_token(claims={"iss": issuer})).status_code == 200
        assert server.count(RS8414) == 1
        assert server.count("/jwks") == 1
        # a worker started while the issuer is down still has keys from Redis
        server.route("/jwks", "down", status=500)
        server.route(RS8414, "down", status=500)
        key_sets.clear()
        assert api.get("/orders", make_token(claims={"iss": issuer})).status_code == 200
    finally:
        caches["shared"].clear()
