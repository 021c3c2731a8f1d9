"""Shared pieces of the benchmarks: keys, token minting, a loopback JWKS server, the
interleaved timing loop and the tables.

Tokens are signed with ``cryptography`` directly (never by a library under test), in the
RFC 9068 shape: header ``typ: at+jwt``, ``alg``, ``kid``; claims iss, sub, aud, client_id,
iat, exp, jti, scope.

Timing (every script): ``measure`` runs, for each repeat, one batch of every contender in
turn (the order rotates from one repeat to the next), each batch timed as a whole with the
garbage collector paused, as ``timeit`` does; inputs are prepared before the clock starts.
A table shows the median µs per operation over the repeats and the spread (interquartile
range over the median); ratios are taken between medians.

Results: besides printing its tables, every script records its rows, its targets and the
environment (``record``, ``target``, ``print_versions``) and ends with ``write_results``,
which writes ``bench/results/<script>.json`` (another directory with BENCH_RESULTS) for
``bench/chart.py`` and the documentation.
"""

from __future__ import annotations

import base64
import datetime
import gc
import json
import logging
import os
import platform
import secrets
import statistics
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import metadata
from pathlib import Path
from typing import Any, ClassVar

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature

ISSUER = "https://issuer.bench.example"
AUDIENCE = "https://api.bench.example"
SUBJECT = "user-4711"
CLIENT_ID = "bench-client"
LEEWAY = 60


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    if not value:
        return default
    number = int(value)
    if number < 1:
        raise SystemExit(f"{name} must be a positive integer")
    return number


#: Timed batches per contender (the medians are taken over these).
REPEATS = env_int("BENCH_REPEATS", 21)
#: Untimed rounds of every contender before the first timed one.
WARMUP = env_int("BENCH_WARMUP", 1)
#: Where ``write_results`` puts ``<script>.json``.
RESULTS_DIR = Path(os.environ.get("BENCH_RESULTS") or Path(__file__).resolve().parent / "results")
#: What this process recorded: written by ``write_results``.
_results: dict[str, Any] = {"environment": {}, "settings": {}, "tables": {}, "targets": []}


# --- keys and tokens --------------------------------------------------------------------------


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(segment: str) -> bytes:
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


def _int_b64(value: int, length: int | None = None) -> str:
    return b64url(value.to_bytes(length or (value.bit_length() + 7) // 8, "big"))


_PSS_SHA256 = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=hashes.SHA256.digest_size)


@dataclass
class Signer:
    """A private key for one JWS algorithm, with its kid and public JWK."""

    alg: str
    kid: str
    private: Any

    @property
    def public(self) -> Any:
        return self.private.public_key()

    def public_jwk(self) -> dict[str, str]:
        pub = self.public
        if isinstance(pub, rsa.RSAPublicKey):
            numbers = pub.public_numbers()
            jwk = {"kty": "RSA", "n": _int_b64(numbers.n), "e": _int_b64(numbers.e)}
        elif isinstance(pub, ec.EllipticCurvePublicKey):
            ec_numbers = pub.public_numbers()
            jwk = {"kty": "EC", "crv": "P-256", "x": _int_b64(ec_numbers.x, 32), "y": _int_b64(ec_numbers.y, 32)}
        else:
            raw = pub.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
            jwk = {"kty": "OKP", "crv": "Ed25519", "x": b64url(raw)}
        return {**jwk, "kid": self.kid, "use": "sig", "alg": self.alg}

    def public_pem(self) -> str:
        return self.public.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ).decode("ascii")

    def sign(self, signing_input: bytes) -> bytes:
        if self.alg == "RS256":
            return self.private.sign(signing_input, padding.PKCS1v15(), hashes.SHA256())
        if self.alg == "PS256":
            return self.private.sign(signing_input, _PSS_SHA256, hashes.SHA256())
        if self.alg == "ES256":
            r, s = decode_dss_signature(self.private.sign(signing_input, ec.ECDSA(hashes.SHA256())))
            return r.to_bytes(32, "big") + s.to_bytes(32, "big")  # RFC 7518 §3.4: r || s
        if self.alg == "EdDSA":
            return self.private.sign(signing_input)
        raise ValueError(self.alg)


def new_signer(alg: str, kid: str) -> Signer:
    if alg in ("RS256", "PS256"):
        private: Any = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    elif alg == "ES256":
        private = ec.generate_private_key(ec.SECP256R1())
    elif alg == "EdDSA":
        private = ed25519.Ed25519PrivateKey.generate()
    else:
        raise ValueError(alg)
    return Signer(alg, kid, private)


def decoy_rsa_jwk(kid: str, alg: str = "RS256") -> dict[str, str]:
    """A well-formed 2048-bit RSA public JWK with a random modulus: a stand-in for the other
    keys of a large key set, which are looked up but never asked to verify anything.
    (Generating real 2048-bit keys costs ~0.1 s each on this machine.)"""
    n = secrets.randbits(2048) | (1 << 2047) | 1
    return {"kty": "RSA", "n": _int_b64(n), "e": _int_b64(65537), "kid": kid, "use": "sig", "alg": alg}


def _json(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode("utf-8")


def claims(i: int, *, now: int, issuer: str = ISSUER, scope: str = "read") -> dict[str, Any]:
    """The claims of token number ``i``: only ``jti`` differs between two tokens."""
    return {
        "iss": issuer,
        "sub": SUBJECT,
        "aud": AUDIENCE,
        "client_id": CLIENT_ID,
        "iat": now - 10,
        "exp": now + 3600,
        "jti": f"jti-{i:08d}-{secrets.token_hex(6)}",
        "scope": scope,
    }


def mint(signer: Signer, payload: dict[str, Any]) -> str:
    header = b64url(_json({"typ": "at+jwt", "alg": signer.alg, "kid": signer.kid}))
    signing_input = f"{header}.{b64url(_json(payload))}"
    return f"{signing_input}.{b64url(signer.sign(signing_input.encode('ascii')))}"


def mint_pool(signer: Signer, count: int, **claim_options: Any) -> list[str]:
    """``count`` distinct tokens (distinct ``jti``): each can be shown to a validator once."""
    now = int(time.time())
    return [mint(signer, claims(i, now=now, **claim_options)) for i in range(count)]


def tampered(token: str) -> str:
    """The token with one signature byte changed: every contender must reject it."""
    head, payload, signature = token.split(".")
    raw = bytearray(b64url_decode(signature))
    raw[len(raw) // 2] ^= 0x01
    return f"{head}.{payload}.{b64url(bytes(raw))}"


def raw_verifier(signer: Signer) -> tuple[Callable[[str], tuple[bytes, bytes]], Callable[[tuple[bytes, bytes]], None]]:
    """The floor: ``cryptography`` verifying one signature, nothing else.

    Returns ``(prepare, verify)``: ``prepare`` (untimed) splits a token into (signature,
    signing input), base64url-decoded, and for ES256 already converted from r || s to the
    DER form ``cryptography`` takes; ``verify`` is the timed call (raises InvalidSignature).
    """
    pub = signer.public
    alg = signer.alg

    def prepare(token: str) -> tuple[bytes, bytes]:
        head, payload, signature = token.split(".")
        sig = b64url_decode(signature)
        if alg == "ES256":
            sig = encode_dss_signature(int.from_bytes(sig[:32], "big"), int.from_bytes(sig[32:], "big"))
        return sig, f"{head}.{payload}".encode("ascii")

    verify: Callable[[tuple[bytes, bytes]], None]
    if alg == "RS256":
        pkcs1, sha256 = padding.PKCS1v15(), hashes.SHA256()

        def verify(item: tuple[bytes, bytes]) -> None:
            pub.verify(item[0], item[1], pkcs1, sha256)

    elif alg == "PS256":
        sha256 = hashes.SHA256()

        def verify(item: tuple[bytes, bytes]) -> None:
            pub.verify(item[0], item[1], _PSS_SHA256, sha256)

    elif alg == "ES256":
        ecdsa = ec.ECDSA(hashes.SHA256())

        def verify(item: tuple[bytes, bytes]) -> None:
            pub.verify(item[0], item[1], ecdsa)

    else:

        def verify(item: tuple[bytes, bytes]) -> None:
            pub.verify(item[0], item[1])

    return prepare, verify


# --- the loopback JWKS server --------------------------------------------------------------------


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        body = self.server.documents.get(self.path.split("?", 1)[0])
        self.send_response(200 if body is not None else 404)
        self.send_header("Content-Type", "application/json")
        self.send_header("Cache-Control", "public, max-age=86400")
        self.send_header("Content-Length", str(len(body or b"")))
        self.end_headers()
        self.wfile.write(body or b"")


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    documents: dict[str, bytes]


class JWKSServer:
    """Serves JWK Sets on 127.0.0.1 from a thread of this process (only until the key sets
    are warm: nothing is fetched while the clock runs)."""

    def __init__(self) -> None:
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.documents = {}
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def publish(self, path: str, jwks: list[dict[str, str]]) -> str:
        self._server.documents[path] = _json({"keys": jwks})
        return f"http://127.0.0.1:{self._server.server_address[1]}{path}"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


# --- Django ------------------------------------------------------------------------------------------


def configure_django(**overrides: Any) -> None:
    import django
    from django.conf import settings

    base: dict[str, Any] = {
        "SECRET_KEY": "bench-not-secret",
        "DEBUG": False,
        "ALLOWED_HOSTS": ["testserver"],
        "USE_TZ": True,
        "INSTALLED_APPS": ["django.contrib.contenttypes", "django.contrib.auth", "rest_framework", "django_jwt_at"],
        "DATABASES": {},
        "CACHES": {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "bench"}},
        "LOGGING_CONFIG": None,
    }
    settings.configure(**{**base, **overrides})
    django.setup()
    # The setup checks send requests that are refused on purpose: keep their log lines out.
    logging.getLogger("django").addHandler(logging.NullHandler())
    logging.getLogger("django_jwt_at").addHandler(logging.NullHandler())


def our_validator(config: Any, registry: Any, cache: Any) -> Callable[[str], Any]:
    """``validate_access_token`` bound to a configuration, a key-set registry and (when the
    library has one and the function takes it) a verified-token cache."""
    import inspect

    from django_jwt_at.validation import validate_access_token

    if cache is not None and "cache" in inspect.signature(validate_access_token).parameters:

        def validate(raw: str) -> Any:
            return validate_access_token(raw, config=config, key_sets=registry, now=time.time(), cache=cache)

    else:

        def validate(raw: str) -> Any:
            return validate_access_token(raw, config=config, key_sets=registry, now=time.time())

    return validate


def drf_authenticator() -> tuple[Callable[[Any], Any], Callable[[str], Any]]:
    """``JWTAccessTokenAuthentication().authenticate`` and a builder of the DRF requests
    it takes: a GET with ``Authorization: Bearer <token>`` (a header string of its own,
    as a server makes one per request), initialised by a DRF view, as DRF does before it
    authenticates. Requests are built outside the clock."""
    from django.test import RequestFactory
    from rest_framework.views import APIView

    from django_jwt_at.authentication import JWTAccessTokenAuthentication

    class View(APIView):
        authentication_classes: ClassVar[list[Any]] = [JWTAccessTokenAuthentication]

    view = View()
    view.args, view.kwargs, view.headers = (), {}, {}
    factory = RequestFactory()

    def request(token: str) -> Any:
        return view.initialize_request(factory.get("/resource", HTTP_AUTHORIZATION="Bearer " + token))

    return JWTAccessTokenAuthentication().authenticate, request


def requests_of(tokens: Sequence[str], build: Callable[[str], Any], batch: int) -> Callable[[int], Sequence[Any]]:
    """Like ``fresh``: round ``r`` gets requests for tokens ``r*batch .. (r+1)*batch``, each
    request built once, before the clock starts."""
    built: dict[int, list[Any]] = {}

    def inputs(r: int) -> Sequence[Any]:
        if r not in built:
            chunk = tokens[r * batch : (r + 1) * batch]
            if len(chunk) != batch:
                raise RuntimeError("the token pool is too small for the rounds")
            built.clear()  # one round's requests at a time: memory stays small
            built[r] = [build(t) for t in chunk]
        return built[r]

    return inputs


def new_token_cache() -> Any:
    """A fresh verified-token cache, or None when the library has none."""
    try:
        from django_jwt_at.token_cache import VerifiedTokenCache
    except ImportError:
        return None
    return VerifiedTokenCache()


# --- timing ----------------------------------------------------------------------------------------


@dataclass
class Contender:
    """One thing timed: ``fn`` applied to each input of ``inputs(round)``.

    ``inputs`` (untimed) returns the batch for a round, rounds counting from 0 with the
    warm-up first, so a pool of pre-minted tokens can hand every round fresh ones;
    ``before`` (untimed) runs ahead of each batch; ``subject`` reads the ``sub`` claim out
    of a result, for the acceptance check.
    """

    name: str
    fn: Callable[[Any], Any]
    inputs: Callable[[int], Sequence[Any]]
    subject: Callable[[Any], Any] | None = None
    before: Callable[[], None] | None = None
    na: str | None = None  # why this contender cannot run (shown as n/a)
    #: Turns a token into this contender's input for ``check_accepts`` (default: the token).
    check_input: Callable[[str], Any] | None = None
    samples: list[float] = field(default_factory=list)


def fresh(pool: Sequence[Any], batch: int) -> Callable[[int], Sequence[Any]]:
    """Round ``r`` gets items ``r*batch .. (r+1)*batch`` of ``pool``: never one seen before."""

    def inputs(r: int) -> Sequence[Any]:
        chunk = pool[r * batch : (r + 1) * batch]
        if len(chunk) != batch:
            raise RuntimeError("the token pool is too small for the rounds")
        return chunk

    return inputs


def same(item: Any, batch: int) -> Callable[[int], Sequence[Any]]:
    """Every round gets ``item`` ``batch`` times."""
    items = [item] * batch
    return lambda r: items


def pool_size(batch: int) -> int:
    return (WARMUP + REPEATS) * batch


def check_accepts(contenders: Sequence[Contender], token: str) -> None:
    """Every runnable contender accepts ``token`` (its sub is ours) and rejects it with one
    signature byte changed; anything else is a bug in the benchmark setup."""
    bad = tampered(token)
    for c in contenders:
        if c.na or c.subject is None:
            continue
        given = c.check_input or (lambda raw: raw)
        subject = c.subject(c.fn(given(token)))
        if subject != SUBJECT:
            raise SystemExit(f"setup error: {c.name} accepted the token with sub {subject!r}")
        try:
            c.fn(given(bad))
        except Exception:
            continue
        raise SystemExit(f"setup error: {c.name} accepted a token with a wrong signature")


def measure(contenders: Sequence[Contender]) -> None:
    """Interleaved rounds: WARMUP untimed, then REPEATS timed; fills ``c.samples`` (µs/op)."""
    active = [c for c in contenders if not c.na]
    for r in range(WARMUP + REPEATS):
        shift = r % len(active)
        for c in active[shift:] + active[:shift]:
            items = c.inputs(r)
            fn = c.fn
            if c.before is not None:
                c.before()
            gc.collect()
            gc.disable()
            try:
                start = time.perf_counter_ns()
                for item in items:
                    fn(item)
                elapsed = time.perf_counter_ns() - start
            finally:
                gc.enable()
            if r >= WARMUP:
                c.samples.append(elapsed / len(items) / 1000)


def median(c: Contender) -> float:
    return statistics.median(c.samples)


def spread(c: Contender) -> float:
    """Interquartile range over the median, in percent."""
    if len(c.samples) < 2:
        return 0.0
    q1, _, q3 = statistics.quantiles(c.samples, n=4)
    return 100 * (q3 - q1) / statistics.median(c.samples)


def table(title: str, headers: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    widths = [max(len(str(x)) for x in col) for col in zip(headers, *rows, strict=True)]
    print()
    print(title)
    line = "  ".join(h.ljust(w) if i == 0 else h.rjust(w) for i, (h, w) in enumerate(zip(headers, widths, strict=True)))
    print(line)
    print("-" * len(line))
    for row in rows:
        print(
            "  ".join(
                str(x).ljust(w) if i == 0 else str(x).rjust(w) for i, (x, w) in enumerate(zip(row, widths, strict=True))
            )
        )


def fmt_ratio(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}x"


def target(label: str, value: float | None, limit: float, *, at_most: bool) -> None:
    """One line per target of the issue: informative, never a pass/fail of the run."""
    if value is None:
        verdict = "n/a"
    else:
        verdict = "met" if (value <= limit if at_most else value >= limit) else "NOT met"
    sign = "<=" if at_most else ">="
    print(f"  target {label}: {fmt_ratio(value)} (want {sign} {limit:g}x) {verdict}")
    _results["targets"].append(
        {"label": label, "value": value, "limit": limit, "at_most": at_most, "met": verdict == "met"}
    )


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def print_versions(extra: Sequence[str] = ()) -> None:
    names = ["django-jwt-at", "cryptography", "Django", "djangorestframework", *extra]
    versions: dict[str, str | None] = {}
    for name in names:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    import sysconfig

    config_args = str(sysconfig.get_config_var("CONFIG_ARGS") or "")
    build = "PGO" if "--enable-optimizations" in config_args else "no PGO"
    build += ", LTO" if "--with-lto" in config_args else ", no LTO"
    _results["environment"] = {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "build": build,
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "cpu_model": _cpu_model(),
        "system": f"{platform.system()} {platform.release()}",
        "repeats": REPEATS,
        "warmup": WARMUP,
        "versions": versions,
    }
    print(
        f"Python {platform.python_version()} ({platform.python_implementation()}, {build}) on {platform.machine()}, "
        f"{os.cpu_count()} CPUs"
    )
    print(", ".join(f"{name} {v}" if v else f"{name} (not installed)" for name, v in versions.items()))
    print(f"repeats {REPEATS} (+{WARMUP} warm-up), medians of per-batch µs/op; spread = IQR/median")
    sys.stdout.flush()


# --- machine-readable results ----------------------------------------------------------------------


def record(table_key: str, row: dict[str, Any]) -> None:
    """Add ``row`` to the table ``table_key`` of this script's results."""
    _results["tables"].setdefault(table_key, []).append(row)


def record_settings(**values: Any) -> None:
    """Script-specific knobs (batch sizes, limits) for the results file."""
    _results["settings"].update(values)


def write_results(script: str) -> Path:
    """Write everything recorded to ``RESULTS_DIR/<script>.json`` and return its path."""
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / f"{script}.json"
    document = {"script": script, "format": 1, **_results}
    path.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"\nresults: {path}")
    return path
