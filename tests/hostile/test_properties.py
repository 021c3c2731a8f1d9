"""Property-based tests (hypothesis) of the validation core, called directly (no HTTP).

(a) Any mutation of a valid token that changes its bytes is rejected: a flipped, inserted or
    deleted character anywhere, segments swapped, a segment re-encoded non-canonically.
(b) ``bearer_token_from_header``, ``parse_compact`` and ``validate_access_token`` raise only
    the package's own errors (``ProtocolError`` subclasses) for arbitrary text (and bytes, as
    WSGI hands them over: decoded as latin-1, or as UTF-8 with surrogate escapes).

The key set is warm and static: the FX keys loaded once with ``django_jwt_at.keys.load_jwk``
into a stand-in for the key-set registry, so no example touches the network and a mutated
``kid`` costs no refresh. Example counts come from the profile (tests/hostile/conftest.py):
``HYPOTHESIS_PROFILE=ci`` runs 10,000 per property.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Sequence
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from django_jwt_at.bearer import _LONGEST_VALUE, bearer_token_from_header
from django_jwt_at.conf import Config, get_config
from django_jwt_at.errors import Description, InvalidRequest, InvalidToken, ProtocolError
from django_jwt_at.jws import CompactJWS, parse_compact
from django_jwt_at.keys import VerificationKey, load_jwk
from django_jwt_at.tokens import AccessToken
from django_jwt_at.validation import validate_access_token

from .. import signing
from ..conftest import NOW, fx_jwks, t0_claims
from ..helpers import FX_AUD, FX_ISS

B64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


class WarmKeySets:
    """Stands in for ``django_jwt_at.jwks.KeySetRegistry`` (its ``find``): the FX keys,
    prepared once, looked up by (kid, alg) or by alg alone; never fetches."""

    def __init__(self, jwks: dict, algorithms: Sequence[str]) -> None:
        self.index: dict[tuple[str | None, str], list[VerificationKey]] = {}
        for jwk in jwks["keys"]:
            for key in load_jwk(jwk, algorithms):
                self.index.setdefault((key.kid, key.alg), []).append(key)
                self.index.setdefault((None, key.alg), []).append(key)

    def find(self, issuer: Any, kid: str | None, alg: str, config: Config) -> tuple[VerificationKey, ...]:
        return tuple(self.index.get((kid, alg), ()))


class Core:
    """The three entry points with the FX configuration, a fixed clock and warm keys."""

    def __init__(self, keys: dict[str, signing.SigningKey]) -> None:
        self.config = get_config()
        self.key_sets = WarmKeySets(fx_jwks(keys), sorted(self.config.algorithms))
        self.keys = keys
        self.tokens = [
            signing.sign_compact({"typ": "at+jwt", "alg": alg, "kid": kid}, t0_claims(NOW), keys[kid], alg=alg)
            for kid, alg in (("rsa-1", "RS256"), ("ps-1", "PS256"), ("ec-1", "ES256"))
        ]

    def validate(self, token: str) -> AccessToken:
        return validate_access_token(token, config=self.config, key_sets=self.key_sets, now=NOW)  # type: ignore[arg-type]

    def request(self, authorization: str) -> AccessToken | None:
        """What the adapter does with an Authorization value; None: no credentials of ours."""
        token = bearer_token_from_header(authorization)
        return None if token is None else self.validate(token)


@pytest.fixture
def core(keys: dict[str, signing.SigningKey]) -> Core:
    core = Core(keys)
    for token in core.tokens:  # control: the unmutated tokens are valid
        assert core.request(f"Bearer {token}").subject == "user-123"
    return core


def profile_examples() -> int:
    return hsettings.default.max_examples


#: The (b) properties run at most this many examples (the profile's count when lower), so
#: the ci profile's 10,000 go to the mutation property and the whole run stays short.
ROBUSTNESS_EXAMPLES = 3000


def robustness_settings() -> hsettings:
    return hsettings(max_examples=min(profile_examples(), ROBUSTNESS_EXAMPLES))


# ---------------------------------------------------------------------------------------
# (a) mutations
# ---------------------------------------------------------------------------------------

# Characters a mutation writes: base64url and its near misses, separators, whitespace,
# controls, non-ASCII, and now and then anything.
MUTATION_CHARS = st.one_of(
    st.sampled_from(B64URL + ".=+/%~ \t\r\n\x00,;\"'{}"),
    st.sampled_from("\u00a0\u00e9\u00fc\u2028\u3000\ufeff\U0001f600"),
    st.characters(),
)


def _decode(segment: str) -> bytes:
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


@st.composite
def reencoded(draw: Any, token: str) -> str:
    """The token with one segment's encoding changed but (where possible) not its bytes."""
    segments = token.split(".")
    index = draw(st.integers(0, 2))
    segment = segments[index]
    how = draw(st.sampled_from(["pad", "standard-alphabet", "unused-bits", "whitespace", "percent", "line-break"]))
    if how == "standard-alphabet" and ("-" in segment or "_" in segment):
        changed = segment.replace("-", "+").replace("_", "/")
    elif how == "unused-bits" and len(segment) % 4 in (2, 3):
        mask = 0x0F if len(segment) % 4 == 2 else 0x03
        low = draw(st.integers(1, mask))
        changed = segment[:-1] + B64URL[B64URL.index(segment[-1]) | low]
        if changed == segment:
            changed = segment[:-1] + B64URL[B64URL.index(segment[-1]) ^ low]
    elif how in ("whitespace", "line-break"):
        at = draw(st.integers(0, len(segment)))
        changed = (
            segment[:at] + draw(st.sampled_from([" ", "\t"] if how == "whitespace" else ["\n", "\r\n"])) + segment[at:]
        )
    elif how == "percent":
        at = draw(st.integers(0, len(segment) - 1))
        changed = segment[:at] + f"%{ord(segment[at]):02X}" + segment[at + 1 :]
    else:
        changed = segment + draw(st.sampled_from(["=", "==", "==="]))
    if how == "unused-bits" and len(segment) % 4 in (2, 3):
        assert _decode(changed) == _decode(segment)  # same bytes, another encoding
    segments[index] = changed
    return ".".join(segments)


@st.composite
def mutated(draw: Any, token: str) -> str:
    kind = draw(st.sampled_from(["flip", "insert", "delete", "swap-segments", "re-encode"]))
    if kind == "flip":
        at = draw(st.integers(0, len(token) - 1))
        char = draw(MUTATION_CHARS.filter(lambda c: c != token[at]))
        result = token[:at] + char + token[at + 1 :]
    elif kind == "insert":
        at = draw(st.integers(0, len(token)))
        result = token[:at] + draw(MUTATION_CHARS) + token[at:]
    elif kind == "delete":
        at = draw(st.integers(0, len(token) - 1))
        result = token[:at] + token[at + draw(st.integers(1, 3)) :]
    elif kind == "swap-segments":
        order = draw(st.permutations([0, 1, 2]).filter(lambda p: p != [0, 1, 2]))
        segments = token.split(".")
        result = ".".join(segments[i] for i in order)
    else:
        result = draw(reencoded(token))
    assert result != token
    return result


def assert_rejected(core: Core, token: str, original: str) -> None:
    """Through the header and the core: a ProtocolError or no credentials, never a token."""
    # "Bearer" 1*SP b64token: spaces put in front of the token only widen the separator
    # (C-6750-04), they do not change the token.
    if token.lstrip(" ") != original:
        try:
            accepted = core.request(f"Bearer {token}")
        except ProtocolError:
            accepted = None
        assert accepted is None, f"mutated token accepted: {token!r}"
    # And straight into the core, past the b64token check of the header.
    with pytest.raises(ProtocolError):
        core.validate(token)


def test_any_mutation_of_a_valid_token_is_rejected(core: Core) -> None:
    examples = 0

    @given(data=st.data())
    def mutation_is_rejected(data: Any) -> None:
        nonlocal examples
        examples += 1
        token = data.draw(st.sampled_from(core.tokens), label="token")
        assert_rejected(core, data.draw(mutated(token), label="mutated"), token)

    mutation_is_rejected()
    assert examples >= profile_examples()


@pytest.mark.parametrize(
    "edit",
    [
        lambda t: t + "=",
        lambda t: t.replace("-", "+").replace("_", "/"),
        lambda t: ".".join(reversed(t.split("."))),
        lambda t: t[:-1],
        lambda t: t[:20] + t[21:],
    ],
    ids=["pad", "standard-alphabet", "reversed-segments", "last-char-deleted", "char-deleted"],
)
def test_fixed_mutations_are_rejected(core: Core, edit: Any) -> None:
    """A few mutations run every time, whatever the profile draws."""
    for token in core.tokens:
        changed = edit(token)
        if changed != token:
            assert_rejected(core, changed, token)


# ---------------------------------------------------------------------------------------
# (b) arbitrary input raises only the package's errors
# ---------------------------------------------------------------------------------------

_json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**20), max_value=10**20),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=20),
    st.sampled_from([FX_ISS, FX_AUD, "at+jwt", "RS256", "ES256", "rsa-1", "ec-1", int(NOW), int(NOW) + 600]),
    st.sampled_from(["\ud800", "a\udfffb", "\U0001f600"]),  # lone surrogates: not Unicode text
)
JSON_VALUES = st.recursive(
    _json_scalars,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=6), children, max_size=3),
    max_leaves=6,
)
JSON_LITERALS = st.sampled_from(
    ["NaN", "Infinity", "-Infinity", "1e400", "-1e400", "1" + "0" * 5000, "[" * 40, '{"a":1,"a":2}', '"\\ud800"']
)


def _json_text(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


@st.composite
def json_object_bytes(draw: Any) -> bytes:
    """A JSON object's bytes, sometimes broken: odd literals, other encodings, truncation."""
    members = draw(st.dictionaries(st.text(max_size=8), JSON_VALUES, max_size=4))
    text = _json_text(members)
    if draw(st.booleans()):
        literal = draw(JSON_LITERALS)
        text = "{" + ('"x":' + literal + ("," if len(text) > 2 else "")) + text[1:]
    encoding = draw(st.sampled_from(["utf-8", "utf-8", "utf-8", "utf-16-le", "utf-32", "utf-8-sig"]))
    data = text.encode(encoding, "surrogatepass")
    if draw(st.integers(0, 9)) == 0:
        data = data[: draw(st.integers(0, len(data)))]
    return data


SEGMENTS = st.one_of(
    st.text(alphabet=B64URL, max_size=80),
    st.binary(max_size=60).map(signing.b64url),
    json_object_bytes().map(signing.b64url),
    st.text(max_size=20),
)
TOKEN_TEXT = st.one_of(
    st.text(max_size=300),
    st.binary(max_size=300).map(lambda b: b.decode("latin-1")),
    st.binary(max_size=300).map(lambda b: b.decode("utf-8", "surrogateescape")),
    st.lists(SEGMENTS, min_size=1, max_size=6).map(".".join),
    st.lists(SEGMENTS, min_size=3, max_size=3).map(".".join),
)
AUTHORIZATION = st.one_of(
    st.text(max_size=200),
    st.binary(max_size=200).map(lambda b: b.decode("latin-1")),
    st.tuples(
        st.sampled_from(["Bearer", "bearer", "BEARER", "Basic", "DPoP", "Bearer:", "B\u0435arer", ""]),
        st.sampled_from([" ", "  ", "\t", "", "\u00a0", " \r\n "]),
        TOKEN_TEXT,
        st.sampled_from(["", " ", ",", ", Bearer x", "\r\n", "\x00", " extra"]),
    ).map("".join),
)


def test_bearer_token_from_header_raises_only_protocol_errors() -> None:
    @robustness_settings()
    @given(value=st.one_of(st.none(), AUTHORIZATION))
    @example(value="Bearer " + "A" * (_LONGEST_VALUE + 1))  # longer than any token can be
    def only_protocol_errors(value: str | None) -> None:
        try:
            token = bearer_token_from_header(value)
        except InvalidRequest:
            return
        except InvalidToken as error:
            # A value longer than any token can be is refused from its scheme alone.
            assert value is not None and len(value) > _LONGEST_VALUE, error
            assert error.description is Description.MALFORMED_TOKEN
            return
        except ProtocolError as error:  # pragma: no cover - nothing else comes from the header
            pytest.fail(f"unexpected {error!r}")
        if token is not None:  # RFC 6750 §2.1 b64token
            assert re.fullmatch(r"[A-Za-z0-9\-._~+/]+=*", token), token

    only_protocol_errors()


def test_parse_compact_raises_only_protocol_errors(core: Core) -> None:
    @robustness_settings()
    @given(token=TOKEN_TEXT)
    def only_protocol_errors(token: str) -> None:
        try:
            parsed = parse_compact(token, core.config.limits)
        except ProtocolError:
            return
        assert isinstance(parsed, CompactJWS)
        assert isinstance(parsed.claims, dict)

    only_protocol_errors()


def test_validate_access_token_raises_only_protocol_errors_for_arbitrary_text(core: Core) -> None:
    @robustness_settings()
    @given(token=TOKEN_TEXT)
    def only_protocol_errors(token: str) -> None:
        with pytest.raises(ProtocolError):  # nothing unsigned can be valid
            core.validate(token)

    only_protocol_errors()


HEADERS = st.fixed_dictionaries(
    {},
    optional={
        "typ": st.one_of(st.sampled_from(["at+jwt", "application/at+jwt", "JWT"]), _json_scalars),
        "alg": st.one_of(st.sampled_from(["ES256", "RS256", "none", "HS256"]), _json_scalars),
        "kid": st.one_of(st.sampled_from(["ec-1", "rsa-1", ""]), _json_scalars),
        "crit": _json_scalars,
        "cty": st.one_of(st.just("JWT"), _json_scalars),
        "jku": st.just("https://attacker.example/jwks"),
        "x": JSON_VALUES,
    },
)
CLAIMS = st.dictionaries(
    st.sampled_from(
        ["iss", "aud", "exp", "nbf", "iat", "sub", "client_id", "jti", "scope", "acr", "auth_time", "amr", "x"]
    ),
    JSON_VALUES,
    max_size=4,
)


def test_validate_access_token_raises_only_protocol_errors_for_signed_json(core: Core) -> None:
    """Validly signed (ES256, ec-1) headers and claims of arbitrary JSON: the checks behind
    the signature see hostile values too. Accepted tokens must meet the RFC 9068 rules."""
    ec1 = core.keys["ec-1"]

    @robustness_settings()
    @given(
        header=HEADERS,
        claims=CLAIMS,
        drop=st.lists(st.sampled_from(["iss", "aud", "exp", "iat", "sub", "client_id", "jti"]), max_size=2),
        raw_payload=st.one_of(st.none(), json_object_bytes()),
    )
    def only_protocol_errors(header: dict, claims: dict, drop: list[str], raw_payload: bytes | None) -> None:
        full_header = {"typ": "at+jwt", "alg": "ES256", "kid": "ec-1", **header}
        body = raw_payload
        if body is None:  # ASCII JSON: a lone surrogate travels as a \\uXXXX escape
            body = json.dumps({k: v for k, v in {**t0_claims(NOW), **claims}.items() if k not in drop}).encode()
        token = signing.sign_compact(json.dumps(full_header).encode(), body, ec1, alg="ES256")
        try:
            accepted = core.validate(token)
        except ProtocolError:
            return
        values = accepted.claims
        assert values["iss"] == FX_ISS
        assert FX_AUD in ([values["aud"]] if isinstance(values["aud"], str) else values["aud"])
        assert NOW < accepted.expires_at + core.config.leeway
        assert accepted.issued_at <= NOW + core.config.leeway
        assert all(isinstance(values[name], str) for name in ("sub", "client_id", "jti"))
        # RFC 8725 §3.7, RFC 7493 §2.1: what the application gets is Unicode text throughout.
        json.dumps(dict(values), ensure_ascii=False).encode("utf-8")
        json.dumps(dict(accepted.header), ensure_ascii=False).encode("utf-8")

    only_protocol_errors()
