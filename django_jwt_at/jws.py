"""Strict parsing of compact JWS access tokens (RFC 7515 §7.1, RFC 7519 §7.2, RFC 8725).

Nothing here is delegated to python-jose: it checks no ``typ``, accepts non-canonical
base64, and lets TypeError/OverflowError/RecursionError escape on crafted input. Every
failure is an :class:`~django_jwt_at.errors.InvalidToken` with a fixed description.
"""

from __future__ import annotations

import binascii
import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple, NoReturn

from .conf import AT_JWT, SUPPORTED_ALGORITHMS, InputLimits, media_type, on_config_change
from .errors import Description, InvalidToken

_HEADER_CACHE_SIZE = 1024
_AT_JWT_ONLY: frozenset[str | None] = frozenset({AT_JWT})
_NOT_A_TYPE = "\x00"  # stands for a typ that is not a string: never accepted

_B64URL_ALPHABET = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
# base64url to standard base64 (RFC 4648 §5 to §4), for the C decoder in binascii.
_TO_STANDARD = bytes.maketrans(b"-_", b"+/")
# The low bits a canonical encoding leaves zero in its last character (RFC 7515 §2,
# RFC 4648 §3.5): 4 bits when the length is 2 mod 4, 2 bits when it is 3 mod 4.
_UNUSED_BITS_MASK = {2: 0x0F, 3: 0x03}
_PADDING = {0: b"", 2: b"==", 3: b"="}


def _malformed() -> InvalidToken:
    return InvalidToken(Description.MALFORMED_TOKEN)


def b64url_decode(segment: str) -> bytes:
    """Decode canonical unpadded base64url; raise InvalidToken for anything else.

    One byte string has exactly one accepted encoding: no padding, no whitespace, no
    ``+``/``/``, and no set bits past the end of the data.
    """
    remainder = len(segment) % 4
    if remainder == 1 or not segment.isascii():
        raise _malformed()
    data = segment.encode("ascii")
    # Deleting every alphabet byte leaves nothing only when the segment is all alphabet:
    # binascii (below) would skip other bytes instead of refusing them.
    if data.translate(None, _B64URL_ALPHABET):
        raise _malformed()
    if remainder and _B64URL_ALPHABET.index(data[-1]) & _UNUSED_BITS_MASK[remainder]:
        raise _malformed()
    return binascii.a2b_base64(data.translate(_TO_STANDARD) + _PADDING[remainder])


def _unique_members(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):  # reject duplicate members (Design decisions: strict json)
        raise ValueError("duplicate member")
    return result


def _reject_constant(name: str) -> Any:
    raise ValueError("NaN and Infinity are not JSON")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):  # 1e400
        raise ValueError("number out of range")
    return value


_JSON_WHITESPACE = " \t\n\r"
_JSON = json.JSONDecoder(
    object_pairs_hook=_unique_members,
    parse_constant=_reject_constant,
    parse_float=_finite_float,
)


# On JSON text that parsed, every string is terminated, so this unrolled-loop pattern is
# linear (on arbitrary text, a string pattern can backtrack quadratically).
_JSON_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"')
_OBJECTS_AS_ARRAYS = bytes.maketrans(b"{}", b"[]")
_NOT_BRACKETS = bytes(b for b in range(128) if b not in b"[]{}")
_UNICODE_CHECK = json.JSONEncoder(ensure_ascii=False, check_circular=False)


def _nested_deeper_than(text: str, max_depth: int) -> bool:
    """Whether arrays and objects in the valid JSON ``text`` nest deeper than ``max_depth``.

    Strings are removed, then everything but brackets, and objects are written as arrays
    (the text is valid, so brackets pair up properly). One ``replace`` scan removes every
    innermost pair and nothing else, that is one level, so anything left after
    ``max_depth`` scans is deeper. A few C-level scans, whatever the shape of the text.
    """
    # Outside strings, JSON text is ASCII: structure, numbers, literals, whitespace.
    stripped = _JSON_STRING.sub("", text).encode("ascii")
    brackets = stripped.translate(_OBJECTS_AS_ARRAYS, _NOT_BRACKETS)
    for _ in range(max_depth):
        brackets = brackets.replace(b"[]", b"")
        if not brackets:
            return False
    return True


def decode_json_object(segment: str, max_depth: int) -> dict[str, Any]:
    """Decode a base64url segment holding a JSON object, as RFC 7519 §7.2 and RFC 8259 say:
    strict UTF-8 (RFC 8725 §3.7) without lone surrogate escapes, no duplicate members,
    finite numbers only, arrays and objects nested at most ``max_depth`` deep.

    The parser is linear and its own recursion bound raises RecursionError, which is
    caught. Only texts with a ``\\u`` escape are checked for lone surrogates, and only
    texts with more brackets than ``max_depth`` for depth, so ordinary tokens pay nothing.
    """
    raw = b64url_decode(segment)
    try:
        # RFC 8259 §2: whitespace may surround the value; raw_decode takes none before it
        # and reports where the value ended, which must be the end of the text.
        text = raw.decode("utf-8").strip(_JSON_WHITESPACE)
        value, end = _JSON.raw_decode(text)
        if end != len(text):
            raise ValueError("data after the JSON value")
        if "\\u" in text:
            # A lone surrogate (from an escape such as \\uD800) cannot be encoded as UTF-8
            # (RFC 8259 §8.2, RFC 7493 §2.1): UnicodeEncodeError is a ValueError.
            _UNICODE_CHECK.encode(value).encode("utf-8")
    except (ValueError, RecursionError):  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        raise _malformed() from None
    if not isinstance(value, dict):
        raise _malformed()
    if text.count("[") + text.count("{") > max_depth and _nested_deeper_than(text, max_depth):
        raise _malformed()
    return value


class ReadOnlyDict(dict):  # type: ignore[type-arg]
    """A ``dict`` whose mutating methods raise TypeError: a decoded JSON object that views
    may read, serialise (``json.dumps``), copy and pickle, but not change in place."""

    __slots__ = ()

    def _read_only(self, *args: object, **kwargs: object) -> NoReturn:
        raise TypeError("access token claims and headers are read-only")

    __setitem__ = __delitem__ = __ior__ = _read_only
    clear = pop = popitem = setdefault = update = _read_only

    def __reduce__(self) -> tuple[type[ReadOnlyDict], tuple[dict[str, Any]]]:
        return ReadOnlyDict, (dict(self),)

    def __copy__(self) -> ReadOnlyDict:
        return self

    def __deepcopy__(self, memo: object) -> ReadOnlyDict:
        return self


def frozen(value: Any) -> Any:
    """``value`` read-only all the way down: JSON objects become :class:`ReadOnlyDict` and
    arrays tuples. A validated token is shared by every request that presents it (the
    verified-token cache, the header cache), so no view may change what the next one sees."""
    kind = type(value)
    if kind is dict:
        return frozen_object(value)
    if kind is list:
        return tuple(frozen(item) for item in value)
    return value


def frozen_object(members: dict[str, Any]) -> ReadOnlyDict:
    """A read-only copy of a decoded JSON object, nested objects and arrays frozen too
    (:func:`frozen`)."""
    result = ReadOnlyDict(members)
    for name, value in members.items():
        kind = type(value)
        if kind is dict or kind is list:
            dict.__setitem__(result, name, frozen(value))
    return result


@dataclass(frozen=True)
class JoseHeader:
    """A protected header that passed every check that needs no key (RFC 9068 §4 step 1)."""

    alg: str
    kid: str | None
    typ: str | None  # normalised with media_type(); None when absent
    fields: Mapping[str, Any]


def parse_header(segment: str, limits: InputLimits, token_types: frozenset[str | None] = _AT_JWT_ONLY) -> JoseHeader:
    """Parse and check a protected header: typ, then alg, then crit and the rest (Design decisions: validation order).

    ``typ`` must be one of ``token_types`` (normalised with :func:`media_type`; None stands
    for no ``typ``): RFC 9068 §4 says ``at+jwt``, compared as a media type (Design decisions: typ,
    no parameters); issuer profiles may accept others, checked again per issuer.
    """
    if len(segment) > limits.max_header_size:
        raise _malformed()
    fields = decode_json_object(segment, limits.max_json_depth)
    typ = fields.get("typ")
    if typ is not None:
        typ = media_type(typ) if isinstance(typ, str) else _NOT_A_TYPE
    elif "typ" in fields:  # "typ": null is not "no typ"
        typ = _NOT_A_TYPE
    if typ not in token_types:
        raise InvalidToken(Description.TYP)
    alg = fields.get("alg")
    if not isinstance(alg, str) or alg not in SUPPORTED_ALGORITHMS:
        raise InvalidToken(Description.ALG)
    if "crit" in fields:
        # RFC 7515 §4.1.11: we understand no extension, so any crit makes the JWS invalid.
        raise InvalidToken(Description.CRIT)
    kid = fields.get("kid")
    cty = fields.get("cty")
    if (
        ("kid" in fields and not isinstance(kid, str))  # "kid": null is not "no kid"
        or "zip" in fields  # JWE only (RFC 7516 §4.1.3)
        or "enc" in fields
        # Nested JWTs are refused (Design decisions: encrypted tokens, RFC 8725 §3.3)
        or (isinstance(cty, str) and cty.lower() in ("jwt", "application/jwt"))
    ):
        raise _malformed()
    return JoseHeader(alg=alg, kid=kid, typ=typ, fields=frozen_object(fields))


_header_cache: dict[str, JoseHeader] = {}


def cached_header(segment: str, limits: InputLimits, token_types: frozenset[str | None] = _AT_JWT_ONLY) -> JoseHeader:
    """:func:`parse_header` memoised by segment: every token signed with one key repeats it.

    Only valid headers are kept, and the cache is bounded (emptied when full) and emptied
    when settings change (the limits may have).
    """
    header = _header_cache.get(segment)
    if header is None or header.typ not in token_types:  # checked for other token types
        header = parse_header(segment, limits, token_types)
        if len(_header_cache) >= _HEADER_CACHE_SIZE:
            _header_cache.clear()
        _header_cache[segment] = header
    return header


class CompactJWS(NamedTuple):
    """A structurally valid, not yet verified, compact JWS."""

    header: JoseHeader
    claims: dict[str, Any]
    signing_input: bytes
    signature: bytes


def parse_compact(token: str, limits: InputLimits, token_types: frozenset[str | None] = _AT_JWT_ONLY) -> CompactJWS:
    """Split and decode a compact JWS; no key or network is involved.

    JWE (five segments) is refused with its own description (Design decisions: encrypted tokens); the JSON
    serialization and any other segment count are malformed (RFC 7515 §7.1, 8725bis).
    ``limits`` are checked before anything is decoded.
    """
    if len(token) > limits.max_token_size:
        raise _malformed()
    dots = token.count(".")
    if dots == 4:
        raise InvalidToken(Description.ENCRYPTED)
    if dots != 2:
        raise _malformed()
    header_segment, payload_segment, signature_segment = token.split(".")
    header = cached_header(header_segment, limits, token_types)
    claims = decode_json_object(payload_segment, limits.max_json_depth)
    signature = b64url_decode(signature_segment)
    signing_input = token[: len(header_segment) + 1 + len(payload_segment)].encode("ascii")
    return CompactJWS(header, claims, signing_input, signature)


on_config_change(_header_cache.clear)
