"""``manage.py jwt_at_keys``: what the shared cache holds per issuer, and ``--refresh``."""

from __future__ import annotations

import io

import pytest
from django.core.cache import caches
from django.core.management import CommandError, call_command

from django_jwt_at.jwks import key_sets

from . import signing
from .conftest import fx_jwks
from .helpers import FX_AUD, FX_ISS, FX_ISS2
from .redis_server import needs_redis, redis_server

__all__ = ["redis_server"]  # the session fixture, imported so pytest sees it here

FETCHED = "2030-03-17T17:46:40Z"  # NOW
EXPIRES = "2030-03-17T18:46:40Z"  # NOW + 1 h


def run(*args):
    out = io.StringIO()
    call_command("jwt_at_keys", *args, stdout=out)
    return out.getvalue()


def key_material(keys):
    """Every base64url member of every key's JWK except kid/alg/kty/use (public and private)."""
    values = []
    for key in keys.values():
        jwk = key.private_jwk() if key.kty in ("RSA", "EC") else key.public_jwk()
        values += [v for k, v in jwk.items() if k not in ("kid", "alg", "kty", "use", "crv")]
    return values


def test_keys_command_without_refresh_reports_an_empty_cache_and_fetches_nothing(server):
    output = run()
    assert output.splitlines() == [
        f"Issuer {FX_ISS}",
        f"  jwks_uri: {server.url('/jwks')}",
        "  state:    not in the shared cache (--refresh fetches it)",
    ]
    assert server.total() == 0


def test_keys_command_refresh_fetches_stores_and_lists_kid_alg_kty(api, make_token, server):
    output = run("--refresh")
    assert output.splitlines() == [
        f"Issuer {FX_ISS}",
        f"  jwks_uri: {server.url('/jwks')}",
        f"  fetched:  {FETCHED} (now)",
        f"  expires:  {EXPIRES} (in 1 h)",
        "  state:    fresh",
        "  keys:     3",
        "    kid='rsa-1' alg=RS256 kty=RSA",
        "    kid='ec-1' alg=ES256 kty=EC",
        "    kid='ps-1' alg=PS256 kty=RSA",
    ]
    assert server.count("/jwks") == 1
    key_sets.clear()  # a worker started after the deploy hook: the cache is warm
    assert api.get("/orders", make_token()).status_code == 200
    assert server.count("/jwks") == 1


def test_keys_command_refresh_forces_a_fetch_even_when_cached(api, make_token, server):
    assert api.get("/orders", make_token()).status_code == 200
    run("--refresh")
    run("--refresh")
    assert server.count("/jwks") == 3


def test_keys_command_reads_what_a_worker_stored_and_shows_staleness(api, make_token, server, clock):
    assert api.get("/orders", make_token()).status_code == 200
    key_sets.clear()  # the command runs in its own process
    assert "  state:    fresh" in run().splitlines()
    clock.advance(3601)
    lines = run().splitlines()
    assert f"  expires:  {EXPIRES} (1 s ago)" in lines
    assert "  state:    stale (used only while the issuer fails, until 2030-03-18T18:46:40Z (in 23 h 59 min))" in lines
    clock.advance(86400)
    assert "  state:    expired (no longer used)" in run().splitlines()
    assert server.count("/jwks") == 1


def test_keys_command_never_prints_key_material(server, keys):
    leaked = signing.ec_key("leaked-1", "P-256")
    server.route(
        "/jwks",
        fx_jwks(keys, keys["priv-1"].private_jwk(), leaked.private_jwk(), keys["weak-1"].public_jwk()),
    )
    output = run("--refresh")
    assert "    dropped kid='priv-1': it contains private key members" in output
    assert "    dropped kid='leaked-1': it contains private key members" in output
    assert "    dropped kid='weak-1': the RSA key is shorter than 2048 bits" in output
    for value in key_material({**keys, "leaked-1": leaked}):
        assert value not in output


def test_keys_command_refresh_failure_exits_non_zero_and_says_why(server):
    server.route("/jwks", "down", status=500)
    out = io.StringIO()
    with pytest.raises(CommandError, match="1 of 1 key sets could not be fetched"):
        call_command("jwt_at_keys", "--refresh", stdout=out)
    assert f"  error:    {server.url('/jwks')} answered HTTP 500" in out.getvalue()


def test_keys_command_lists_every_issuer_or_the_ones_named(fx, server):
    fx.add_iss2()
    run("--refresh")
    output = run()
    assert f"Issuer {FX_ISS}" in output and f"Issuer {FX_ISS2}" in output
    assert "    kid='as2-1' alg=RS256 kty=RSA" in output
    only = run(FX_ISS2)
    assert f"Issuer {FX_ISS}\n" not in only and f"Issuer {FX_ISS2}" in only
    with pytest.raises(CommandError, match=r"Not in JWT_AT_ISSUERS: https://other\.example"):
        run("https://other.example")


def test_keys_command_shows_the_discovered_jwks_uri(fx, server):
    issuer = server.origin
    fx.settings.JWT_AT_ISSUERS = {issuer: {"AUDIENCE": FX_AUD, "ALGORITHMS": ["RS256"]}}
    server.route("/.well-known/oauth-authorization-server", {"issuer": issuer, "jwks_uri": server.url("/jwks")})
    assert "  jwks_uri: (not discovered yet)" in run()
    assert server.total() == 0
    run("--refresh")
    key_sets.clear()
    lines = run().splitlines()
    assert f"  jwks_uri: {server.url('/jwks')}" in lines
    assert "    kid='rsa-1' alg=RS256 kty=RSA" in lines
    assert "  keys:     1" in lines  # ec-1 and ps-1 are not of an allowed algorithm


@needs_redis
def test_keys_command_refresh_warms_redis_for_every_worker(api, make_token, server, settings, redis_server):
    redis_server.flush()
    settings.CACHES = {"default": redis_server.cache_settings()}
    run("--refresh")
    assert server.count("/jwks") == 1
    for _ in range(3):
        key_sets.clear()  # workers behind the same Redis
        assert api.get("/orders", make_token()).status_code == 200
    assert server.count("/jwks") == 1
    caches["default"].clear()
