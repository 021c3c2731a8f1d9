"""The fetch trust boundary: whatever a JWKS or metadata response holds, the outcome is a
document or a FetchError, and for a request: 200, 401 ``invalid_token``, or 503 with
Retry-After (stale keys while there are some), never a 500.

Responses come from :class:`tests.raw_server.RawServer`, a loopback socket server that
writes arbitrary bytes (status line, header names and values, framing, body). Two
hypothesis properties: ``fetch_json`` is total, and a token of an issuer whose JWKS URL
serves an arbitrary response gets the answer its key set implies. Exact examples pin the
cases found by hand (a 5,000-digit max-age, a ``Location`` of ``http://[::1``, redirect
bodies that requests used to read whole). A ``jwks_uri`` read from metadata must be https
(unless ALLOW_HTTP): an https issuer served through :class:`tests.tls_proxy.TLSProxy`
shows that its metadata cannot send the server to its own loopback.

``HYPOTHESIS_PROFILE=ci`` runs 500 examples per property (derandomized), 100 otherwise.
"""

from __future__ import annotations

import gzip
import json
import logging
import os
import re
import time
from collections.abc import Iterable
from dataclasses import dataclass

import pytest
from django.core.cache import caches
from django.core.checks import run_checks
from hypothesis import HealthCheck, event, example, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from django_jwt_at import jwks
from django_jwt_at.conf import get_config, url_problem
from django_jwt_at.discovery import jwks_uri_problem
from django_jwt_at.fetch import (
    MAX_DELTA_SECONDS,
    MAX_DOCUMENT_BYTES,
    Document,
    FetchError,
    fetch_json,
    parse_max_age,
    redirect_target,
)
from django_jwt_at.jwks import build_key_set, cache_key, key_sets
from django_jwt_at.token_cache import verified_tokens

from . import shared_entries
from .conftest import ABSENT, NOW, fx_jwks
from .helpers import FX_AUD, FX_ISS, assert_unavailable, challenge_params
from .live_server import LiveServer
from .raw_server import RawServer
from .tls_proxy import TLSProxy

CI = os.environ.get("HYPOTHESIS_PROFILE") == "ci"
PROPERTY_SETTINGS = hsettings(
    max_examples=500 if CI else 100,
    derandomize=CI,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)
RS8414 = "/.well-known/oauth-authorization-server"
OIDC = "/.well-known/openid-configuration"
HOUR = 3600
DAY = 86400
TIMEOUT = 2.0


def jwt_at_records(caplog, level):
    return [r for r in caplog.get_records("call") if r.name.startswith("django_jwt_at.") and r.levelno == level]


@pytest.fixture(scope="module")
def raw_instance() -> Iterable[RawServer]:
    server = RawServer()
    yield server
    server.close()


@pytest.fixture
def raw(raw_instance: RawServer) -> Iterable[RawServer]:
    raw_instance.reset()
    yield raw_instance
    raw_instance.reset()


def ok_response(body: bytes, *headers: bytes, status: bytes = b"200 OK") -> bytes:
    head = b"HTTP/1.1 " + status + b"\r\n" + b"".join(h + b"\r\n" for h in headers)
    return head + b"Content-Length: %d\r\nConnection: close\r\n\r\n" % len(body) + body


# --- arbitrary responses ---------------------------------------------------------------------------

ORIGIN = b"\x00ORIGIN\x00"  # replaced by the server's origin when the response is served
# Key-set bodies, named here and made by the ``key_set_bodies`` fixture: the FX key set,
# gzipped (with Content-Encoding: gzip), and without rsa-1 (tokens signed by it get 401).
_JWKS, _GZIP_JWKS, _JWKS_WITHOUT_RSA_1 = "jwks", "gzip-jwks", "jwks-without-rsa-1"


@dataclass(frozen=True)
class Response:
    """An arbitrary HTTP response; :meth:`render` makes its bytes for one server."""

    status_line: bytes
    eol: bytes
    headers: tuple[tuple[bytes, bytes, bytes], ...]  # (name, separator, value)
    body: bytes | str  # bytes, or the name of a key-set body
    framing: str | int  # "exact" Content-Length, "none", or a given Content-Length

    def render(self, origin: str, key_set_bodies: dict[str, bytes]) -> bytes:
        body = self.body if isinstance(self.body, bytes) else key_set_bodies[self.body]
        lines = [self.status_line]
        lines += [name + sep + value.replace(ORIGIN, origin.encode()) for name, sep, value in self.headers]
        if self.body == _GZIP_JWKS:
            lines.append(b"Content-Encoding: gzip")
        if self.framing == "exact":
            lines.append(b"Content-Length: %d" % len(body))
        elif self.framing != "none":
            lines.append(b"Content-Length: %d" % self.framing)
        return self.eol.join(lines) + self.eol + self.eol + body


def _digits(min_size: int, max_size: int) -> st.SearchStrategy[bytes]:
    return st.text("0123456789", min_size=min_size, max_size=max_size).map(str.encode)


_cache_control = st.one_of(
    # Lengths around the limits that matter: 2^31 has 10 digits; int() refuses over 4,300.
    st.builds(
        lambda n, d: b"max-age=" + d * n,
        st.sampled_from([1, 9, 10, 11, 19, 20, 4300, 4301, 5000, 20_000]),
        st.sampled_from([b"9", b"1", b"0", b"7"]),
    ),
    st.builds(lambda d: b"max-age=" + d, _digits(1, 30)),
    st.builds(
        lambda pre, d, post: pre + b"max-age=" + d + post,
        st.sampled_from([b"", b"public, ", b" ", b"no-transform,", b"MAX-AGE", b"s-"]),
        st.one_of(_digits(1, 25), st.just(b'"300"'), st.just(b'"' + b"9" * 30)),
        st.sampled_from([b"", b", must-revalidate", b'"', b"x", b", no-cache"]),
    ),
    st.sampled_from(
        [b"no-store", b"no-cache", b"max-age=", b"max-age=-1", b"max-age=1e9", b"max-age=\xd9\xa3", b"max-age=\xb2"]
    ),
    st.binary(max_size=64),
)
_location = st.one_of(
    st.sampled_from(
        [
            b"http://[::1",
            b"http://[::1]:99999/",
            b"http://127.0.0.1:99999999/",
            b"",
            b" ",
            b"/jwks",
            b"//127.0.0.1/jwks",
            b"https://127.0.0.1/jwks",
            b"http://localhost/jwks",
            b"http://attacker.example/jwks",
            ORIGIN + b"/jwks",
            ORIGIN + b"/other?x=1#f",
            ORIGIN + b":99999/",
            ORIGIN.replace(b"http", b"https") + b"/jwks",
            b"\xe9",
            b"/\xff\xfe",
            b"/a b",
            b"/a\x00b",
            b"file:///etc/passwd",
            b"javascript:alert(1)",
        ]
    ),
    st.builds(lambda b: ORIGIN + b"/" + b, st.binary(max_size=30)),
    st.binary(max_size=60),
)
_other_header = st.tuples(
    st.sampled_from(
        [
            b"Content-Length",
            b"Transfer-Encoding",
            b"Content-Encoding",
            b"Content-Type",
            b"Connection",
            b"cache-control",
            b"LOCATION",
        ]
    ),
    st.one_of(
        st.sampled_from(
            [
                b"0",
                b"1",
                b"99999999",
                b"-1",
                b"1" * 5000,
                b"chunked",
                b"gzip",
                b"deflate",
                b"gzip, gzip",
                b"br",
                b"zstd",
                b"identity",
                b"application/json; charset=latin-1",
                b"close",
                b"keep-alive",
            ]
        ),
        st.binary(max_size=20),
    ),
)
_header = st.builds(
    lambda pair, sep: (pair[0], sep, pair[1]),
    st.one_of(
        st.tuples(st.just(b"Cache-Control"), _cache_control),
        st.tuples(st.just(b"Location"), _location),
        _other_header,
        st.tuples(st.binary(max_size=20), st.binary(max_size=80)),
    ),
    st.sampled_from([b": ", b":", b" : ", b":\t"]),
)
_well_formed_status = st.builds(
    lambda version, code, reason: version + b" " + str(code).encode() + reason,
    st.sampled_from([b"HTTP/1.1", b"HTTP/1.1", b"HTTP/1.0"]),
    st.one_of(
        st.sampled_from([200, 200, 200, 200, 301, 302, 303, 307, 308, 300, 304, 305, 204, 404, 500]),
        st.integers(100, 999),
    ),
    st.one_of(st.just(b" OK"), st.just(b""), st.binary(max_size=16).map(lambda r: b" " + r)),
)
_malformed_status = st.one_of(
    st.builds(
        lambda version, code: version + b" " + code,
        st.sampled_from([b"HTTP/2", b"http/1.1", b"HTTP/1.1 ", b"ICY", b"HTTP/1.1\x00"]),
        st.one_of(st.integers(-5, 1200).map(lambda c: str(c).encode()), st.binary(max_size=5)),
    ),
    st.binary(max_size=40),
)
# Mostly well-formed: a response that fails at the status line tests little else. (An
# integer is drawn with a bias towards its bounds: the malformed choice is in the middle.)
_status_line = st.integers(0, 9).flatmap(lambda i: _malformed_status if i in (4, 5) else _well_formed_status)
_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=10),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=6), children, max_size=4),
    max_leaves=12,
)
_body = st.one_of(
    st.sampled_from([_JWKS, _JWKS, _GZIP_JWKS, _JWKS_WITHOUT_RSA_1]),
    st.binary(max_size=300),
    st.builds(lambda keys: json.dumps({"keys": keys}).encode(), _json_values),
    _json_values.map(lambda v: json.dumps(v).encode()),
    st.sampled_from(
        [
            b"{}",
            b"[]",
            b'{"keys": 1}',
            b'{"keys": [1, "x", {}]}',
            b"1" * 5000,
            b"[" * 5000,
            b'{"a":' + b"1" * 5000 + b"}",
            b"\xef\xbb\xbf{}",
            b'{"keys": []}\xff',
            '{"keys": [], "x": "\udc80"}'.encode("utf-8", "surrogatepass"),
            b"\x1f\x8b\x08\x00garbage",
            b" " * (MAX_DOCUMENT_BYTES + 1),
        ]
    ),
)
_any_response = st.builds(
    Response,
    status_line=_status_line,
    eol=st.sampled_from([b"\r\n", b"\r\n", b"\n"]),
    headers=st.lists(_header, max_size=5).map(tuple),
    body=_body,
    framing=st.one_of(st.sampled_from(["exact", "exact", "none"]), st.integers(0, 10**6)),
)
# A key set, answered well, with an arbitrary Cache-Control and other header fields:
# Cache-Control is only read from a complete 200 response, and a token can only succeed
# with one.
_key_set_response = st.builds(
    Response,
    status_line=st.just(b"HTTP/1.1 200 OK"),
    eol=st.just(b"\r\n"),
    headers=st.builds(
        lambda others, cache_control, sep, at: (*others[:at], (b"Cache-Control", sep, cache_control), *others[at:]),
        st.lists(_header, max_size=3),
        _cache_control,
        st.sampled_from([b": ", b":"]),
        st.integers(0, 3),
    ),
    body=st.sampled_from([_JWKS, _GZIP_JWKS, _JWKS_WITHOUT_RSA_1, _JWKS]),
    framing=st.just("exact"),
)
# A redirect with an arbitrary Location (and other header fields).
_redirect_response = st.builds(
    Response,
    status_line=st.sampled_from([301, 302, 303, 307, 308]).map(lambda c: b"HTTP/1.1 %d Moved" % c),
    eol=st.just(b"\r\n"),
    headers=st.builds(
        lambda location, sep, others: ((b"Location", sep, location), *others),
        _location,
        st.sampled_from([b": ", b":"]),
        st.lists(_header, max_size=3),
    ),
    body=st.one_of(st.just(b""), st.binary(max_size=100), st.sampled_from([_JWKS])),
    framing=st.sampled_from(["exact", "none"]),
)
# Arbitrary, or the key set with arbitrary header fields (Cache-Control among them), or a
# redirect with an arbitrary Location.
responses = st.one_of(_any_response, _key_set_response, _redirect_response)

HUGE_MAX_AGE = Response(
    b"HTTP/1.1 200 OK", b"\r\n", ((b"Cache-Control", b": ", b"max-age=" + b"9" * 5000),), _JWKS, "exact"
)
IPV6_LOCATION = Response(b"HTTP/1.1 302 Found", b"\r\n", ((b"Location", b": ", b"http://[::1"),), b"", "exact")

# A FetchError message is one of these, with {url} the URL asked for and {where} that URL,
# possibly followed by "(after N redirects)": no response content, no library text.
_WHERE = r"{url}(?: \(after [1-3] redirects?\))?"
_MESSAGES = [
    _WHERE + r" timed out",
    _WHERE + r" could not be fetched \([A-Za-z]+\)",
    _WHERE + r" could not be read \([A-Za-z]+\)",
    _WHERE + r" redirected without a Location",
    _WHERE + r" redirected to an invalid URL",
    _WHERE + r" redirected to another scheme or host",
    _WHERE + r" answered HTTP [0-9]{3}",
    _WHERE + rf" returned more than {MAX_DOCUMENT_BYTES} bytes",
    _WHERE + r" did not return UTF-8",
    _WHERE + r" did not return JSON",
    _WHERE + r" did not return a JSON object",
    r"{url} redirected too many times",
]


def assert_safe_message(message: str, url: str) -> None:
    patterns = [p.replace("{url}", re.escape(url)) for p in _MESSAGES]
    assert any(re.fullmatch(p, message) for p in patterns), message


@pytest.fixture
def jwks_text(keys) -> bytes:
    return json.dumps(fx_jwks(keys)).encode()


@pytest.fixture
def key_set_bodies(keys, jwks_text) -> dict[str, bytes]:
    without = {"keys": [k for k in fx_jwks(keys)["keys"] if k["kid"] != "rsa-1"]}
    return {
        _JWKS: jwks_text,
        _GZIP_JWKS: gzip.compress(jwks_text, mtime=0),
        _JWKS_WITHOUT_RSA_1: json.dumps(without).encode(),
    }


@PROPERTY_SETTINGS
@given(response=responses)
@example(response=HUGE_MAX_AGE)
@example(response=IPV6_LOCATION)
@example(response=Response(b"HTTP/1.1 302 Found", b"\r\n", ((b"Location", b": ", b"/\xe9"),), b"", "exact"))
def test_fetch_json_returns_a_document_or_raises_fetch_error(raw, key_set_bodies, response):
    raw.reset()  # function-scoped fixtures are shared by the examples
    raw.serve(response.render(raw.origin, key_set_bodies))
    url = raw.url("/jwks")
    started = time.monotonic()
    try:
        document = fetch_json(url, timeout=TIMEOUT)
    except FetchError as exc:
        assert_safe_message(str(exc), url)
        assert "unexpected" not in str(exc)  # a known failure, not the final guard
        event("FetchError: " + re.sub(r"^\S+ (\(after \d redirects?\) )?", "", str(exc)))
    else:
        assert isinstance(document, Document)
        assert isinstance(document.data, dict)
        assert document.url == url
        assert document.max_age is None or 0 <= document.max_age <= MAX_DELTA_SECONDS
        event("Document")
    assert time.monotonic() - started < TIMEOUT + 1
    assert raw.count() <= 4  # the request and at most 3 redirects


@PROPERTY_SETTINGS
@given(response=responses)
@example(response=HUGE_MAX_AGE)
@example(response=IPV6_LOCATION)
def test_token_of_issuer_with_arbitrary_jwks_response_gets_200_401_or_503(
    api, fx, raw, key_set_bodies, make_token, response
):
    """The answer is the one the fetched key set implies: 503 + Retry-After when it cannot
    be had, 200 when it holds the token's key, 401 invalid_token when it does not."""
    fx.configure(JWKS_URI=raw.url("/jwks"))
    raw.reset()
    raw.serve(response.render(raw.origin, key_set_bodies))
    issuer = get_config().issuers[FX_ISS]
    try:
        key_set = build_key_set(issuer, fetch_json(raw.url("/jwks"), timeout=TIMEOUT), NOW, NOW + 1)
    except FetchError:
        expected = 503
    else:
        expected = 200 if key_set.find("rsa-1", "RS256") else 401
    key_sets.clear()
    verified_tokens.clear()
    caches["default"].clear()

    response_ = api.get("/orders", make_token())
    assert response_.status_code == expected, (response_.status_code, expected)
    event(f"status {expected}")
    if expected == 503:
        assert_unavailable(response_, retry_after=jwks.FAILURE_BACKOFF)
    elif expected == 401:
        assert challenge_params(response_["WWW-Authenticate"])["error"] == "invalid_token"
    assert b"127.0.0.1" not in response_.content


# --- exact examples --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, None),
        ("", None),
        ("public", None),
        ("max-age=300", 300),
        ('max-age="300"', 300),
        ("MAX-AGE=7", 7),
        ("max-age=0000000000000000000000300", 300),
        ("max-age=2147483647", 2147483647),
        ("max-age=2147483648", MAX_DELTA_SECONDS),
        ("max-age=99999999999", MAX_DELTA_SECONDS),
        ("max-age=" + "9" * 5000, MAX_DELTA_SECONDS),
        ("max-age=" + "9" * 100_000, MAX_DELTA_SECONDS),
        ("max-age=\u0663\u0660\u0660", None),  # Arabic-Indic digits are not DIGIT (RFC 9111 §1.2.2)
        ("max-age=-1", None),
        ("no-store, max-age=600", 0),
        ("s-maxage=600", None),
    ],
    ids=lambda v: v if not isinstance(v, str) or len(v) < 40 else f"{v[:12]}...({len(v)} chars)",
)
def test_parse_max_age_never_raises_and_caps_at_2_pow_31(value, expected):
    assert parse_max_age(value) == expected


@pytest.mark.parametrize("where", ["jwks", "metadata"])
def test_5000_digit_max_age_is_the_longest_lifetime_not_a_500(api, make_token, fx, raw, jwks_text, clock, where):
    # RFC 9111 §1.2.2: past 2^31 it is 2^31; the lifetime is then clamped to JWT_AT_JWKS_MAX_TTL.
    huge = b"Cache-Control: max-age=" + b"9" * 5000
    if where == "jwks":
        fx.configure(JWKS_URI=raw.url("/jwks"))
        raw.serve(ok_response(jwks_text, huge), path="/jwks")
        key = cache_key("jwks", raw.url("/jwks"))
    else:
        fx.settings.JWT_AT_ISSUERS = {raw.origin: {"AUDIENCE": FX_AUD, "ALGORITHMS": ["RS256"]}}
        document = json.dumps({"issuer": raw.origin, "jwks_uri": raw.url("/jwks")}).encode()
        raw.serve(ok_response(document, huge), path=RS8414)
        raw.serve(ok_response(jwks_text), path="/jwks")
        key = cache_key("metadata", raw.origin)
    claims = {} if where == "jwks" else {"iss": raw.origin}
    assert api.get("/orders", make_token(claims=claims)).status_code == 200
    entry = shared_entries.read(key)
    assert entry["expires_at"] - entry["fetched_at"] == DAY


def test_5000_digit_max_age_on_an_expired_warm_cache_keeps_the_keys_in_use(api, make_token, fx, raw, jwks_text, clock):
    fx.configure(JWKS_URI=raw.url("/jwks"))
    raw.serve(ok_response(jwks_text), path="/jwks")
    assert api.get("/orders", make_token()).status_code == 200
    raw.serve(ok_response(jwks_text, b"Cache-Control: max-age=" + b"9" * 5000), path="/jwks")
    clock.advance(HOUR + 1)
    assert api.get("/orders", make_token()).status_code == 200
    assert raw.count("/jwks") == 2
    entry = shared_entries.read(cache_key("jwks", raw.url("/jwks")))
    assert entry["expires_at"] - entry["fetched_at"] == DAY


BAD_REDIRECTS = {
    "ipv6-unterminated": b"Location: http://[::1",
    "port-not-a-number": b"Location: http://127.0.0.1:99999999/jwks",
    "non-ascii": b"Location: /jwks-\xe9\xff",
    "control-character": b"Location: /jwks\x01",
    "missing": b"X-Location: /jwks-real",
    "empty": b"Location:",
}


@pytest.mark.parametrize("location", list(BAD_REDIRECTS))
def test_bad_location_on_cold_cache_gives_503_with_retry_after(api, make_token, fx, raw, jwks_text, caplog, location):
    fx.configure(JWKS_URI=raw.url("/jwks"))
    raw.serve(ok_response(b"", BAD_REDIRECTS[location], status=b"302 Found"), path="/jwks")
    raw.serve(ok_response(jwks_text), path="/jwks-real")
    assert_unavailable(api.get("/orders", make_token()), retry_after=jwks.FAILURE_BACKOFF)
    assert raw.count("/jwks-real") == 0
    warnings = [r.getMessage() for r in jwt_at_records(caplog, logging.WARNING)]
    assert len(warnings) == 1
    reason = "redirected without a Location" if location in ("missing", "empty") else "redirected to an invalid URL"
    assert warnings[0] == f"Key set of issuer {FX_ISS} could not be refreshed: {raw.url('/jwks')} {reason}"


@pytest.mark.parametrize("location", list(BAD_REDIRECTS))
def test_bad_location_on_expired_warm_cache_serves_stale_keys(api, make_token, fx, raw, jwks_text, clock, location):
    fx.configure(JWKS_URI=raw.url("/jwks"))
    raw.serve(ok_response(jwks_text), path="/jwks")
    assert api.get("/orders", make_token()).status_code == 200
    raw.serve(ok_response(b"", BAD_REDIRECTS[location], status=b"302 Found"), path="/jwks")
    clock.advance(HOUR + 1)
    assert api.get("/orders", make_token()).status_code == 200
    assert api.get("/orders", make_token(key="ec-1")).status_code == 200
    assert raw.count("/jwks") == 2  # one failed refresh, then the back-off


def test_same_origin_relative_redirect_is_followed_and_logged_without_its_target(
    api, make_token, fx, raw, jwks_text, caplog
):
    fx.configure(JWKS_URI=raw.url("/jwks"))
    raw.serve(ok_response(b"", b"Location: /secret-path-1", status=b"302 Found"), path="/jwks")
    raw.serve(ok_response(b"", b"Location: /secret-path-2", status=b"307 Temporary Redirect"), path="/secret-path-1")
    raw.serve(ok_response(b"<html>", b"Content-Type: text/html"), path="/secret-path-2")
    assert_unavailable(api.get("/orders", make_token()))
    assert raw.requests == ["/jwks", "/secret-path-1", "/secret-path-2"]
    messages = [r.getMessage() for r in caplog.get_records("call") if r.name.startswith("django_jwt_at")]
    assert (
        f"Key set of issuer {FX_ISS} could not be refreshed: {raw.url('/jwks')} (after 2 redirects) did not return JSON"
        in messages
    )
    assert not [m for m in messages if "secret-path" in m]


def test_metadata_with_unparsable_jwks_uri_is_unusable_metadata_not_a_500(api, make_token, fx, raw, caplog):
    fx.settings.JWT_AT_ISSUERS = {raw.origin: {"AUDIENCE": FX_AUD, "ALGORITHMS": ["RS256"]}}
    document = json.dumps({"issuer": raw.origin, "jwks_uri": "http://[::1"}).encode()
    raw.serve(ok_response(document), path=RS8414)
    raw.serve(ok_response(document), path=OIDC)
    assert_unavailable(api.get("/orders", make_token(claims={"iss": raw.origin})))
    errors = [r.getMessage() for r in jwt_at_records(caplog, logging.ERROR)]
    assert len(errors) == 1
    assert "has an unusable jwks_uri: it is not a valid URL" in errors[0]


@pytest.mark.parametrize(
    ("option", "value"),
    [("issuer", "http://[::1"), ("issuer", "https://as.example.com:99999"), ("JWKS_URI", "https://[::1/jwks")],
)
def test_unparsable_url_in_settings_is_a_check_error_not_an_exception(settings, option, value):
    if option == "issuer":
        settings.JWT_AT_ISSUERS = {value: {"AUDIENCE": FX_AUD}}
        expected = ("django_jwt_at.E002", f"The issuer identifier {value!r} is not valid: it is not a valid URL.")
    else:
        settings.JWT_AT_ISSUERS = {FX_ISS: {"AUDIENCE": FX_AUD, "JWKS_URI": value}}
        expected = ("django_jwt_at.E005", f"The JWKS_URI of {FX_ISS!r} is not valid: it is not a valid URL.")
    messages = [(m.id, m.msg) for m in run_checks() if m.id and m.id.startswith("django_jwt_at.E")]
    assert expected in messages


def test_redirect_body_is_never_read(fx, raw, jwks_text, api, make_token, settings):
    # requests reads the body of a 3xx to prepare the next request even when told not to
    # follow redirects: 32 MiB that nobody asked for, past the size cap (and past what
    # the loopback socket buffers hold, so the server can only finish if the client reads).
    settings.JWT_AT_HTTP_TIMEOUT = 1
    fx.configure(JWKS_URI=raw.url("/jwks"))
    big = b"HTTP/1.1 302 Found\r\nLocation: http://localhost/jwks\r\nContent-Length: %d\r\n\r\n" % (32 << 20)
    raw.serve(big + b"x" * (32 << 20), path="/jwks")
    assert_unavailable(api.get("/orders", make_token()))
    assert raw.completed == 0  # the client hung up before the server could send it all


def test_dripping_redirect_body_does_not_hold_the_request(api, make_token, fx, server, keys, settings):
    settings.JWT_AT_HTTP_TIMEOUT = 0.5
    server.route("/jwks", b"x" * 100, status=302, headers={"Location": "http://localhost/jwks"}, drip=0.05)
    started = time.monotonic()
    assert_unavailable(api.get("/orders", make_token()))
    assert time.monotonic() - started < 1.5  # the body would take 5 s


# --- redirects keep scheme and host -------------------------------------------------------------


@pytest.mark.parametrize(
    ("current", "location", "expected"),
    [
        ("https://as.example.com/jwks", "/keys", "https://as.example.com/keys"),
        ("https://as.example.com/a/jwks", "keys?x=1", "https://as.example.com/a/keys?x=1"),
        ("https://as.example.com/jwks", "https://as.example.com/keys", "https://as.example.com/keys"),
        ("https://as.example.com/jwks", "http://127.0.0.1:8000/jwks", "another scheme or host"),
        ("https://as.example.com/jwks", "http://as.example.com/jwks", "another scheme or host"),
        ("https://as.example.com/jwks", "//127.0.0.1/jwks", "another scheme or host"),
        ("https://as.example.com/jwks", "https://as.example.com:8443/jwks", "another scheme or host"),
        ("https://as.example.com/jwks", "https://user@as.example.com/jwks", "another scheme or host"),
        ("https://as.example.com/jwks", "https://AS.example.com/jwks", "another scheme or host"),
        ("https://as.example.com/jwks", "http://[::1", "an invalid URL"),
        ("https://as.example.com/jwks", "https://as.example.com:x/", "an invalid URL"),
        ("https://as.example.com/jwks", "/k\u00e9ys", "an invalid URL"),
        ("https://as.example.com/jwks", "/keys\r\nX: y", "an invalid URL"),
        ("https://as.example.com/jwks", "", "without a Location"),
        ("https://as.example.com/jwks", None, "without a Location"),
    ],
)
def test_redirect_target_keeps_scheme_and_host(current, location, expected):
    from urllib.parse import urlsplit

    if expected.startswith("https://"):
        assert redirect_target(current, location, urlsplit(current)) == expected
    else:
        with pytest.raises(FetchError) as caught:
            redirect_target(current, location, urlsplit(current))
        assert str(caught.value).endswith(expected)
        assert location is None or location.strip() == "" or location not in str(caught.value)


# --- a jwks_uri from metadata must be https (SSRF) ---------------------------------------------


@pytest.mark.parametrize(
    ("issuer", "allow_http", "jwks_uri", "usable"),
    [
        ("https://as.example.com", False, "https://keys.example.net/jwks", True),
        ("https://as.example.com", False, "https://127.0.0.1/jwks", True),  # TLS-verified
        ("https://as.example.com", False, "http://127.0.0.1:8080/jwks", False),
        ("https://as.example.com", False, "http://localhost/jwks", False),
        ("https://as.example.com", False, "http://[::1]/jwks", False),
        ("https://as.example.com", False, "http://as.example.com/jwks", False),
        ("https://as.example.com", True, "http://127.0.0.1:8080/jwks", True),
        ("http://127.0.0.1:9000", False, "http://127.0.0.1:9000/jwks", True),
        ("http://127.0.0.1:9000/tenant", False, "http://127.0.0.1:9000/jwks", True),
        ("http://localhost:9000", False, "http://LOCALHOST:9000/jwks", True),
        ("http://127.0.0.1:9000", False, "http://127.0.0.1:9001/jwks", False),
        ("http://127.0.0.1:9000", False, "http://localhost:9000/jwks", False),
        ("http://127.0.0.1", False, "http://127.0.0.1:80/jwks", True),
        ("http://127.0.0.1:9000", False, "http://[::1", False),
        ("https://as.example.com", False, "ftp://127.0.0.1/jwks", False),
    ],
)
def test_jwks_uri_from_metadata_must_be_https(issuer, allow_http, jwks_uri, usable):
    from django_jwt_at.conf import IssuerConfig

    config = IssuerConfig(issuer, frozenset({FX_AUD}), None, frozenset({"RS256"}), allow_http)
    assert url_problem(issuer, allow_http=allow_http) is None
    why = jwks_uri_problem(config, jwks_uri)
    assert (why is None) == usable
    if not usable:
        assert why == (
            "it is not a valid URL"
            if jwks_uri.endswith("[::1")
            else "it must use https (http is accepted only on the origin of an http issuer, or with ALLOW_HTTP)"
        )


@pytest.fixture(scope="module")
def tls_proxy_instance(tmp_path_factory, live_server_instance) -> Iterable[TLSProxy]:
    proxy = TLSProxy(tmp_path_factory.mktemp("tls"), ["as.example.com"], live_server_instance.port)
    yield proxy
    proxy.close()


@pytest.fixture
def remote(tls_proxy_instance, monkeypatch, server) -> TLSProxy:
    """``https://as.example.com`` (FX.iss) is served by the live server through the TLS proxy;
    loopback URLs stay direct."""
    for name in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("https_proxy", tls_proxy_instance.url)
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(tls_proxy_instance.ca_file))
    tls_proxy_instance.connects.clear()
    return tls_proxy_instance


@pytest.fixture
def internal(keys) -> Iterable[LiveServer]:
    """Another service on this host: it would answer with FX keys if it were asked."""
    service = LiveServer()
    service.route("/jwks", fx_jwks(keys))
    yield service
    service.close()


def test_https_issuer_discovery_through_the_tls_proxy_works(api, make_token, fx, server, remote):
    # The control: metadata and JWKS of https://as.example.com, fetched over verified TLS.
    fx.configure(JWKS_URI=ABSENT)
    server.route(RS8414, {"issuer": FX_ISS, "jwks_uri": "https://as.example.com/jwks"})
    assert api.get("/orders", make_token()).status_code == 200
    assert server.paths() == [RS8414, "/jwks"]
    assert remote.connects == ["as.example.com:443", "as.example.com:443"]


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_https_issuer_metadata_naming_a_loopback_http_jwks_uri_is_refused(
    api, make_token, fx, server, remote, internal, caplog, host
):
    fx.configure(JWKS_URI=ABSENT)
    metadata = {"issuer": FX_ISS, "jwks_uri": internal.url("/jwks", host=host)}
    server.route(RS8414, metadata)
    server.route(OIDC, metadata)
    assert_unavailable(api.get("/orders", make_token()), retry_after=jwks.FAILURE_BACKOFF)
    assert internal.total() == 0  # no request reached the other service
    assert server.paths() == [RS8414, OIDC]
    errors = [r.getMessage() for r in jwt_at_records(caplog, logging.ERROR)]
    assert len(errors) == 1
    assert errors[0].startswith(f"Metadata of issuer {FX_ISS} is unusable: ")
    assert "has an unusable jwks_uri: it must use https" in errors[0]


def test_https_issuer_metadata_with_http_jwks_uri_is_used_with_allow_http(
    api, make_token, fx, server, remote, internal
):
    # ALLOW_HTTP is the operator's explicit choice of plain http for this issuer.
    fx.configure(JWKS_URI=ABSENT, ALLOW_HTTP=True)
    server.route(RS8414, {"issuer": FX_ISS, "jwks_uri": internal.url("/jwks")})
    assert api.get("/orders", make_token()).status_code == 200
    assert internal.total() == 1


def test_cached_metadata_naming_a_loopback_http_jwks_uri_is_refused_too(
    api, make_token, fx, server, remote, internal, clock
):
    # A metadata document another worker stored (before this rule) is checked again on use.
    fx.configure(JWKS_URI=ABSENT)
    text = json.dumps({"issuer": FX_ISS, "jwks_uri": internal.url("/jwks")})
    entry = {"url": FX_ISS + RS8414, "text": text, "fetched_at": NOW, "expires_at": NOW + HOUR}
    caches["default"].set(cache_key("metadata", FX_ISS), entry, timeout=2 * HOUR)
    assert_unavailable(api.get("/orders", make_token()))
    assert internal.total() == 0


@pytest.mark.parametrize("target", ["loopback-http", "same-host-http"])
def test_redirect_from_https_jwks_uri_to_http_is_refused(api, make_token, fx, server, remote, internal, target):
    fx.configure(JWKS_URI="https://as.example.com/jwks")
    location = internal.url("/jwks") if target == "loopback-http" else "http://as.example.com/jwks"
    server.redirect("/jwks", location)
    assert_unavailable(api.get("/orders", make_token()))
    assert internal.total() == 0
    assert server.paths() == ["/jwks"]


def test_redirect_within_the_https_origin_is_followed(api, make_token, fx, server, keys, remote):
    fx.configure(JWKS_URI="https://as.example.com/jwks")
    server.route("/keys/current", fx_jwks(keys))
    server.redirect("/jwks", "/keys/current", status=308)
    assert api.get("/orders", make_token()).status_code == 200
    assert server.paths() == ["/jwks", "/keys/current"]
