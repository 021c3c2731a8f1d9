"""The hostile-request corpus: data, one :class:`Case` per request.

A case is a request (an ``Authorization`` value, optionally a query string or a form body)
whose token is built by a small :class:`Tok` recipe from the suite's independent signer
(``tests/signing.py``): T0 of the fixture profile (spec §0.2) with header/claim overrides,
raw header/payload bytes, another key or algorithm, a replaced signature, and a named
``edit`` of the encoded segments (re-signed where the point is the encoding, not the
signature). ``expect`` is the exact answer: status, error code and the key of the
description in the spec §0.4 vocabulary (``tests.helpers.D``); ``(401, None, None)`` is
the challenge without error information (no credentials of ours, RFC 6750 §3.1).

Where the spec allows two answers (typically 400 from the b64token check of the header,
C-6750-07, or 401 from the token parser, C-8725-19), ``why`` says which one this library
gives and why. ``placeholders``: ``<T>`` in ``authorization``, ``path`` and ``body`` is the
built token; ``<T0>`` in a raw payload is the members of T0's claims (without braces),
``<T0 -exp -aud>`` the same without those members.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..conftest import ABSENT, NOW
from ..helpers import FX_AUD, FX_ISS, FX_ISS2, D

NOW_INT = int(NOW)

# Descriptions beyond spec §0.4 that this library uses (its errors.Description).
EXTRA_DESCRIPTIONS = {"repeated-token": "The access token parameter is repeated"}


@dataclass(frozen=True)
class Dyn:
    """A value only known at run time: ``loopback:/path`` (a URL on the loopback server),
    ``jwk:KEY`` (the public JWK of a suite key), ``x5c:KEY`` (a self-signed certificate
    chain for it)."""

    name: str


@dataclass(frozen=True)
class Tok:
    """How to build the token of a case (defaults: T0 signed RS256 with ``rsa-1``)."""

    header: Mapping[str, Any] = field(default_factory=dict)  # overrides; ABSENT removes a member
    claims: Mapping[str, Any] = field(default_factory=dict)  # overrides of T0; ABSENT removes
    header_json: str | bytes | None = None  # the protected header's bytes (str: UTF-8 text)
    payload: str | bytes | None = None  # the payload (str: text, encoded; both with <T0> placeholders)
    encoding: str = "utf-8"  # how a str payload is encoded
    key: str = "rsa-1"  # suite key that signs (tests/conftest.py keys); "none": empty signature
    hmac: str | None = None  # HS* with rsa-1's public key as secret: "pem", "jwk", "der" or "n"
    sign_alg: str | None = None  # the algorithm of the math (default: the header's when it fits)
    ec_hash: str | None = None  # ES* with another hash size than the alg says
    signature: str | None = None  # a replaced signature (see SIGNATURES)
    edit: str | None = None  # a named edit of the encoded token (see EDITS)
    pad_to: int | None = None  # grow a "pad" claim until the token has at least this length
    header_pad_to: int | None = None  # grow an "x-pad" header member until the segment has this length


@dataclass(frozen=True)
class Case:
    id: str
    category: str
    expect: tuple[int, str | None, str | None]  # (status, error, description key)
    token: Tok = field(default_factory=Tok)
    authorization: str | None = "Bearer <T>"  # None: no Authorization field
    path: str = "/orders"
    method: str = "GET"
    body: str | None = None
    content_type: str | None = None
    # extra JWKs at FX.iss's jwks_uri: (suite key, public_jwk() arguments); "__private__" publishes
    # the private JWK, key "oct" a symmetric key holding rsa-1's public PEM
    publish: tuple[tuple[str, Mapping[str, Any]], ...] = ()
    settings: Mapping[str, Any] = field(default_factory=dict)
    iss2: bool = False  # also trust FX.iss2 (with its own key set)
    spec: str = ""
    why: str = ""


def E400(key: str = "malformed-header") -> tuple[int, str, str]:
    return (400, "invalid_request", key)


def E401(key: str) -> tuple[int, str, str]:
    return (401, "invalid_token", key)


NO_CREDENTIALS = (401, None, None)
MALFORMED = E401("malformed-token")
SIGNATURE = E401("signature")

WHY_HEADER_FIRST = (
    "the character is outside the b64token alphabet of RFC 6750 §2.1, so the Authorization check "
    "answers 400 invalid_request (choice A-06) before the token is decoded; C-8725-19 allows 400 or 401"
)
WHY_PARSER = (
    "the character is legal in a b64token (RFC 6750 §2.1), so the header check passes and the strict "
    "base64url decoder answers 401 invalid_token; C-8725-19 allows 400 or 401"
)
WHY_HEADER_LIMIT = "the protected header exceeds JWT_AT_MAX_HEADER_SIZE (1024) before its kid is ever looked at"
WHY_X5C = (
    "a certificate for an RSA-2048 key makes the protected header longer than JWT_AT_MAX_HEADER_SIZE (1024), "
    "so it is refused before any member is looked at; the -large-header-limit twin shows x5c is then ignored"
)
WHY_JWE = "any five-segment value is taken as a JWE (RFC 7516 §7.1) and refused before decoding (choice A-31)"
WHY_NOT_OURS = "the value does not start with the Bearer auth-scheme token, so it is another scheme (RFC 9110 §11.1)"


# ---------------------------------------------------------------------------------------
# edits of an encoded token: (header, payload, signature, resign) -> token
# ``resign(h, p)`` returns the signature segment of ``h.p`` with the case's key and algorithm.
# ---------------------------------------------------------------------------------------

Resign = Callable[[str, str], str]
_B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _decode(segment: str) -> bytes:
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


def _std_alphabet(segment: str) -> str:
    return segment.replace("-", "+").replace("_", "/")


def _noncanonical(segment: str) -> str:
    """The same bytes with unused low bits set in the last character (RFC 4648 §3.5)."""
    remainder = len(segment) % 4
    assert remainder in (2, 3), "no unused bits in a segment whose length is a multiple of 4"
    index = _B64.index(segment[-1]) | (0x0F if remainder == 2 else 0x03)
    changed = segment[:-1] + _B64[index]
    assert changed != segment and _decode(changed) == _decode(segment)
    return changed


def _with_unused_bits(segment: str) -> str:
    """Re-encode a JSON segment, adding trailing JSON whitespace until it has unused bits."""
    data = _decode(segment)
    while len(_b64url(data)) % 4 == 0:
        data += b" "
    return _noncanonical(_b64url(data))


def _std_everywhere(h: str, p: str, s: str, resign: Resign) -> str:
    h2, p2 = _std_alphabet(h), _std_alphabet(p)
    token = f"{h2}.{p2}.{_std_alphabet(resign(h2, p2))}"
    assert token != f"{h}.{p}.{s}" and ("+" in token or "/" in token)
    return token


def _std_signature(h: str, p: str, s: str, resign: Resign) -> str:
    assert "-" in s or "_" in s
    return f"{h}.{p}.{_std_alphabet(s)}"


def _resigned(h: str, p: str, resign: Resign) -> str:
    return f"{h}.{p}.{resign(h, p)}"


def _insert(text: str, at: int, what: str) -> str:
    return text[:at] + what + text[at:]


def _foreign_signature(h: str, p: str, s: str, resign: Resign) -> str:
    other = _b64url(_decode(p).replace(b'"orders:read ', b'"admin:all orders:read '))
    assert other != p
    return f"{h}.{other}.{s}"  # the payload of one token, the signature of another


def _truncate_payload_1mod4(h: str, p: str, s: str, resign: Resign) -> str:
    cut = p[: len(p) - ((len(p) - 1) % 4)]
    assert len(cut) % 4 == 1
    return _resigned(h, cut, resign)


EDITS: Mapping[str, Callable[[str, str, str, Resign], str]] = {
    # segments
    "only-header": lambda h, p, s, r: h,
    "two-segments": lambda h, p, s, r: f"{h}.{p}",
    "four-segments": lambda h, p, s, r: f"{h}.{p}.{s}.{s}",
    "four-segments-empty-tail": lambda h, p, s, r: f"{h}.{p}.{s}.",
    "six-segments": lambda h, p, s, r: f"{h}.{p}.{s}.{h}.{p}.{s}",
    "concatenated": lambda h, p, s, r: f"{h}.{p}.{s}{h}.{p}.{s}",
    "empty-header": lambda h, p, s, r: f".{p}.{s}",
    "empty-payload": lambda h, p, s, r: f"{h}..{s}",
    "empty-signature": lambda h, p, s, r: f"{h}.{p}.",
    "leading-dot": lambda h, p, s, r: f".{h}.{p}.{s}",
    "trailing-dot": lambda h, p, s, r: f"{h}.{p}.{s}.",
    "swap-header-payload": lambda h, p, s, r: f"{p}.{h}.{s}",
    "swap-payload-signature": lambda h, p, s, r: f"{h}.{s}.{p}",
    "rotate-segments": lambda h, p, s, r: f"{s}.{h}.{p}",
    "foreign-signature": _foreign_signature,
    # base64url
    "pad-header": lambda h, p, s, r: _resigned(h + "=", p, r),
    "pad-payload": lambda h, p, s, r: _resigned(h, p + "=", r),
    "pad-signature": lambda h, p, s, r: f"{h}.{p}.{s}=",
    "pad-signature-2": lambda h, p, s, r: f"{h}.{p}.{s}==",
    "std-alphabet": _std_everywhere,
    "std-alphabet-signature": _std_signature,
    "noncanonical-signature": lambda h, p, s, r: f"{h}.{p}.{_noncanonical(s)}",
    "noncanonical-payload": lambda h, p, s, r: _resigned(h, _with_unused_bits(p), r),
    "noncanonical-header": lambda h, p, s, r: _resigned(_with_unused_bits(h), p, r),
    "junk-after-signature": lambda h, p, s, r: f"{h}.{p}.{s}AAAA",
    "junk-char-after-signature": lambda h, p, s, r: f"{h}.{p}.{s}A",
    "junk-after-payload": lambda h, p, s, r: _resigned(h, p + "AAAA", r),
    "truncated-payload": _truncate_payload_1mod4,
    "signature-shortened": lambda h, p, s, r: f"{h}.{p}.{s[: len(s) - len(s) % 4]}",
    "space-in-payload": lambda h, p, s, r: _resigned(h, _insert(p, 10, " "), r),
    "newline-in-payload": lambda h, p, s, r: _resigned(h, _insert(p, 10, "\n"), r),
    "crlf-in-payload": lambda h, p, s, r: _resigned(h, _insert(p, 10, "\r\n"), r),
    "tab-in-payload": lambda h, p, s, r: _resigned(h, _insert(p, 10, "\t"), r),
    "percent20-in-payload": lambda h, p, s, r: _resigned(h, _insert(p, 10, "%20"), r),
    "percent-encoded-dots": lambda h, p, s, r: f"{h}%2E{p}%2E{s}",
    "non-ascii-in-payload": lambda h, p, s, r: _resigned(h, _insert(p, 10, "\u00fc"), r),
    "nul-in-payload": lambda h, p, s, r: _resigned(h, _insert(p, 10, "\x00"), r),
}

# Replaced signatures (raw bytes, base64url-encoded by the builder); "n" is rsa-1's modulus.
SIGNATURES = ("empty", "zeros-256", "ones-256", "one-byte", "rsa-modulus", "zeros-64", "ecdsa-der", "ecdsa-n")


# ---------------------------------------------------------------------------------------
# the cases
# ---------------------------------------------------------------------------------------

HS = "header-syntax"
CRED = "credentials"
SEG = "segments"
B64 = "base64url"
JSON = "json"
JOSE = "jose-header"
CLAIMS = "claims"
LIMITS = "limits"

CASES: list[Case] = []


def add(*cases: Case) -> None:
    CASES.extend(cases)


# --- Authorization header syntax (RFC 6750 §2.1, RFC 9110 §11) ----------------------------
add(
    Case("hs-scheme-only", HS, E400(), authorization="Bearer", spec="C-6750-05"),
    Case("hs-scheme-only-lower", HS, E400(), authorization="bearer", spec="C-6750-05"),
    Case("hs-scheme-trailing-space", HS, E400(), authorization="Bearer ", spec="C-6750-05"),
    Case("hs-scheme-spaces", HS, E400(), authorization="Bearer     ", spec="C-6750-05"),
    Case("hs-tab", HS, E400(), authorization="Bearer\t<T>", spec="C-6750-08"),
    Case("hs-space-tab", HS, E400(), authorization="Bearer \t<T>", spec="C-6750-08"),
    Case("hs-trailing-tab", HS, E400(), authorization="Bearer <T>\t", spec="C-6750-07"),
    Case(
        "hs-trailing-space",
        HS,
        E400(),
        authorization="Bearer <T> ",
        spec="C-6750-06",
        why="a WSGI server strips trailing OWS; the test client hands it over, and b64token has no SP",
    ),
    Case("hs-extra-part", HS, E400(), authorization="Bearer <T> extra", spec="C-6750-06"),
    Case("hs-two-tokens", HS, E400(), authorization="Bearer <T> <T>", spec="C-6750-06"),
    Case("hs-trailing-comma", HS, E400(), authorization="Bearer <T>,", spec="C-6750-07"),
    Case("hs-folded-comma-space", HS, E400(), authorization="Bearer <T>, Bearer <T>", spec="C-6750-29"),
    Case("hs-folded-comma", HS, E400(), authorization="Bearer <T>,Bearer <T>", spec="C-6750-29"),
    Case("hs-folded-then-basic", HS, E400(), authorization="Bearer <T>, Basic dXNlcjpwYXNz", spec="C-6750-29"),
    Case(
        "hs-folded-basic-first",
        HS,
        NO_CREDENTIALS,
        authorization="Basic dXNlcjpwYXNz, Bearer <T>",
        spec="C-6750-02",
        why="the value's scheme is Basic: not credentials of ours (RFC 6750 §3.1, no error information); "
        "the Bearer token after it is never looked at",
    ),
    Case("hs-crlf-after", HS, E400(), authorization="Bearer <T>\r\n", spec="C-6750-07"),
    Case("hs-crlf-header-injection", HS, E400(), authorization="Bearer <T>\r\nX-Injected: 1", spec="C-6750-07"),
    Case("hs-obs-fold", HS, E400(), authorization="Bearer\r\n <T>", spec="C-6750-08"),
    Case("hs-lf-after", HS, E400(), authorization="Bearer <T>\n", spec="C-6750-07"),
    Case("hs-crlf-inside", HS, E400(), token=Tok(edit="crlf-in-payload"), spec="C-8725-19", why=WHY_HEADER_FIRST),
    Case("hs-nbsp-separator", HS, E400(), authorization="Bearer\u00a0<T>", spec="C-6750-08"),
    Case("hs-trailing-nbsp", HS, E400(), authorization="Bearer <T>\u00a0", spec="C-6750-07"),
    Case("hs-ideographic-space", HS, E400(), authorization="Bearer\u3000<T>", spec="C-6750-08"),
    Case("hs-homoglyph-scheme", HS, NO_CREDENTIALS, authorization="B\u0435arer <T>", why=WHY_NOT_OURS),
    Case("hs-non-ascii-token", HS, E400(), authorization="Bearer t\u00f6k", spec="C-6750-07"),
    Case("hs-non-ascii-inside", HS, E400(), token=Tok(edit="non-ascii-in-payload"), spec="C-6750-07"),
    Case("hs-mojibake", HS, E400(), authorization="Bearer t\u00c3\u00b6k", spec="C-6750-07"),
    Case("hs-dollar", HS, E400(), authorization="Bearer abc$def", spec="C-6750-07"),
    Case("hs-comma-token", HS, E400(), authorization="Bearer a,b", spec="C-6750-07"),
    Case("hs-json-token", HS, E400(), authorization='Bearer {"alg":"none"}', spec="C-6750-07"),
    Case(
        "hs-jws-json-serialization",
        HS,
        E400(),
        authorization='Bearer {"payload":"e30","signatures":[{"protected":"e30","signature":"AA"}]}',
        spec="C-8725-21",
    ),
    Case("hs-equals-only", HS, E400(), authorization="Bearer =", spec="C-6750-07"),
    Case("hs-padding-only", HS, E400(), authorization="Bearer ==", spec="C-6750-07"),
    Case("hs-quoted-token", HS, E400(), authorization='Bearer "<T>"', spec="C-6750-07"),
    Case("hs-auth-param-form", HS, E400(), authorization='Bearer token="<T>"', spec="C-6750-07"),
    Case("hs-nul-before", HS, E400(), authorization="Bearer \x00<T>", spec="C-6750-07"),
    Case("hs-nul-after", HS, E400(), authorization="Bearer <T>\x00", spec="C-6750-07"),
    Case("hs-nul-inside", HS, E400(), token=Tok(edit="nul-in-payload"), spec="C-6750-07"),
    Case("hs-colon-after-scheme", HS, E400(), authorization="Bearer: <T>", spec="C-6750-07"),
    Case("hs-no-space", HS, NO_CREDENTIALS, authorization="Bearer<T>", why=WHY_NOT_OURS + ": 'Bearer<T>' is one token"),
    Case(
        "hs-leading-space",
        HS,
        NO_CREDENTIALS,
        authorization=" Bearer <T>",
        why="a WSGI server strips leading OWS; unstripped, a value that does not start with an auth-scheme "
        "token is not credentials of ours",
    ),
    Case("hs-long-garbage", HS, E400(), authorization="Bearer " + "$" * 10_000, spec="C-6750-07"),
    Case("hs-dpop-scheme", HS, NO_CREDENTIALS, authorization="DPoP <T>", why="DPoP is not implemented: another scheme"),
    Case("hs-token-scheme", HS, NO_CREDENTIALS, authorization="Token <T>", spec="C-6750-02"),
    Case("hs-jwt-scheme", HS, NO_CREDENTIALS, authorization="JWT <T>", spec="C-6750-02"),
    Case("hs-basic-with-jwt", HS, NO_CREDENTIALS, authorization="Basic <T>", spec="C-6750-02"),
    Case("hs-percent-space", HS, E400(), authorization="Bearer %20<T>", spec="C-6750-07"),
    Case("hs-fragment", HS, E400(), authorization="Bearer <T>#x", spec="C-6750-07"),
    Case("hs-semicolon", HS, E400(), authorization="Bearer <T>;", spec="C-6750-07"),
    Case("hs-empty-value", HS, NO_CREDENTIALS, authorization="", spec="C-6750-01"),
    Case("hs-whitespace-value", HS, NO_CREDENTIALS, authorization="   ", spec="C-6750-01", why=WHY_NOT_OURS),
    Case("hs-b64token-not-jwt", HS, MALFORMED, authorization="Bearer mF_9.B5f-4.1JqM", spec="C-6750-09"),
    Case("hs-tilde-token", HS, MALFORMED, authorization="Bearer ~~~~", spec="C-6750-09"),
)

# --- more than one credential (RFC 6750 §2, choice A-16) -------------------------------------
FORM = "application/x-www-form-urlencoded"
add(
    Case("cred-header-and-query", CRED, E400("multiple-methods"), path="/orders?access_token=<T>", spec="C-6750-20"),
    Case(
        "cred-header-and-query-enabled",
        CRED,
        E400("multiple-methods"),
        path="/orders?access_token=<T>",
        settings={"JWT_AT_TOKEN_METHODS": ["header", "query"]},
        spec="C-6750-20",
    ),
    Case(
        "cred-header-and-empty-query",
        CRED,
        E400("multiple-methods"),
        path="/orders?access_token=",
        why="an access_token parameter counts as a method even when empty",
    ),
    Case(
        "cred-header-and-body",
        CRED,
        E400("multiple-methods"),
        method="POST",
        body="access_token=<T>&x=1",
        content_type=FORM,
        spec="C-6750-21",
    ),
    Case(
        "cred-query-repeated",
        CRED,
        E400("repeated-token"),
        authorization=None,
        path="/orders?access_token=<T>&access_token=<T>",
        settings={"JWT_AT_TOKEN_METHODS": ["header", "query"]},
        spec="C-6750-28",
        why="the library's own description (not in spec §0.4) for a repeated parameter",
    ),
    Case(
        "cred-query-and-body",
        CRED,
        E400("multiple-methods"),
        authorization=None,
        method="POST",
        path="/orders?access_token=<T>",
        body="access_token=<T>",
        content_type=FORM,
        settings={"JWT_AT_TOKEN_METHODS": ["query", "body"]},
        spec="C-6750-22",
    ),
    Case(
        "cred-query-disabled",
        CRED,
        NO_CREDENTIALS,
        authorization=None,
        path="/orders?access_token=<T>",
        spec="C-6750-23",
    ),
    Case(
        "cred-json-body",
        CRED,
        NO_CREDENTIALS,
        authorization=None,
        method="POST",
        body='{"access_token":"<T>"}',
        content_type="application/json",
        settings={"JWT_AT_TOKEN_METHODS": ["header", "body"]},
        spec="C-6750-26",
    ),
    Case(
        "cred-get-form-body",
        CRED,
        NO_CREDENTIALS,
        authorization=None,
        body="access_token=<T>",
        content_type=FORM,
        settings={"JWT_AT_TOKEN_METHODS": ["header", "body"]},
        spec="C-6750-27",
    ),
)

# A JWE in compact serialization (five segments, RFC 7516 §7.1; shape of its appendix A.1).
JWE_EXAMPLE = ".".join(
    [
        "eyJhbGciOiJSU0EtT0FFUCIsImVuYyI6IkEyNTZHQ00ifQ",
        "OKOawDo13gRp2ojaHV7LFpZcgV7T6DVZKTyKOMTYUmKoTCVJRgckCL9kiMT03JGeipsEdY3mx_etLbbWSrFr05kLzcSr4qKAq7YN7e9jwQRb23nf",
        "48V1_ALb6US04U3b",
        "5eym8TW_c8SuK0ltJ3rpYIzOeDQz7TALvtu6UG9oMo4vpzs9tX_EFShS8iB7j6jiSdiwkIr3ajwQzaBtQD_A",
        "XFBoMYUZodetZdvTiFvSkQ",
    ]
)

# --- segment structure (RFC 7515 §7.1, RFC 7516 §7.1) -----------------------------------------
add(
    Case("seg-one", SEG, MALFORMED, token=Tok(edit="only-header"), spec="C-8725-20"),
    Case("seg-two", SEG, MALFORMED, token=Tok(edit="two-segments"), spec="C-8725-20"),
    Case("seg-four", SEG, MALFORMED, token=Tok(edit="four-segments"), spec="C-8725-20"),
    Case("seg-four-empty-tail", SEG, MALFORMED, token=Tok(edit="four-segments-empty-tail"), spec="C-8725-20"),
    Case("seg-six", SEG, MALFORMED, token=Tok(edit="six-segments"), spec="C-8725-20"),
    Case(
        "seg-five-jwe",
        SEG,
        E401("encrypted"),
        authorization="Bearer " + JWE_EXAMPLE,
        spec="C-9068-27",
        why=WHY_JWE,
    ),
    Case("seg-five-empty", SEG, E401("encrypted"), authorization="Bearer ....", why=WHY_JWE),
    Case("seg-five-concatenated", SEG, E401("encrypted"), token=Tok(edit="concatenated"), why=WHY_JWE),
    Case("seg-empty-header", SEG, MALFORMED, token=Tok(edit="empty-header")),
    Case("seg-empty-payload", SEG, MALFORMED, token=Tok(edit="empty-payload")),
    Case("seg-empty-signature", SEG, SIGNATURE, token=Tok(edit="empty-signature")),
    Case("seg-dots-only", SEG, MALFORMED, authorization="Bearer .."),
    Case("seg-leading-dot", SEG, MALFORMED, token=Tok(edit="leading-dot"), spec="C-8725-20"),
    Case("seg-trailing-dot", SEG, MALFORMED, token=Tok(edit="trailing-dot"), spec="C-8725-20"),
    Case("seg-swap-header-payload", SEG, E401("typ"), token=Tok(edit="swap-header-payload")),
    Case("seg-swap-payload-signature", SEG, MALFORMED, token=Tok(edit="swap-payload-signature")),
    Case("seg-rotated", SEG, MALFORMED, token=Tok(edit="rotate-segments")),
    Case("seg-foreign-signature", SEG, SIGNATURE, token=Tok(edit="foreign-signature")),
    Case(
        "seg-jwe-header-three-segments",
        SEG,
        E401("alg"),
        token=Tok(header={"alg": "RSA-OAEP", "enc": "A256GCM"}),
        why="alg is checked before enc (choice A-33)",
    ),
    Case("seg-enc-member-in-jws", SEG, MALFORMED, token=Tok(header={"enc": "A256GCM"})),
)

# --- base64url (RFC 7515 §2, RFC 7519 §7.2) ---------------------------------------------------
add(
    Case("b64-pad-header", B64, E400(), token=Tok(edit="pad-header"), spec="C-8725-19", why=WHY_HEADER_FIRST),
    Case("b64-pad-payload", B64, E400(), token=Tok(edit="pad-payload"), spec="C-8725-19", why=WHY_HEADER_FIRST),
    Case("b64-pad-signature", B64, MALFORMED, token=Tok(edit="pad-signature"), spec="C-8725-19", why=WHY_PARSER),
    Case("b64-pad-signature-2", B64, MALFORMED, token=Tok(edit="pad-signature-2"), spec="C-8725-19", why=WHY_PARSER),
    Case("b64-std-alphabet", B64, MALFORMED, token=Tok(edit="std-alphabet"), spec="C-8725-19", why=WHY_PARSER),
    Case(
        "b64-std-alphabet-signature",
        B64,
        MALFORMED,
        token=Tok(edit="std-alphabet-signature"),
        spec="C-8725-19",
        why=WHY_PARSER,
    ),
    Case("b64-noncanonical-signature", B64, MALFORMED, token=Tok(edit="noncanonical-signature")),
    Case("b64-noncanonical-es256-signature", B64, MALFORMED, token=Tok(key="ec-1", edit="noncanonical-signature")),
    Case("b64-noncanonical-payload", B64, MALFORMED, token=Tok(edit="noncanonical-payload")),
    Case("b64-noncanonical-header", B64, MALFORMED, token=Tok(edit="noncanonical-header")),
    Case("b64-junk-after-signature", B64, SIGNATURE, token=Tok(edit="junk-after-signature")),
    Case("b64-junk-char-after-signature", B64, SIGNATURE, token=Tok(edit="junk-char-after-signature")),
    Case("b64-junk-after-payload", B64, MALFORMED, token=Tok(edit="junk-after-payload")),
    Case("b64-length-1-mod-4", B64, MALFORMED, token=Tok(edit="truncated-payload")),
    Case("b64-signature-shortened", B64, SIGNATURE, token=Tok(edit="signature-shortened")),
    Case("b64-space", B64, E400(), token=Tok(edit="space-in-payload"), spec="C-8725-19", why=WHY_HEADER_FIRST),
    Case("b64-newline", B64, E400(), token=Tok(edit="newline-in-payload"), spec="C-8725-19", why=WHY_HEADER_FIRST),
    Case("b64-tab", B64, E400(), token=Tok(edit="tab-in-payload"), spec="C-8725-19", why=WHY_HEADER_FIRST),
    Case("b64-percent20", B64, E400(), token=Tok(edit="percent20-in-payload"), spec="C-8725-19", why=WHY_HEADER_FIRST),
    Case("b64-percent-encoded-dots", B64, E400(), token=Tok(edit="percent-encoded-dots"), why=WHY_HEADER_FIRST),
)


# --- JSON of the payload and the header (RFC 8259, RFC 7519 §7.2, RFC 8725 §3.7) ------------
def _deep(depth: int, opener: str = "[", closer: str = "]") -> str:
    """A member whose value nests ``depth - 1`` levels inside the enclosing object."""
    return '"deep":' + opener * (depth - 1) + ("1" if opener == "[" else "") + closer * (depth - 1)


def _deep_objects(depth: int) -> str:
    return '"deep":' + '{"a":' * (depth - 2) + "{}" + "}" * (depth - 2)


DIGITS_5000 = "1" + "0" * 4999
add(
    Case("json-null", JSON, MALFORMED, token=Tok(payload="null")),
    Case("json-array", JSON, MALFORMED, token=Tok(payload="[{<T0>}]")),
    Case("json-string", JSON, MALFORMED, token=Tok(payload='"<T0>"')),
    Case("json-number", JSON, MALFORMED, token=Tok(payload="1")),
    Case("json-true", JSON, MALFORMED, token=Tok(payload="true")),
    Case("json-empty", JSON, MALFORMED, token=Tok(payload="")),
    Case("json-empty-object", JSON, E401("iss"), token=Tok(payload="{}"), why="a JSON object without iss"),
    Case("json-truncated", JSON, MALFORMED, token=Tok(payload="{<T0>")),
    Case("json-trailing-garbage", JSON, MALFORMED, token=Tok(payload="{<T0>} x")),
    Case("json-two-objects", JSON, MALFORMED, token=Tok(payload="{<T0>}{<T0>}")),
    Case("json-trailing-comma", JSON, MALFORMED, token=Tok(payload="{<T0>,}")),
    Case("json-comment", JSON, MALFORMED, token=Tok(payload="{/* x */<T0>}")),
    Case("json-single-quotes", JSON, MALFORMED, token=Tok(payload="{'iss':'" + FX_ISS + "',<T0 -iss>}")),
    Case("json-unquoted-key", JSON, MALFORMED, token=Tok(payload="{iss:1,<T0>}")),
    Case(
        "json-duplicate-aud-last-wins",
        JSON,
        MALFORMED,
        token=Tok(payload='{"aud":"https://other.example.com",<T0>}'),
        spec="C-8725-16",
    ),
    Case(
        "json-duplicate-aud-first-wins",
        JSON,
        MALFORMED,
        token=Tok(payload='{<T0>,"aud":"https://other.example.com"}'),
        spec="C-8725-16",
    ),
    Case("json-duplicate-iss", JSON, MALFORMED, token=Tok(payload='{"iss":"https://evil.example",<T0>}')),
    Case("json-duplicate-exp", JSON, MALFORMED, token=Tok(payload='{<T0>,"exp":' + str(NOW_INT - 1000) + "}")),
    Case("json-duplicate-nested", JSON, MALFORMED, token=Tok(payload='{<T0>,"cnf":{"jkt":"a","jkt":"b"}}')),
    Case(
        "json-duplicate-escaped-name",
        JSON,
        MALFORMED,
        token=Tok(payload='{"aud":"https://other.example.com",<T0 -aud>,"\\u0061ud":"' + FX_AUD + '"}'),
        why="member names are compared after unescaping: \\u0061ud is aud",
    ),
    Case("json-nan-exp", JSON, MALFORMED, token=Tok(payload='{<T0 -exp>,"exp":NaN}'), spec="C-8725-18"),
    Case("json-infinity-exp", JSON, MALFORMED, token=Tok(payload='{<T0 -exp>,"exp":Infinity}'), spec="C-8725-18"),
    Case(
        "json-minus-infinity-iat", JSON, MALFORMED, token=Tok(payload='{<T0 -iat>,"iat":-Infinity}'), spec="C-8725-18"
    ),
    Case("json-nan-nbf", JSON, MALFORMED, token=Tok(payload='{<T0>,"nbf":NaN}'), spec="C-8725-18"),
    Case("json-nan-extra-claim", JSON, MALFORMED, token=Tok(payload='{<T0>,"x":NaN}'), spec="C-8725-18"),
    Case("json-1e400-exp", JSON, MALFORMED, token=Tok(payload='{<T0 -exp>,"exp":1e400}')),
    Case("json-minus-1e400-iat", JSON, MALFORMED, token=Tok(payload='{<T0 -iat>,"iat":-1e400}')),
    Case("json-1e400-extra-claim", JSON, MALFORMED, token=Tok(payload='{<T0>,"x":1e400}')),
    Case("json-1e308-exp", JSON, E401("claims"), token=Tok(payload='{<T0 -exp>,"exp":1e308}')),
    Case(
        "json-1e-400-exp",
        JSON,
        E401("expired"),
        token=Tok(payload='{<T0 -exp>,"exp":1e-400}'),
        why="1e-400 is a finite JSON number that rounds to 0: an exp in 1970",
    ),
    Case(
        "json-5000-digit-exp",
        JSON,
        MALFORMED,
        token=Tok(payload='{<T0 -exp>,"exp":' + DIGITS_5000 + "}"),
        why="CPython refuses to convert an integer of more than 4300 digits (sys.int_info), so the JSON "
        "parser fails: malformed; with that limit lifted it would be an out-of-range exp (D-claims)",
    ),
    Case("json-5000-digit-extra-claim", JSON, MALFORMED, token=Tok(payload='{<T0>,"x":' + DIGITS_5000 + "}")),
    Case("json-4000-digit-exp", JSON, E401("claims"), token=Tok(payload='{<T0 -exp>,"exp":1' + "0" * 3999 + "}")),
    Case("json-5000-digit-float", JSON, MALFORMED, token=Tok(payload='{<T0 -exp>,"exp":' + DIGITS_5000 + ".5}")),
    Case("json-leading-zero", JSON, MALFORMED, token=Tok(payload='{<T0 -exp>,"exp":0' + str(NOW_INT + 600) + "}")),
    Case("json-plus-sign", JSON, MALFORMED, token=Tok(payload='{<T0 -exp>,"exp":+' + str(NOW_INT + 600) + "}")),
    Case("json-hex-number", JSON, MALFORMED, token=Tok(payload='{<T0 -exp>,"exp":0x713FB300}')),
    Case("json-depth-17-arrays", JSON, MALFORMED, token=Tok(payload="{<T0>," + _deep(17) + "}"), spec="limits"),
    Case("json-depth-17-objects", JSON, MALFORMED, token=Tok(payload="{<T0>," + _deep_objects(17) + "}")),
    Case("json-depth-2000", JSON, MALFORMED, token=Tok(payload="{<T0>," + _deep(2000) + "}")),
    Case("json-bracket-bomb", JSON, MALFORMED, token=Tok(payload="[" * 5000)),
    Case(
        "json-depth-17-header",
        JSON,
        MALFORMED,
        token=Tok(header_json='{"typ":"at+jwt","alg":"RS256","kid":"rsa-1",' + _deep(17) + "}"),
    ),
    Case("json-invalid-utf8", JSON, MALFORMED, token=Tok(payload=b'{<T0 -sub>,"sub":"user-\xff"}'), spec="C-8725-17"),
    Case("json-overlong-utf8", JSON, MALFORMED, token=Tok(payload=b'{"iss":"\xc0\xaf"}'), spec="C-8725-17"),
    Case("json-cesu-surrogate", JSON, MALFORMED, token=Tok(payload=b'{"iss":"\xed\xa0\x80"}'), spec="C-8725-17"),
    Case("json-utf8-bom-payload", JSON, MALFORMED, token=Tok(payload="\ufeff{<T0>}"), spec="C-8725-17"),
    Case(
        "json-utf8-bom-header",
        JSON,
        MALFORMED,
        token=Tok(header_json=b'\xef\xbb\xbf{"typ":"at+jwt","alg":"RS256","kid":"rsa-1"}'),
        spec="C-8725-17",
    ),
    Case("json-utf16le", JSON, MALFORMED, token=Tok(payload="{<T0>}", encoding="utf-16-le"), spec="C-8725-17"),
    Case("json-utf16-bom", JSON, MALFORMED, token=Tok(payload="{<T0>}", encoding="utf-16"), spec="C-8725-17"),
    Case("json-utf16be", JSON, MALFORMED, token=Tok(payload="{<T0>}", encoding="utf-16-be"), spec="C-8725-17"),
    Case("json-utf32", JSON, MALFORMED, token=Tok(payload="{<T0>}", encoding="utf-32"), spec="C-8725-17"),
    Case(
        "json-utf16le-header",
        JSON,
        MALFORMED,
        token=Tok(header_json='{"typ":"at+jwt","alg":"RS256","kid":"rsa-1"}'.encode("utf-16-le")),
        spec="C-8725-17",
    ),
    # JSON escapes of lone surrogates decode to text that is not Unicode (RFC 8259 §8.2, RFC 7493
    # §2.1): a str that no UTF-8 encoder accepts must not reach the application (RFC 8725 §3.7).
    Case(
        "json-lone-surrogate-sub", JSON, MALFORMED, token=Tok(payload='{<T0 -sub>,"sub":"\\ud800"}'), spec="C-8725-17"
    ),
    Case("json-lone-surrogate-claim", JSON, MALFORMED, token=Tok(payload='{<T0>,"x":"\\udfff"}'), spec="C-8725-17"),
    Case("json-lone-surrogate-name", JSON, MALFORMED, token=Tok(payload='{<T0>,"\\ud800":1}'), spec="C-8725-17"),
    Case(
        "json-lone-surrogate-header",
        JSON,
        MALFORMED,
        token=Tok(header_json='{"typ":"at+jwt","alg":"RS256","kid":"rsa-1","x":"\\ud800"}'),
        spec="C-8725-17",
    ),
    Case("json-raw-control-char", JSON, MALFORMED, token=Tok(payload='{<T0 -sub>,"sub":"a\x01b"}')),
    Case("json-header-not-object", JSON, MALFORMED, token=Tok(header_json='["at+jwt","RS256"]')),
    Case("json-header-null", JSON, MALFORMED, token=Tok(header_json="null")),
    Case("json-header-empty", JSON, MALFORMED, token=Tok(header_json="")),
    Case(
        "json-header-duplicate-typ",
        JSON,
        MALFORMED,
        token=Tok(header_json='{"alg":"RS256","typ":"JWT","typ":"at+jwt","kid":"rsa-1"}'),
        spec="C-8725-16",
    ),
    Case(
        "json-header-duplicate-alg",
        JSON,
        MALFORMED,
        token=Tok(header_json='{"typ":"at+jwt","alg":"none","alg":"RS256","kid":"rsa-1"}'),
        spec="C-8725-16",
    ),
    Case(
        "json-header-duplicate-kid",
        JSON,
        MALFORMED,
        token=Tok(header_json='{"typ":"at+jwt","alg":"RS256","kid":"KX","kid":"rsa-1"}'),
        spec="C-8725-16",
    ),
    Case(
        "json-header-nan",
        JSON,
        MALFORMED,
        token=Tok(header_json='{"typ":"at+jwt","alg":"RS256","kid":"rsa-1","x":NaN}'),
        spec="C-8725-18",
    ),
)

# --- JOSE header attacks (RFC 8725 §3.1, §3.10, RFC 7515 §4.1) -----------------------------------
ALG = E401("alg")
add(
    *[
        Case(f"alg-{name}", JOSE, ALG, token=Tok(header={"alg": value, "kid": ABSENT}, key="none"), spec="C-8725-02")
        for name, value in (("none", "none"), ("None", "None"), ("NONE", "NONE"), ("nOnE", "nOnE"))
    ],
    Case("alg-none-signed", JOSE, ALG, token=Tok(header={"alg": "none"}, sign_alg="RS256")),
    Case("alg-empty", JOSE, ALG, token=Tok(header={"alg": ""})),
    Case("alg-missing", JOSE, ALG, token=Tok(header={"alg": ABSENT}), spec="C-8725-02"),
    Case("alg-null", JOSE, ALG, token=Tok(header={"alg": None})),
    Case("alg-array", JOSE, ALG, token=Tok(header={"alg": ["RS256"]})),
    Case("alg-number", JOSE, ALG, token=Tok(header={"alg": 256})),
    Case("alg-lowercase", JOSE, ALG, token=Tok(header={"alg": "rs256"}, sign_alg="RS256"), spec="C-8725-02"),
    Case("alg-mixed-case", JOSE, ALG, token=Tok(header={"alg": "Rs256"}, sign_alg="RS256"), spec="C-8725-02"),
    Case("alg-trailing-space", JOSE, ALG, token=Tok(header={"alg": "RS256 "}, sign_alg="RS256")),
    Case("alg-trailing-nul", JOSE, ALG, token=Tok(header={"alg": "RS256\u0000"}, sign_alg="RS256")),
    *[
        Case(
            f"alg-{alg.lower()}-{form}-of-rsa-1",
            JOSE,
            ALG,
            token=Tok(header={"alg": alg}, hmac=form),
            spec="C-8725-03",
            why="HS* is never allowed, so the MAC is never computed, whatever form of the public key it used",
        )
        for alg, form in (("HS256", "pem"), ("HS256", "jwk"), ("HS256", "der"), ("HS256", "n"), ("HS384", "pem"))
    ],
    Case("alg-hs512-pem-no-kid", JOSE, ALG, token=Tok(header={"alg": "HS512", "kid": ABSENT}, hmac="pem")),
    Case("alg-rs384-not-configured", JOSE, ALG, token=Tok(header={"alg": "RS384"}), spec="C-8725-01"),
    Case("alg-rs512-not-configured", JOSE, ALG, token=Tok(header={"alg": "RS512"}), spec="C-8725-01"),
    Case("alg-ps384-not-configured", JOSE, ALG, token=Tok(header={"alg": "PS384"}, key="ps-1"), spec="C-8725-01"),
    Case("alg-es384-not-configured", JOSE, ALG, token=Tok(key="ec-384"), spec="C-8725-01"),
    Case("alg-es512-not-configured", JOSE, ALG, token=Tok(key="ec-521"), spec="C-8725-01"),
    Case("alg-eddsa-not-configured", JOSE, ALG, token=Tok(key="ed-1"), spec="C-8725-01"),
    Case("alg-rsa-oaep", JOSE, ALG, token=Tok(header={"alg": "RSA-OAEP"})),
    # key family and one algorithm per key
    Case("key-es256-with-rsa-kid", JOSE, SIGNATURE, token=Tok(header={"kid": "rsa-1"}, key="ec-1"), spec="C-8725-06"),
    Case("key-rs256-with-ec-kid", JOSE, SIGNATURE, token=Tok(header={"kid": "ec-1"}), spec="C-8725-06"),
    Case(
        "key-ps256-with-rs256-key",
        JOSE,
        SIGNATURE,
        token=Tok(header={"alg": "PS256"}),
        spec="C-8725-04",
        why="rsa-1 is published for RS256 only: a valid PSS signature by its private key is not looked up",
    ),
    Case("key-rs256-with-ps256-key", JOSE, SIGNATURE, token=Tok(header={"alg": "RS256"}, key="ps-1"), spec="C-8725-04"),
    Case("key-rs256-header-pss-math", JOSE, SIGNATURE, token=Tok(sign_alg="PS256")),
    Case("key-es256-header-sha384-math", JOSE, SIGNATURE, token=Tok(key="ec-1", ec_hash="384")),
    Case(
        "key-es256-p384-published-as-es256",
        JOSE,
        SIGNATURE,
        token=Tok(header={"alg": "ES256", "kid": "ec-384"}, key="ec-384", sign_alg="ES256"),
        publish=(("ec-384", {"alg": "ES256"}),),
        spec="C-8725-10",
    ),
    Case(
        "key-es256-p384-published-without-alg",
        JOSE,
        SIGNATURE,
        token=Tok(header={"alg": "ES256", "kid": "ec-384"}, key="ec-384", sign_alg="ES256"),
        publish=(("ec-384", {"alg": None}),),
        spec="C-8725-10",
    ),
    Case(
        "key-es256-p384-under-ec-1",
        JOSE,
        SIGNATURE,
        token=Tok(header={"alg": "ES256", "kid": "ec-1"}, key="ec-384", sign_alg="ES256"),
        spec="C-8725-10",
    ),
    Case(
        "key-rsa-1024-published", JOSE, SIGNATURE, token=Tok(key="weak-1"), publish=(("weak-1", {}),), spec="C-8725-09"
    ),
    Case(
        "key-rsa-1024-published-no-kid",
        JOSE,
        SIGNATURE,
        token=Tok(key="weak-1", header={"kid": ABSENT}),
        publish=(("weak-1", {}),),
        spec="C-8725-09",
    ),
    Case(
        "key-rsa-1024-under-rsa-1",
        JOSE,
        SIGNATURE,
        token=Tok(key="weak-1", header={"kid": "rsa-1"}),
        publish=(("weak-1", {"kid": "rsa-1"}),),
        spec="C-8725-09",
    ),
    Case(
        "key-use-enc",
        JOSE,
        SIGNATURE,
        token=Tok(key="enc-1"),
        publish=(("enc-1", {"use": "enc"}),),
        spec="C-8725-07",
    ),
    Case(
        "key-ops-encrypt",
        JOSE,
        SIGNATURE,
        token=Tok(key="rsa-2"),
        publish=(("rsa-2", {"key_ops": ["encrypt"], "use": None}),),
        spec="C-8725-08",
    ),
    Case(
        "key-private-published",
        JOSE,
        SIGNATURE,
        token=Tok(key="priv-1"),
        publish=(("priv-1", {"__private__": True}),),
        spec="C-8414-13",
    ),
    Case(
        "key-oct-published-hs256",
        JOSE,
        ALG,
        token=Tok(header={"alg": "HS256", "kid": "hs-1"}, hmac="pem"),
        publish=(("oct", {"kid": "hs-1"}),),
    ),
    Case(
        "key-oct-published-rs256",
        JOSE,
        SIGNATURE,
        token=Tok(header={"kid": "hs-1"}),
        publish=(("oct", {"kid": "hs-1"}),),
    ),
    # forged signatures
    Case("sig-empty", JOSE, SIGNATURE, token=Tok(signature="empty")),
    Case("sig-rs256-zeros", JOSE, SIGNATURE, token=Tok(signature="zeros-256")),
    Case("sig-rs256-ones", JOSE, SIGNATURE, token=Tok(signature="ones-256")),
    Case("sig-rs256-one-byte", JOSE, SIGNATURE, token=Tok(signature="one-byte")),
    Case("sig-rs256-modulus", JOSE, SIGNATURE, token=Tok(signature="rsa-modulus")),
    Case("sig-ps256-zeros", JOSE, SIGNATURE, token=Tok(key="ps-1", signature="zeros-256")),
    Case(
        "sig-es256-zeros",
        JOSE,
        SIGNATURE,
        token=Tok(key="ec-1", signature="zeros-64"),
        why="r = s = 0 (CVE-2022-21449, 'psychic signatures')",
    ),
    Case("sig-es256-r-s-equal-n", JOSE, SIGNATURE, token=Tok(key="ec-1", signature="ecdsa-n")),
    Case("sig-es256-der", JOSE, SIGNATURE, token=Tok(key="ec-1", signature="ecdsa-der"), why="RFC 7518 §3.4: r || s"),
    # key-location injection: judged by the configured keys only (RFC 8725 §3.10, C-8725-11/12)
    Case("inject-jku-loopback", JOSE, SIGNATURE, token=Tok(key="KX", header={"jku": Dyn("loopback:/attacker/jwks")})),
    Case(
        "inject-jku-loopback-kx-kid",
        JOSE,
        SIGNATURE,
        token=Tok(key="KX", header={"kid": "KX", "jku": Dyn("loopback:/attacker/jwks")}),
    ),
    Case(
        "inject-jku-loopback-no-kid",
        JOSE,
        SIGNATURE,
        token=Tok(key="KX", header={"kid": ABSENT, "jku": Dyn("loopback:/attacker/jwks")}),
    ),
    Case(
        "inject-jku-external",
        JOSE,
        SIGNATURE,
        token=Tok(key="KX", header={"kid": "KX", "jku": "https://attacker.example/jwks"}),
        spec="C-8725-12",
    ),
    Case(
        "inject-x5u-external",
        JOSE,
        SIGNATURE,
        token=Tok(key="KX", header={"kid": "KX", "x5u": "https://attacker.example/cert"}),
        spec="C-8725-12",
    ),
    Case("inject-x5u-loopback", JOSE, SIGNATURE, token=Tok(key="KX", header={"x5u": Dyn("loopback:/attacker/cert")})),
    Case(
        "inject-jwk-no-kid",
        JOSE,
        SIGNATURE,
        token=Tok(key="KX", header={"kid": ABSENT, "jwk": Dyn("jwk:KX")}),
        spec="C-8725-11",
    ),
    Case("inject-jwk-rsa-1-kid", JOSE, SIGNATURE, token=Tok(key="KX", header={"jwk": Dyn("jwk:KX")}), spec="C-8725-11"),
    Case("inject-x5c", JOSE, MALFORMED, token=Tok(key="KX", header={"x5c": Dyn("x5c:KX")}), why=WHY_X5C),
    Case(
        "inject-x5c-no-kid",
        JOSE,
        MALFORMED,
        token=Tok(key="KX", header={"kid": ABSENT, "x5c": Dyn("x5c:KX")}),
        spec="C-8725-12",
        why=WHY_X5C,
    ),
    Case(
        "inject-x5c-large-header-limit",
        JOSE,
        SIGNATURE,
        token=Tok(key="KX", header={"x5c": Dyn("x5c:KX")}),
        settings={"JWT_AT_MAX_HEADER_SIZE": 4096},
        spec="C-8725-12",
    ),
    Case(
        "inject-x5c-no-kid-large-header-limit",
        JOSE,
        SIGNATURE,
        token=Tok(key="KX", header={"kid": ABSENT, "x5c": Dyn("x5c:KX")}),
        settings={"JWT_AT_MAX_HEADER_SIZE": 4096},
        spec="C-8725-12",
    ),
    Case(
        "inject-all-key-locations",
        JOSE,
        SIGNATURE,
        token=Tok(
            key="KX",
            header={
                "kid": ABSENT,
                "jku": "https://attacker.example/jwks",
                "x5u": "https://attacker.example/cert",
                "jwk": Dyn("jwk:KX"),
                "x5c": Dyn("x5c:KX"),
            },
        ),
        settings={"JWT_AT_MAX_HEADER_SIZE": 4096},
    ),
    # kid lookups (RFC 8725 §3.10, C-8725-13)
    *[
        Case(f"kid-{name}", JOSE, SIGNATURE, token=Tok(header={"kid": kid}, key=key), spec="C-8725-13")
        for name, kid, key in (
            ("path-traversal", "../../../../dev/null", "KX"),
            ("sql", "' OR '1'='1", "KX"),
            ("percent-00", "%00", "KX"),
            ("nul", "\u0000", "KX"),
            ("empty", "", "rsa-1"),
            ("uppercase", "RSA-1", "rsa-1"),
            ("trailing-space", "rsa-1 ", "rsa-1"),
            ("nul-suffix", "rsa-1\u0000", "rsa-1"),
            ("jndi", "${jndi:ldap://attacker.example/a}", "KX"),
            ("url", "https://attacker.example/key.pem", "KX"),
            ("shell", "|cat /etc/passwd", "KX"),
            ("wildcard", "*", "rsa-1"),
            ("regex", ".*", "rsa-1"),
            ("other-issuers-key", "as2-1", "as2-1"),
            ("of-attacker-key-as-rsa-1", "rsa-1", "KX"),
        )
    ],
    Case(
        "kid-10000-chars",
        JOSE,
        MALFORMED,
        token=Tok(header={"kid": "k" * 10_000}),
        spec="C-8725-13",
        why=WHY_HEADER_LIMIT,
    ),
    *[
        Case(
            f"kid-{name}",
            JOSE,
            MALFORMED,
            token=Tok(header={"kid": kid}),
            spec="C-8725-13",
            why='"kid" must be a string',
        )
        for name, kid in (
            ("null", None),
            ("number", 123),
            ("array", ["rsa-1"]),
            ("object", {"kid": "rsa-1"}),
            ("bool", True),
        )
    ],
    # crit (RFC 7515 §4.1.11)
    *[
        Case(f"crit-{name}", JOSE, E401("crit"), token=Tok(header=header), spec=spec)
        for name, header, spec in (
            ("exp", {"crit": ["exp"], "exp": NOW_INT + 600}, "C-8725-14"),
            ("empty-list", {"crit": []}, "C-8725-15"),
            ("registered-name", {"crit": ["alg"]}, "C-8725-15"),
            ("not-array", {"crit": "exp"}, "C-8725-15"),
            ("null", {"crit": None}, "C-8725-15"),
            ("b64", {"crit": ["b64"], "b64": False}, "C-8725-14"),
            ("jku", {"crit": ["jku"], "jku": "https://attacker.example/jwks"}, "C-8725-14"),
        )
    ],
    # typ (RFC 9068 §4, choice A-07)
    *[
        Case(f"typ-{name}", JOSE, E401("typ"), token=Tok(header={"typ": typ}), spec="C-9068-01")
        for name, typ in (
            ("missing", ABSENT),
            ("jwt", "JWT"),
            ("null", None),
            ("number", 1),
            ("array", ["at+jwt"]),
            ("with-parameter", "at+jwt; charset=utf-8"),
            ("trailing-space", "application/at+jwt "),
            ("dpop", "dpop+jwt"),
            ("nul-suffix", "at+jwt\u0000"),
            ("empty", ""),
            ("application-jwt", "application/jwt"),
            ("at-jwt-dash", "at-jwt"),
        )
    ],
    # members that only a JWE or a nested JWT carries (RFC 7516 §4.1.3, choice A-31)
    Case("hdr-zip", JOSE, MALFORMED, token=Tok(header={"zip": "DEF"}), spec="C-8725-23"),
    Case("hdr-zip-null", JOSE, MALFORMED, token=Tok(header={"zip": None})),
    Case("hdr-cty-jwt", JOSE, MALFORMED, token=Tok(header={"cty": "JWT"}), spec="C-8725-22"),
    Case("hdr-cty-jwt-lower", JOSE, MALFORMED, token=Tok(header={"cty": "jwt"}), spec="C-8725-22"),
    Case("hdr-cty-application-jwt", JOSE, MALFORMED, token=Tok(header={"cty": "application/JWT"}), spec="C-8725-22"),
)

# --- claims (RFC 9068 §2.2, §4; RFC 7519 §4.1) -------------------------------------------------
# The claims the core reads, with a value of the right type and the JSON types that value
# may have; every other JSON type is a wrong one. A wrong value is made to look tempting:
# the right value as a string, in an array, in an object.
CLAIM_TYPES: dict[str, tuple[Any, frozenset[str]]] = {
    "iss": (FX_ISS, frozenset({"string"})),
    "sub": ("user-123", frozenset({"string"})),
    "aud": (FX_AUD, frozenset({"string", "array"})),
    "client_id": ("client-abc", frozenset({"string"})),
    "jti": ("5b0c7bd4-2d4a-4f43-9f55-6a1f2c0e9b1e", frozenset({"string"})),
    "exp": (NOW_INT + 600, frozenset({"int", "float"})),
    "iat": (NOW_INT, frozenset({"int", "float"})),
    "nbf": (NOW_INT, frozenset({"int", "float"})),
    "scope": ("orders:read", frozenset({"string"})),
    "acr": ("urn:example:acr:mfa", frozenset({"string"})),
    "auth_time": (NOW_INT - 60, frozenset({"int", "float"})),
    "amr": (["pwd"], frozenset({"array"})),
}


def _wrong_values(claim: str) -> list[tuple[str, Any]]:
    good, right = CLAIM_TYPES[claim]
    number = good if isinstance(good, int) and not isinstance(good, bool) else 1
    candidates = {
        "null": None,
        "true": True,  # bool is not a number here, though Python's bool is an int
        "false": False,
        "int": number,
        "float": number + 0.5,
        "string": str(good) if not isinstance(good, list) else "pwd",
        "array": [good],
        "object": {claim: good},
    }
    return [(name, value) for name, value in candidates.items() if name not in right]


_CLAIM_ERROR = {"iss": "iss", "aud": "aud"}

add(
    *[
        Case(
            f"claim-{claim}-{type_name}",
            CLAIMS,
            E401(_CLAIM_ERROR.get(claim, "claims")),
            token=Tok(claims={claim: value}),
            spec="C-9068-19",
        )
        for claim in CLAIM_TYPES
        for type_name, value in _wrong_values(claim)
    ],
    *[
        Case(
            f"claim-{claim}-missing", CLAIMS, E401(_CLAIM_ERROR.get(claim, "claims")), token=Tok(claims={claim: ABSENT})
        )
        for claim in ("iss", "aud", "exp", "iat", "sub", "client_id", "jti")
    ],
    # aud edge cases (exact comparison, RFC 7519 §4.1.3)
    *[
        Case(f"aud-{name}", CLAIMS, E401("aud"), token=Tok(claims={"aud": aud}), spec="C-9068-10")
        for name, aud in (
            ("empty-list", []),
            ("empty-string", ""),
            ("trailing-slash", FX_AUD + "/"),
            ("uppercase", FX_AUD.upper()),
            ("trailing-space", FX_AUD + " "),
            ("suffix-domain", "https://rs.example.com.evil.example"),
            ("other", "https://other.example.com"),
            ("list-with-number", [FX_AUD, 1]),
            ("nested-list", [[FX_AUD]]),
            ("comma-joined", FX_AUD + ",https://other.example.com"),
            ("http-scheme", "http://rs.example.com"),
        )
    ],
    # iss variants that differ only in spelling (exact match, RFC 8414 §3.3)
    *[
        Case(f"iss-{name}", CLAIMS, E401("iss"), token=Tok(claims={"iss": iss}), spec="C-9068-08")
        for name, iss in (
            ("uppercase-host", "https://AS.example.com"),
            ("uppercase-scheme", "HTTPS://as.example.com"),
            ("trailing-slash", FX_ISS + "/"),
            ("default-port", "https://as.example.com:443"),
            ("other-port", "https://as.example.com:8443"),
            ("empty-fragment", FX_ISS + "#"),
            ("fragment", FX_ISS + "#frag"),
            ("query", FX_ISS + "?x=1"),
            ("http", "http://as.example.com"),
            ("leading-space", " " + FX_ISS),
            ("trailing-space", FX_ISS + " "),
            ("trailing-dot-host", "https://as.example.com."),
            ("zero-width-space", FX_ISS + "\u200b"),
            ("nul-suffix", FX_ISS + "\u0000"),
            ("userinfo", "https://as.example.com@evil.example"),
            ("untrusted-second-issuer", FX_ISS2),
        )
    ],
    # time claims (RFC 7519 §4.1.4/5/6, leeway 60 s, choices A-09, A-10)
    Case("time-exp-past", CLAIMS, E401("expired"), token=Tok(claims={"exp": NOW_INT - 61}), spec="C-6750-10"),
    Case(
        "time-exp-at-leeway-edge",
        CLAIMS,
        E401("expired"),
        token=Tok(claims={"exp": NOW_INT - 60}),
        why='"on or after" exp + leeway (choice A-09)',
    ),
    Case(
        "time-exp-now-leeway-0",
        CLAIMS,
        E401("expired"),
        token=Tok(claims={"exp": NOW_INT}),
        settings={"JWT_AT_LEEWAY": 0},
        spec="C-9068-20",
    ),
    Case("time-exp-zero", CLAIMS, E401("expired"), token=Tok(claims={"exp": 0})),
    Case("time-exp-negative", CLAIMS, E401("expired"), token=Tok(claims={"exp": -1})),
    Case("time-exp-huge-float", CLAIMS, E401("claims"), token=Tok(claims={"exp": 1e300}), why="not a plausible date"),
    Case("time-exp-huge-negative", CLAIMS, E401("claims"), token=Tok(claims={"exp": -1e300})),
    Case("time-exp-huge-int", CLAIMS, E401("claims"), token=Tok(claims={"exp": 10**30})),
    Case("time-nbf-future", CLAIMS, E401("nbf"), token=Tok(claims={"nbf": NOW_INT + 61}), spec="C-9068-21"),
    Case(
        "time-nbf-future-leeway-0",
        CLAIMS,
        E401("nbf"),
        token=Tok(claims={"nbf": NOW_INT + 1}),
        settings={"JWT_AT_LEEWAY": 0},
    ),
    Case("time-nbf-huge", CLAIMS, E401("claims"), token=Tok(claims={"nbf": 1e300})),
    Case("time-iat-future", CLAIMS, E401("iat"), token=Tok(claims={"iat": NOW_INT + 61}), spec="C-9068-22"),
    Case(
        "time-iat-future-leeway-0",
        CLAIMS,
        E401("iat"),
        token=Tok(claims={"iat": NOW_INT + 1}),
        settings={"JWT_AT_LEEWAY": 0},
    ),
    Case("time-iat-huge", CLAIMS, E401("claims"), token=Tok(claims={"iat": 1e300})),
    Case("time-iat-huge-negative", CLAIMS, E401("claims"), token=Tok(claims={"iat": -1e300})),
    # issuer/key binding (RFC 8725 §3.8, C-8725-24)
    Case(
        "bind-iss2-token-signed-by-iss-key",
        CLAIMS,
        SIGNATURE,
        token=Tok(claims={"iss": FX_ISS2}),
        iss2=True,
        spec="C-8725-24",
    ),
    Case(
        "bind-iss-token-signed-by-iss2-key",
        CLAIMS,
        SIGNATURE,
        token=Tok(key="as2-1"),
        iss2=True,
        spec="C-8725-24",
    ),
    Case(
        "bind-untrusted-iss-attacker-key",
        CLAIMS,
        E401("iss"),
        token=Tok(key="KX", claims={"iss": "https://attacker.example"}),
    ),
)

# --- input limits (JWT_AT_MAX_TOKEN_SIZE / _HEADER_SIZE / _JSON_DEPTH, C-8725-25) ---------------
add(
    Case("limit-token-over-8192", LIMITS, MALFORMED, token=Tok(pad_to=8193), spec="C-8725-25"),
    Case("limit-token-64k", LIMITS, MALFORMED, authorization="Bearer " + "A" * 65_536, spec="C-8725-25"),
    Case("limit-token-64k-dots", LIMITS, MALFORMED, authorization="Bearer " + "eyJ." * 16_384, spec="C-8725-25"),
    Case("limit-token-1mib", LIMITS, MALFORMED, authorization="Bearer " + "A" * (1 << 20), spec="C-8725-25"),
    Case("limit-token-64k-signed", LIMITS, MALFORMED, token=Tok(pad_to=65_536), spec="C-8725-25"),
    Case("limit-header-over-1024", LIMITS, MALFORMED, token=Tok(header_pad_to=1025)),
    Case("limit-header-8000", LIMITS, MALFORMED, token=Tok(header_pad_to=8000)),
    Case("limit-segments-bomb", LIMITS, MALFORMED, authorization="Bearer " + "a." * 4000),
    Case(
        "limit-token-setting-256",
        LIMITS,
        MALFORMED,
        settings={"JWT_AT_MAX_TOKEN_SIZE": 256},
        why="T0 is longer than the lowest allowed JWT_AT_MAX_TOKEN_SIZE",
    ),
    Case(
        "limit-header-setting-64",
        LIMITS,
        MALFORMED,
        token=Tok(header_pad_to=65),
        settings={"JWT_AT_MAX_HEADER_SIZE": 64},
    ),
    Case(
        "limit-depth-setting-2",
        LIMITS,
        MALFORMED,
        token=Tok(claims={"a": {"b": [1]}}),
        settings={"JWT_AT_MAX_JSON_DEPTH": 2},
    ),
    Case(
        "limit-depth-setting-2-header",
        LIMITS,
        MALFORMED,
        token=Tok(header={"x": {"y": []}}),
        settings={"JWT_AT_MAX_JSON_DEPTH": 2},
    ),
)


def description(key: str) -> str:
    """The exact error_description of a description key."""
    return {**D, **EXTRA_DESCRIPTIONS}[key]


assert len({case.id for case in CASES}) == len(CASES), "case ids must be unique"
