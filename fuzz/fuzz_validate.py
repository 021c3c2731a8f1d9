"""Coverage-guided fuzz target (atheris / libFuzzer) for the token-validation core.

Fuzzes ``bearer_token_from_header`` + ``parse_compact`` + ``validate_access_token`` with one
trusted issuer whose key set is served by a tiny http.server on 127.0.0.1 in this process
and loaded before fuzzing starts; the clock is fixed and the key-set lifetime and refresh
cooldown are at their maximum, so after warm-up no input causes network I/O. Independent of
pytest and of the test suite's fixtures.

The first byte of an input selects a mode (ASCII ``0``/``1``/``2`` in the seed corpus):

- ``0``: the rest, decoded as latin-1 (what WSGI hands over), is the ``Authorization`` value;
- ``1``: the rest, decoded as latin-1, is the token given straight to ``parse_compact`` and
  ``validate_access_token`` (skipping the b64token check of the header, so any text reaches
  the parser; both must refuse it alike);
- ``2``: the rest is ``<header JSON bytes>\\n<claims JSON bytes>``, base64url-encoded and
  validly signed in process with the issuer's ES256 key, so the fuzzer reaches the JSON
  parser and every claim check behind the signature.

Crashes (libFuzzer stops and writes the input to the artifact prefix):

- any exception that is not a ``django_jwt_at.errors.ProtocolError``;
- in modes 0 and 1, accepting a token that is not one of the tokens this harness minted
  (nothing else carries a valid signature: acceptance means a forgery got through);
- in mode 2, accepting claims that an independent strict reading rejects (duplicate
  members, wrong issuer or audience, expired, from the future, wrong types).

Usage: ``make fuzz [FUZZ_SECONDS=60]``, or ``python fuzz/fuzz_validate.py [libFuzzer
options] WORK_CORPUS_DIR fuzz/corpus``. ``python fuzz/fuzz_validate.py --write-corpus DIR``
(re)writes the seed corpus. The keys are derived from fixed seeds (test-only keys, never
secret), so the seed tokens stay valid from run to run.
"""

from __future__ import annotations

import base64
import json
import math
import random
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the package, without installing

ISSUER = "https://as.example.com"
AUDIENCE = "https://rs.example.com"
NOW = 1_900_000_000  # the fixed clock (2030-03-17)
LEEWAY = 60

# --- deterministic test keys -----------------------------------------------------------------


_SMALL_PRIMES = [p for p in range(3, 5000, 2) if all(p % d for d in range(3, int(p**0.5) + 1, 2))]
_PRIMORIAL = math.prod(_SMALL_PRIMES)


def _is_probable_prime(n: int, rng: random.Random) -> bool:
    """Miller-Rabin for the large odd candidates of :func:`_prime`."""
    if math.gcd(n, _PRIMORIAL) != 1:
        return False
    d, r = n - 1, 0
    while d % 2 == 0:
        d, r = d // 2, r + 1
    for _ in range(40):
        x = pow(rng.randrange(2, n - 1), d, n)
        if x in (1, n - 1):
            continue
        for _ in range(r - 1):
            x = pow(x, 2, n)
            if x == n - 1:
                break
        else:
            return False
    return True


def _prime(rng: random.Random, bits: int) -> int:
    candidate = rng.getrandbits(bits) | (3 << (bits - 2)) | 1  # top two bits: n has 2 * bits bits
    while not _is_probable_prime(candidate, rng) or candidate % 65537 == 1:
        candidate += 2
    return candidate


def deterministic_rsa(seed: str, bits: int = 2048) -> rsa.RSAPrivateKey:
    """An RSA key derived from ``seed`` (a test fixture, not a secret)."""
    rng = random.Random(seed)  # noqa: S311  (deterministic on purpose)
    e = 65537
    p = _prime(rng, bits // 2)
    q = _prime(rng, bits // 2)
    while q == p:
        q = _prime(rng, bits // 2)
    d = pow(e, -1, (p - 1) * (q - 1))
    numbers = rsa.RSAPrivateNumbers(
        p=p,
        q=q,
        d=d,
        dmp1=d % (p - 1),
        dmq1=d % (q - 1),
        iqmp=pow(q, -1, p),
        public_numbers=rsa.RSAPublicNumbers(e, p * q),
    )
    return numbers.private_key()


def deterministic_ec(seed: str) -> ec.EllipticCurvePrivateKey:
    scalar = int.from_bytes(seed.encode().ljust(32, b"\x01")[:32], "big") % (2**255) + 1
    return ec.derive_private_key(scalar, ec.SECP256R1())


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _int_b64(value: int, length: int | None = None) -> str:
    return b64url(value.to_bytes(length or (value.bit_length() + 7) // 8, "big"))


class Keys:
    """rsa-1 (RS256), ps-1 (PS256), ec-1 (ES256): the issuer's published keys."""

    def __init__(self) -> None:
        self.rsa = deterministic_rsa("django-jwt-at fuzz rsa-1")
        self.ps = deterministic_rsa("django-jwt-at fuzz ps-1")
        self.ec = deterministic_ec("django-jwt-at fuzz ec-1")

    def jwks(self) -> dict[str, Any]:
        keys = []
        for kid, alg, key in (("rsa-1", "RS256", self.rsa), ("ps-1", "PS256", self.ps)):
            n = key.public_key().public_numbers()
            keys.append({"kty": "RSA", "kid": kid, "alg": alg, "use": "sig", "n": _int_b64(n.n), "e": _int_b64(n.e)})
        n = self.ec.public_key().public_numbers()
        keys.append(
            {
                "kty": "EC",
                "kid": "ec-1",
                "alg": "ES256",
                "use": "sig",
                "crv": "P-256",
                "x": _int_b64(n.x, 32),
                "y": _int_b64(n.y, 32),
            }
        )
        return {"keys": keys}

    def sign(self, alg: str, signing_input: bytes) -> bytes:
        if alg == "RS256":
            return self.rsa.sign(signing_input, padding.PKCS1v15(), hashes.SHA256())
        if alg == "PS256":
            pss = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32)
            return self.ps.sign(signing_input, pss, hashes.SHA256())
        r, s = decode_dss_signature(self.ec.sign(signing_input, ec.ECDSA(hashes.SHA256())))
        return r.to_bytes(32, "big") + s.to_bytes(32, "big")

    def compact(self, header: bytes, payload: bytes, alg: str) -> str:
        signing_input = f"{b64url(header)}.{b64url(payload)}"
        return f"{signing_input}.{b64url(self.sign(alg, signing_input.encode('ascii')))}"


def t0_claims(**overrides: Any) -> dict[str, Any]:
    claims: dict[str, Any] = {
        "iss": ISSUER,
        "sub": "user-123",
        "aud": AUDIENCE,
        "client_id": "client-abc",
        "iat": NOW,
        "exp": NOW + 600,
        "jti": "6f1c1f1e-0d7a-4b7e-9a53-3f3c2b8f0d11",
        "scope": "orders:read orders:write payments:write",
        "auth_time": NOW - 60,
        "acr": "urn:example:acr:mfa",
        "roles": ["admin"],
    }
    claims.update(overrides)
    return claims


def _json(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


def seeds(keys: Keys) -> dict[str, bytes]:
    """The seed corpus: valid and invalid inputs of every mode."""

    def header(alg: str, kid: str, **extra: Any) -> bytes:
        return _json({"typ": "at+jwt", "alg": alg, "kid": kid, **extra})

    t_rs = keys.compact(header("RS256", "rsa-1"), _json(t0_claims()), "RS256")
    t_ps = keys.compact(header("PS256", "ps-1"), _json(t0_claims()), "PS256")
    t_es = keys.compact(header("ES256", "ec-1"), _json(t0_claims()), "ES256")
    expired = keys.compact(header("RS256", "rsa-1"), _json(t0_claims(exp=NOW - 120)), "RS256")
    wrong_aud = keys.compact(header("ES256", "ec-1"), _json(t0_claims(aud=["https://other.example"])), "ES256")
    h, p, s = t_rs.split(".")
    alg_none = f"{b64url(_json({'typ': 'at+jwt', 'alg': 'none'}))}.{p}."
    return {
        "valid-rs256-header": b"0Bearer " + t_rs.encode(),
        "valid-ps256-header": b"0bearer " + t_ps.encode(),
        "valid-es256-header": b"0BEARER  " + t_es.encode(),
        "expired-header": b"0Bearer " + expired.encode(),
        "wrong-aud-header": b"0Bearer " + wrong_aud.encode(),
        "alg-none-header": b"0Bearer " + alg_none.encode(),
        "two-credentials-header": b"0Bearer " + t_rs.encode() + b", Bearer " + t_rs.encode(),
        "tab-header": b"0Bearer\t" + t_rs.encode(),
        "basic-header": b"0Basic dXNlcjpwYXNz",
        "jwe-header": b"0Bearer " + ".".join([h, "", p, "iv", s]).encode(),
        "valid-rs256-raw": b"1" + t_rs.encode(),
        "padded-raw": b"1" + f"{h}==.{p}.{s}".encode(),
        "std-alphabet-raw": b"1" + t_es.replace("-", "+").replace("_", "/").encode(),
        "valid-claims-signed": b"2" + header("ES256", "ec-1") + b"\n" + _json(t0_claims()),
        "nested-claims-signed": b"2" + header("ES256", "ec-1") + b"\n" + _json(t0_claims(x=[[[{"a": [1]}]]])),
        "duplicate-aud-signed": b"2"
        + header("ES256", "ec-1")
        + b'\n{"aud":"https://other.example",'
        + _json(t0_claims())[1:],
        "crit-signed": b"2" + header("ES256", "ec-1", crit=["exp"]) + b"\n" + _json(t0_claims()),
        "nan-exp-signed": b"2" + header("ES256", "ec-1") + b'\n{"exp":NaN,"iss":"' + ISSUER.encode() + b'"}',
        "lone-surrogate-signed": b"2"
        + header("ES256", "ec-1")
        + b'\n{"sub":"\\ud800",'
        + _json({k: v for k, v in t0_claims().items() if k != "sub"})[1:],
    }


# --- the loopback key-set server -------------------------------------------------------------


class _Handler(BaseHTTPRequestHandler):
    body = b""
    hits = 0

    def do_GET(self) -> None:
        type(self).hits += 1
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Cache-Control", "max-age=604800")
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


def serve_jwks(jwks: dict[str, Any]) -> str:
    _Handler.body = json.dumps(jwks).encode()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True, name="jwks").start()
    return f"http://127.0.0.1:{server.server_address[1]}/jwks"


def configure_django(jwks_uri: str) -> None:
    import django
    from django.conf import settings

    week = 7 * 86400
    settings.configure(
        INSTALLED_APPS=[],
        CACHES={"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "fuzz"}},
        JWT_AT_ISSUERS={
            ISSUER: {"AUDIENCE": AUDIENCE, "JWKS_URI": jwks_uri, "ALGORITHMS": ["RS256", "PS256", "ES256"]},
        },
        JWT_AT_LEEWAY=LEEWAY,
        JWT_AT_JWKS_MIN_TTL=week,
        JWT_AT_JWKS_DEFAULT_TTL=week,
        JWT_AT_JWKS_MAX_TTL=week,
        JWT_AT_JWKS_REFRESH_COOLDOWN=86400,
        JWT_AT_TOKEN_CACHE_SIZE=0,
    )
    django.setup()


# --- the independent oracle of mode 2 --------------------------------------------------------


def _strict_object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):
        raise AssertionError("accepted a JSON object with duplicate members")
    return result


def _assert_unicode(value: Any) -> None:
    """Every name and string is Unicode text (no lone surrogate from a \\u escape: RFC 8259
    §8.2, RFC 7493 §2.1): what the application gets must survive UTF-8 encoding."""
    json.dumps(value, ensure_ascii=False).encode("utf-8")


def _check_accepted_claims(payload: bytes) -> None:
    """Raise AssertionError when claims the library accepted are not acceptable."""

    def no_constant(name: str) -> Any:
        raise AssertionError(f"accepted the non-JSON literal {name}")

    claims = json.loads(payload.decode("utf-8"), object_pairs_hook=_strict_object, parse_constant=no_constant)
    assert isinstance(claims, dict), "accepted claims that are not an object"
    _assert_unicode(claims)
    assert claims.get("iss") == ISSUER, "accepted another issuer"
    aud = claims.get("aud")
    auds = [aud] if isinstance(aud, str) else aud
    assert isinstance(auds, list) and all(isinstance(a, str) for a in auds), "accepted a malformed aud"
    assert AUDIENCE in auds, "accepted another audience"

    def number(name: str) -> float | None:
        value = claims.get(name)
        if name not in claims:
            return None
        assert isinstance(value, (int, float)) and not isinstance(value, bool), f"accepted a non-numeric {name}"
        assert math.isfinite(value), f"accepted a non-finite {name}"
        return float(value)

    exp, iat, nbf = number("exp"), number("iat"), number("nbf")
    assert exp is not None and NOW < exp + LEEWAY, "accepted an expired token or one without exp"
    assert iat is not None and iat <= NOW + LEEWAY, "accepted a token issued in the future or without iat"
    assert nbf is None or nbf <= NOW + LEEWAY, "accepted a token before nbf"
    for name in ("sub", "client_id", "jti"):
        assert isinstance(claims.get(name), str), f"accepted a missing or non-string {name}"


# --- the target ------------------------------------------------------------------------------


def _b64url_decode_canonical(segment: str) -> bytes:
    data = base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
    if b64url(data) != segment:
        raise AssertionError("accepted a non-canonical base64url segment")
    return data


def _check_accepted_token(keys: Keys, token: str) -> None:
    """Re-verify an accepted token with ``cryptography`` directly: canonical segments, a
    header naming a published key and its algorithm, a valid signature, acceptable claims."""
    h, p, s = token.split(".")
    header = json.loads(_b64url_decode_canonical(h).decode("utf-8"), object_pairs_hook=_strict_object)
    _assert_unicode(header)
    expected = {"rsa-1": "RS256", "ps-1": "PS256", "ec-1": "ES256"}
    kid, alg = header.get("kid"), header.get("alg")
    assert str(header.get("typ")).lower() in ("at+jwt", "application/at+jwt"), "accepted a wrong typ"
    assert expected.get(kid, alg) == alg, "accepted a key with another algorithm than its own"
    assert "crit" not in header, "accepted a crit header"
    signature = _b64url_decode_canonical(s)
    signing_input = f"{h}.{p}".encode("ascii")
    candidates = [k for k, a in expected.items() if a == alg and (kid is None or k == kid)]
    assert candidates, "accepted a token whose kid/alg names no published key"
    verified = False
    for name in candidates:
        try:
            if name == "rsa-1":
                keys.rsa.public_key().verify(signature, signing_input, padding.PKCS1v15(), hashes.SHA256())
            elif name == "ps-1":
                pss = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32)
                keys.ps.public_key().verify(signature, signing_input, pss, hashes.SHA256())
            else:
                assert len(signature) == 64, "accepted an ES256 signature of the wrong length"
                der = encode_dss_signature(int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big"))
                keys.ec.public_key().verify(der, signing_input, ec.ECDSA(hashes.SHA256()))
        except InvalidSignature:
            continue
        verified = True
    assert verified, "accepted a token whose signature does not verify"
    _check_accepted_claims(_b64url_decode_canonical(p))


def main() -> None:
    if len(sys.argv) == 3 and sys.argv[1] == "--write-corpus":
        directory = Path(sys.argv[2])
        directory.mkdir(parents=True, exist_ok=True)
        corpus = seeds(Keys())
        for name, data in corpus.items():
            (directory / name).write_bytes(data)
        print(f"wrote {len(corpus)} seeds to {directory}")
        return

    import atheris

    keys = Keys()
    configure_django(serve_jwks(keys.jwks()))

    with atheris.instrument_imports(include=["django_jwt_at"]):
        import django_jwt_at.clock
        from django_jwt_at.bearer import bearer_token_from_header
        from django_jwt_at.conf import get_config
        from django_jwt_at.errors import KeySetUnavailable, ProtocolError
        from django_jwt_at.jwks import key_sets
        from django_jwt_at.jws import parse_compact
        from django_jwt_at.validation import validate_access_token

    django_jwt_at.clock.now = lambda: float(NOW)
    config = get_config()

    def validate(token: str) -> Any:
        # validate_access_token runs parse_compact first (no verified-token cache: cache=None)
        return validate_access_token(token, config=config, key_sets=key_sets, now=float(NOW))

    # Warm-up: load the key set, then spend the one refresh an unknown kid may cause, so that
    # the cooldown (a day on a fixed clock) keeps every later input off the network.
    valid = keys.compact(_json({"typ": "at+jwt", "alg": "RS256", "kid": "rsa-1"}), _json(t0_claims()), "RS256")
    validate(valid)
    try:
        validate(keys.compact(_json({"typ": "at+jwt", "alg": "RS256", "kid": "warm-up"}), _json(t0_claims()), "RS256"))
    except ProtocolError:
        pass
    fetches_after_warm_up = _Handler.hits
    outcomes: dict[str, int] = {}

    def count(key: str) -> None:
        outcomes[key] = outcomes.get(key, 0) + 1

    def test_one_input(data: bytes) -> None:
        if not data:
            return
        mode = data[0] % 3
        rest = data[1:]
        try:
            if mode == 0:
                token = bearer_token_from_header(rest.decode("latin-1"))
                if token is None:
                    count("no bearer credentials")
                    return
            elif mode == 1:
                token = rest.decode("latin-1")
                try:
                    parse_compact(token, config.limits)
                except ProtocolError as parse_error:
                    # validate_access_token parses first: it must refuse the same way.
                    try:
                        validate(token)
                    except ProtocolError as error:
                        assert error.description == parse_error.description, (parse_error, error)
                        raise
                    raise AssertionError("validate_access_token accepted what parse_compact refused") from None
            else:
                header, _, payload = rest.partition(b"\n")
                token = keys.compact(header, payload, "ES256")
            accepted = validate(token)
        except KeySetUnavailable:
            raise AssertionError("the key set was needed again after warm-up") from None
        except ProtocolError as error:
            count(f"{error.code}: {error.description.value}")
            return
        count(f"accepted (mode {mode})")
        assert accepted.issuer == ISSUER
        _check_accepted_token(keys, token)

    reported = []

    def report() -> None:
        if reported:
            return
        reported.append(True)
        print(f"fuzz_validate: key-set fetches: {fetches_after_warm_up} during warm-up, {_Handler.hits} in total")
        for key, n in sorted(outcomes.items(), key=lambda item: -item[1]):
            print(f"fuzz_validate: {n:>11}  {key}")
        sys.stdout.flush()

    atheris.Setup([*sys.argv, "-print_final_stats=1"], test_one_input)
    _install_exit_report(report)
    atheris.Fuzz()


def _install_exit_report(report: Any) -> None:
    """Run ``report`` at exit; libFuzzer leaves through C ``exit()``, which skips Python's
    atexit, so the report is also registered with the C library (glibc ``__cxa_atexit``)."""
    import atexit
    import ctypes

    atexit.register(report)
    callback = ctypes.CFUNCTYPE(None, ctypes.c_void_p)(lambda _: report())
    _exit_callbacks.append(callback)  # keep it alive until exit
    try:
        ctypes.CDLL(None).__cxa_atexit(callback, None, None)
    except AttributeError:  # not glibc: libFuzzer's own summary still ends the log
        pass


_exit_callbacks: list[Any] = []


if __name__ == "__main__":
    main()
