"""The hostile-request corpus (tests/hostile/corpus.py) through the DRF test view ``/orders``.

Every case must get exactly its expected status and ``WWW-Authenticate`` value; the ``api``
fixture additionally checks every response for challenge syntax, no 500 and no token
material in the response or in INFO+ log records, and the autouse ``outbound`` fixture
that no host other than the loopback was resolved. Besides, no case may make the library
request anything from the loopback server but the configured key sets (``jku``/``x5u``
and the like are never followed). The last test asserts that no case was accepted.
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import re
from collections import Counter
from dataclasses import dataclass
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from django.core.cache import caches
from django.test import override_settings

from django_jwt_at.jwks import key_sets
from django_jwt_at.token_cache import verified_tokens

from .. import signing
from ..conftest import ABSENT, NOW, fx_jwks, t0_claims
from ..helpers import FX_AUD, FX_ISS2, NO_CREDENTIALS, bearer
from .corpus import CASES, EDITS, Case, Dyn, Tok, description

P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
KEY_SET_PATHS = {"/jwks", "/as2/jwks"}


@dataclass
class Env:
    keys: dict[str, signing.SigningKey]
    server: Any  # tests.live_server.LiveServer
    api: Any  # tests.conftest.Api
    issuer_options: dict[str, Any]


# ---------------------------------------------------------------------------------------
# building a case's token
# ---------------------------------------------------------------------------------------


def self_signed_cert_der(key: signing.SigningKey) -> bytes:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "attacker")])
    start = datetime.datetime(2029, 1, 1, tzinfo=datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(start)
        .not_valid_after(start + datetime.timedelta(days=3650))
        .sign(key.private, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.DER)


def resolve(value: Any, env: Env) -> Any:
    if isinstance(value, dict):
        return {k: resolve(v, env) for k, v in value.items()}
    if not isinstance(value, Dyn):
        return value
    kind, _, arg = value.name.partition(":")
    if kind == "loopback":
        return env.server.url(arg)
    if kind == "jwk":
        return env.keys[arg].public_jwk()
    if kind == "x5c":
        return [signing.b64url(self_signed_cert_der(env.keys[arg])).replace("-", "+").replace("_", "/")]
    raise ValueError(value)


def apply(base: dict, overrides: Any) -> dict:
    result = dict(base)
    for name, value in overrides.items():
        if value is ABSENT:
            result.pop(name, None)
        else:
            result[name] = value
    return result


_T0_PLACEHOLDER = re.compile(r"<T0((?: -[a-z_]+)*)>")


def payload_bytes(tok: Tok) -> bytes:
    """The payload of ``tok``: T0's claims with overrides, or its raw text/bytes with the
    ``<T0 ...>`` placeholders replaced by T0's members (ASCII JSON)."""
    claims = t0_claims(NOW)

    def members(match: re.Match) -> str:
        removed = match.group(1).split(" -")[1:]
        return signing.json_bytes({k: v for k, v in claims.items() if k not in removed}).decode()[1:-1]

    payload = tok.payload
    if isinstance(payload, bytes):  # latin-1 maps bytes to code points one to one
        return _T0_PLACEHOLDER.sub(members, payload.decode("latin-1")).encode("latin-1")
    if isinstance(payload, str):
        return _T0_PLACEHOLDER.sub(members, payload).encode(tok.encoding)
    return signing.json_bytes(apply(claims, tok.claims))


def hmac_secret(form: str, env: Env) -> bytes:
    rsa1 = env.keys["rsa-1"]
    return {
        "pem": rsa1.public_pem,
        "der": rsa1.public_der,
        "jwk": lambda: json.dumps(rsa1.public_jwk()).encode(),
        "n": lambda: rsa1.public_key().public_numbers().n.to_bytes(256, "big"),
    }[form]()


def build_token(tok: Tok, env: Env) -> str:
    key = None if tok.key == "none" else env.keys[tok.key]
    base = {"typ": "at+jwt", "alg": key.default_alg if key else "none", "kid": key.kid if key else "rsa-1"}
    header = resolve(apply(base, tok.header), env)
    announced = header.get("alg")
    if tok.hmac:
        alg = tok.sign_alg or announced
        secret: Any = hmac_secret(tok.hmac, env)
    else:
        fits = isinstance(announced, str) and key is not None and _fits(announced, key)
        alg = tok.sign_alg or (announced if fits else key.default_alg if key else None)
        secret = key

    def encode_header() -> str:
        if tok.header_json is not None:
            raw = tok.header_json if isinstance(tok.header_json, bytes) else tok.header_json.encode()
            return signing.b64url(raw)
        return signing.b64url(signing.json_bytes(header))

    def sign(h: str, p: str) -> str:
        if secret is None:
            return ""
        return signing.b64url(signing.sign(alg, secret, f"{h}.{p}".encode(), ec_hash=tok.ec_hash))

    if tok.header_pad_to:
        n = 0
        while len(encode_header()) < tok.header_pad_to:
            header["x-pad"] = "y" * n
            n += 1
    h = encode_header()
    if tok.pad_to:  # grow a "pad" claim until the token is at least pad_to long
        signature_length = len(sign(h, signing.b64url(b"{}")))
        n = max(0, (tok.pad_to - len(h) - signature_length) * 3 // 4 - 400)
        while True:
            p = signing.b64url(payload_bytes(dataclasses.replace(tok, claims={**tok.claims, "pad": "x" * n})))
            if len(h) + len(p) + signature_length + 2 >= tok.pad_to:
                break
            n += 1
    else:
        p = signing.b64url(payload_bytes(tok))
    s = signature_segment(tok, env, h, p) if tok.signature else sign(h, p)
    token = f"{h}.{p}.{s}"
    if tok.edit:
        token = EDITS[tok.edit](h, p, s, sign)
    return token


_SIGNABLE = {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}


def _fits(alg: str, key: signing.SigningKey) -> bool:
    """Whether ``key`` can make an ``alg`` signature (else the key's own alg signs)."""
    family = {"RSA": ("RS", "PS"), "EC": ("ES",), "OKP": ("EdDSA",)}[key.kty]
    return alg in _SIGNABLE and alg.startswith(family)


def signature_segment(tok: Tok, env: Env, h: str, p: str) -> str:
    ec1 = env.keys["ec-1"]
    raw = {
        "empty": lambda: b"",
        "zeros-256": lambda: bytes(256),
        "ones-256": lambda: b"\xff" * 256,
        "one-byte": lambda: b"\x01",
        "rsa-modulus": lambda: env.keys["rsa-1"].public_key().public_numbers().n.to_bytes(256, "big"),
        "zeros-64": lambda: bytes(64),
        "ecdsa-der": lambda: ec1.private.sign(f"{h}.{p}".encode(), ec.ECDSA(hashes.SHA256())),
        "ecdsa-n": lambda: P256_ORDER.to_bytes(32, "big") * 2,
    }[tok.signature]()
    return signing.b64url(raw)


# ---------------------------------------------------------------------------------------
# running a case
# ---------------------------------------------------------------------------------------


def published_jwk(name: str, arguments: Any, env: Env) -> dict:
    if name == "oct":
        return {"kty": "oct", "alg": "HS256", "k": signing.b64url(env.keys["rsa-1"].public_pem()), **arguments}
    if arguments.get("__private__"):
        return env.keys[name].private_jwk()
    return env.keys[name].public_jwk(**arguments)


def run_case(case: Case, env: Env) -> Any:
    """Send the request of ``case`` with its configuration; return the response."""
    key_sets.clear()
    verified_tokens.clear()
    caches["default"].clear()
    server, keys = env.server, env.keys
    server.reset()
    server.route("/jwks", fx_jwks(keys, *(published_jwk(n, a, env) for n, a in case.publish)))
    server.route("/as2/jwks", {"keys": [keys["as2-1"].public_jwk(alg="RS256")]})
    server.route("/attacker/jwks", {"keys": [keys["KX"].public_jwk(), keys["KX"].public_jwk(kid="rsa-1")]})
    server.route("/attacker/cert", self_signed_cert_der(keys["KX"]), headers={"Content-Type": "application/pkix-cert"})
    issuers = {"https://as.example.com": dict(env.issuer_options)}
    if case.iss2:
        issuers[FX_ISS2] = {"AUDIENCE": FX_AUD, "JWKS_URI": server.url("/as2/jwks"), "ALGORITHMS": ["RS256"]}
    templates = [case.authorization or "", case.path, case.body or ""]
    token = build_token(case.token, env) if any("<T>" in t for t in templates) else ""

    def fill(template: str | None) -> str | None:
        return None if template is None else template.replace("<T>", token)

    with override_settings(JWT_AT_ISSUERS=issuers, **case.settings):
        response = env.api.request(
            case.method,
            fill(case.path),
            authorization=fill(case.authorization),
            data=fill(case.body),
            content_type=case.content_type,
            secrets=[token] if token else [],
        )
    requested = set(server.paths())
    assert requested <= KEY_SET_PATHS, (
        f"[C-8725-12] requested {sorted(requested - KEY_SET_PATHS)} of the loopback server"
    )
    return response


def expected_challenge(case: Case) -> tuple[int, str]:
    status, error, key = case.expect
    if error is None:
        return status, NO_CREDENTIALS
    return status, bearer(error, description(key))


@pytest.fixture
def env(api, server, keys, fx) -> Env:
    # An exception in a view becomes the 500 response a client would get (and that the api
    # fixture reports as C-DRF-09), instead of being re-raised into the test.
    api.client.raise_request_exception = False
    return Env(keys, server, api, fx.issuer_options())


#: status code per case id, for the summary below
_outcomes: dict[str, int] = {}


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_hostile_request(case: Case, env: Env) -> None:
    response = run_case(case, env)
    _outcomes[case.id] = response.status_code
    assert (response.status_code, response.get("WWW-Authenticate")) == expected_challenge(case), case.why or case.spec


def test_corpus_summary_no_case_accepted(env: Env) -> None:
    """0 of the corpus's requests are accepted (cases not run above in this session, e.g.
    deselected with -k, are run here)."""
    for case in CASES:
        if case.id not in _outcomes:
            _outcomes[case.id] = run_case(case, env).status_code
    accepted = sorted(case.id for case in CASES if _outcomes[case.id] < 400)
    errors = sorted(case.id for case in CASES if _outcomes[case.id] >= 500)
    assert accepted == [], f"{len(accepted)} hostile requests were accepted: {accepted}"
    assert errors == [], f"server errors: {errors}"
    categories = Counter(case.category for case in CASES)
    assert len(CASES) >= 150, categories
    assert min(categories.values()) >= 9, categories


# ---------------------------------------------------------------------------------------
# controls: the recipes build valid tokens when nothing hostile is asked for, so a rejection
# above is due to the case's change and not to the builder
# ---------------------------------------------------------------------------------------

CONTROLS = [
    ("t0", Tok(), {}),
    ("es256", Tok(key="ec-1"), {}),
    ("ps256", Tok(key="ps-1"), {}),
    ("raw-payload", Tok(payload="{<T0>}"), {}),
    ("raw-payload-bytes", Tok(payload=b'{<T0 -sub>,"sub":"user-\xc3\xbc"}'), {}),
    ("surrogate-pair-escape", Tok(payload='{<T0 -sub>,"sub":"\\ud83d\\ude00"}'), {}),
    ("raw-header", Tok(header_json='{"typ":"at+jwt","alg":"RS256","kid":"rsa-1"}'), {}),
    ("padded-just-under-limit", Tok(pad_to=8100), {}),
    ("header-just-under-limit", Tok(header_pad_to=1000), {}),
    ("depth-16", Tok(payload='{<T0>,"deep":' + "[" * 15 + "1" + "]" * 15 + "}"), {}),
    ("4000-digit-extra-claim", Tok(payload='{<T0>,"x":1' + "0" * 3999 + "}"), {}),
    ("jku-x5u-jwk-ignored", Tok(header={"jku": "https://attacker.example/jwks", "jwk": Dyn("jwk:KX")}), {}),
    ("x5c-ignored", Tok(header={"x5c": Dyn("x5c:KX")}), {"JWT_AT_MAX_HEADER_SIZE": 4096}),
    ("exp-now-plus-1-leeway-0", Tok(claims={"exp": int(NOW) + 1}), {"JWT_AT_LEEWAY": 0}),
    ("iat-in-leeway", Tok(claims={"iat": int(NOW) + 60, "nbf": int(NOW) + 60}), {}),
    ("typ-application-prefix", Tok(header={"typ": "application/AT+JWT"}), {}),
    ("no-kid", Tok(header={"kid": ABSENT}), {}),
    ("aud-list", Tok(claims={"aud": ["https://other.example.com", FX_AUD]}), {}),
]


@pytest.mark.parametrize(("recipe", "settings_"), [c[1:] for c in CONTROLS], ids=[c[0] for c in CONTROLS])
def test_control_recipe_is_accepted(env: Env, recipe: Tok, settings_: dict) -> None:
    case = Case("control", "control", (200, None, None), token=recipe, settings=settings_)
    response = run_case(case, env)
    assert response.status_code == 200, response.get("WWW-Authenticate")
