"""Spec section 6: JOSE / JWT validator rules (RFC 8725, RFC 7515, RFC 7516, RFC 7518, RFC 7519)."""

from __future__ import annotations

import datetime
import json
import os
import time
import zlib

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509.oid import NameOID
from django.core.checks import ERROR
from django.core.exceptions import ImproperlyConfigured

from django_jwt_at.conf import get_config

from . import signing
from .conftest import ABSENT, fx_jwks, t0_claims
from .helpers import FX_AUD, FX_ISS, FX_ISS2, assert_invalid_token, challenge_params, our_messages

# --- interop: the suite's signer against independent verifiers, and foreign signers ---------


@pytest.mark.parametrize(
    "alg,key",
    [
        ("RS256", "rsa-1"),
        ("RS384", "rsa-1"),
        ("RS512", "rsa-1"),
        ("PS256", "ps-1"),
        ("ES256", "ec-1"),
        ("ES384", "ec-384"),
        ("ES512", "ec-521"),
        ("EdDSA", "ed-1"),
    ],
)
def test_signer_interop_pyjwt_verifies_our_tokens(keys, clock, alg, key):
    import jwt

    k = keys[key]
    token = signing.sign_compact({"typ": "at+jwt", "alg": alg, "kid": k.kid}, t0_claims(clock.t), k)
    claims = jwt.decode(
        token,
        k.public_key(),
        algorithms=[alg],
        audience=FX_AUD,
        options={"verify_exp": False, "verify_iat": False, "verify_nbf": False},
    )
    assert claims["sub"] == "user-123"


@pytest.mark.parametrize("alg,key", [("RS256", "rsa-1"), ("PS256", "ps-1"), ("ES256", "ec-1")])
def test_interop_pyjwt_signed_token_accepted(api, keys, clock, alg, key):
    import jwt

    k = keys[key]
    token = jwt.encode(t0_claims(clock.t), k.private_pem(), algorithm=alg, headers={"typ": "at+jwt", "kid": k.kid})
    assert api.get("/orders", token).status_code == 200


@pytest.mark.parametrize("alg,key", [("RS256", "rsa-1"), ("PS256", "ps-1"), ("ES256", "ec-1")])
def test_interop_joserfc_signed_token_accepted(api, keys, clock, alg, key):
    from joserfc import jwt
    from joserfc.jwk import ECKey, RSAKey

    k = keys[key]
    private = (RSAKey if k.kty == "RSA" else ECKey).import_key(k.private_pem().decode())
    token = jwt.encode({"typ": "at+jwt", "alg": alg, "kid": k.kid}, t0_claims(clock.t), private, algorithms=[alg])
    assert api.get("/orders", token).status_code == 200


def test_interop_eddsa_when_configured(api, make_token, fx, server, keys):
    server.route("/jwks", fx_jwks(keys, keys["ed-1"].public_jwk(alg="EdDSA")))
    fx.configure(ALGORITHMS=["RS256", "EdDSA"])
    assert api.get("/orders", make_token(key="ed-1")).status_code == 200


@pytest.mark.parametrize(
    "alg,key,crv_key",
    [
        ("RS384", "rsa-1", None),
        ("RS512", "rsa-1", None),
        ("PS384", "ps-1", None),
        ("ES384", "ec-384", "ec-384"),
        ("ES512", "ec-521", "ec-521"),
    ],
)
def test_interop_other_algorithms_when_configured(api, make_token, fx, server, keys, alg, key, crv_key):
    extra = [keys[crv_key].public_jwk()] if crv_key else []
    jwks = {"keys": [keys["rsa-1"].public_jwk(alg=None), keys["ps-1"].public_jwk(alg=None), *extra]}
    server.route("/jwks", jwks)
    fx.configure(ALGORITHMS=[alg])
    assert api.get("/orders", make_token(key=key, header={"alg": alg})).status_code == 200


# --- C-8725-01 .. 06: algorithms ------------------------------------------------------------


@pytest.mark.parametrize(
    "alg,key",
    [
        ("RS384", "rsa-1"),
        ("RS512", "rsa-1"),
        ("ES384", "ec-384"),
        ("EdDSA", "ed-1"),
        ("HS256", b"any-secret-at-all"),
        ("PS384", "ps-1"),
        ("ES512", "ec-521"),
        ("HS512", b"k"),
    ],
    ids=[
        "C-8725-01-RS384",
        "C-8725-01-RS512",
        "C-8725-01-ES384",
        "C-8725-01-EdDSA",
        "C-8725-01-HS256",
        "C-8725-01-PS384",
        "C-8725-01-ES512",
        "C-8725-01-HS512",
    ],
)
def test_C_8725_01_alg_not_allowed(api, make_token, server, alg, key):
    token = make_token(header={"alg": alg}, key=key)
    assert_invalid_token(api.get("/orders", token), "alg")
    assert server.total() == 0


@pytest.mark.parametrize(
    "alg",
    ["rs256", "Rs256", ABSENT, "RS256 ", None, 256, ["RS256"], "", "ES256K", "RS256\x00"],
    ids=[
        "C-8725-02-lower",
        "C-8725-02-mixed",
        "C-8725-02-missing",
        "C-8725-02-trailing-space",
        "C-8725-02-null",
        "C-8725-02-number",
        "C-8725-02-array",
        "C-8725-02-empty",
        "C-8725-02-unknown",
        "C-8725-02-nul",
    ],
)
def test_C_8725_02_alg_case_sensitive(api, make_token, server, alg):
    assert_invalid_token(api.get("/orders", make_token(header={"alg": alg}, sign_alg="RS256")))
    assert server.total() == 0


def test_C_8725_03_alg_checked_before_key_fetch(api, make_token, server):
    token = make_token(header={"alg": "HS256", "kid": "unknown"}, key=b"secret")
    assert_invalid_token(api.get("/orders", token), "alg")
    assert server.count("/jwks") == 0


def test_C_8725_03_alg_of_other_issuer_checked_before_fetch(api, make_token, fx, server):
    # ES256 is allowed for FX.iss but not for FX.iss2: no fetch of FX.iss2's keys.
    fx.add_iss2()
    token = make_token(claims={"iss": FX_ISS2}, key="ec-1")
    assert_invalid_token(api.get("/orders", token))
    assert server.count("/as2/jwks") == 0


def test_C_8725_04_one_algorithm_per_key(api, make_token):
    # rsa-1 is published with "alg":"RS256"; a valid PSS signature with it must not verify.
    token = make_token(header={"alg": "PS256", "kid": "rsa-1"}, key="rsa-1")
    assert_invalid_token(api.get("/orders", token))
    # and ps-1 ("alg":"PS256") does not do PKCS#1 v1.5
    token = make_token(header={"alg": "RS256", "kid": "ps-1"}, key="ps-1", sign_alg="RS256")
    assert_invalid_token(api.get("/orders", token))


def test_C_8725_05_key_without_alg(api, make_token, server, keys):
    server.route("/jwks", fx_jwks(keys, keys["rsa-2"].public_jwk(alg=None)))
    assert api.get("/orders", make_token(key="rsa-2")).status_code == 200
    assert api.get("/orders", make_token(key="rsa-2", header={"alg": "PS256"})).status_code == 200  # PS256 allowed
    token = make_token(key=keys["ec-1"], header={"kid": "rsa-2", "alg": "ES256"})
    assert_invalid_token(api.get("/orders", token))


def test_C_8725_05_key_without_alg_order_independent(api, make_token, server, keys):
    # no per-key memory of earlier algorithms.
    server.route("/jwks", fx_jwks(keys, keys["rsa-2"].public_jwk(alg=None)))
    assert api.get("/orders", make_token(key="rsa-2", header={"alg": "PS256"})).status_code == 200
    assert api.get("/orders", make_token(key="rsa-2")).status_code == 200
    assert api.get("/orders", make_token(key="rsa-2", header={"alg": "PS256"})).status_code == 200


def test_C_8725_05_key_without_alg_only_configured_algs(api, make_token, server, keys, fx):
    server.route("/jwks", fx_jwks(keys, keys["rsa-2"].public_jwk(alg=None)))
    fx.configure(ALGORITHMS=["RS256"])
    assert api.get("/orders", make_token(key="rsa-2")).status_code == 200
    assert_invalid_token(api.get("/orders", make_token(key="rsa-2", header={"alg": "PS256"})), "alg")


@pytest.mark.parametrize(
    "header,key",
    [
        ({"alg": "ES256", "kid": "rsa-1"}, "ec-1"),
        ({"alg": "RS256", "kid": "ec-1"}, "rsa-1"),
        ({"alg": "PS256", "kid": "ec-1"}, "ps-1"),
    ],
    ids=["C-8725-06-es256-rsa-kid", "C-8725-06-rs256-ec-kid", "C-8725-06-ps256-ec-kid"],
)
def test_C_8725_06_kty_alg_family(api, make_token, header, key):
    assert_invalid_token(api.get("/orders", make_token(header=header, key=key)))


# --- C-8725-07 .. 13: keys -------------------------------------------------------------------


def test_C_8725_07_encryption_key(api, make_token, server, keys):
    server.route("/jwks", fx_jwks(keys, keys["enc-1"].public_jwk(use="enc", alg="RS256")))
    assert api.get("/orders", make_token()).status_code == 200  # the rest of the set stays usable
    assert_invalid_token(api.get("/orders", make_token(key="enc-1")))


def test_C_8725_07_encryption_key_without_alg(api, make_token, server, keys):
    server.route("/jwks", fx_jwks(keys, keys["enc-1"].public_jwk(use="enc", alg=None)))
    assert_invalid_token(api.get("/orders", make_token(key="enc-1")))


@pytest.mark.parametrize(
    "key_ops",
    [["encrypt"], ["sign"], [], ["wrapKey"], "verify"],
    ids=["C-8725-08-encrypt", "C-8725-08-sign-only", "C-8725-08-empty", "C-8725-08-wrapKey", "C-8725-08-not-array"],
)
def test_C_8725_08_key_ops(api, make_token, server, keys, key_ops):
    server.route("/jwks", fx_jwks(keys, keys["rsa-2"].public_jwk(use=None, key_ops=key_ops)))
    assert_invalid_token(api.get("/orders", make_token(key="rsa-2")))


def test_C_8725_08_key_ops_verify_allowed(api, make_token, server, keys):
    server.route("/jwks", fx_jwks(keys, keys["rsa-2"].public_jwk(use=None, key_ops=["verify"])))
    assert api.get("/orders", make_token(key="rsa-2")).status_code == 200


def test_C_8725_09_weak_rsa_key(api, make_token, server, keys):
    server.route("/jwks", fx_jwks(keys, keys["weak-1"].public_jwk(alg="RS256")))
    assert api.get("/orders", make_token()).status_code == 200
    assert_invalid_token(api.get("/orders", make_token(key="weak-1")))


@pytest.mark.parametrize(
    "published_alg", ["ES256", None, "ES384"], ids=["C-8725-10-alg-ES256", "C-8725-10-no-alg", "C-8725-10-alg-ES384"]
)
@pytest.mark.parametrize("sig_size", ["p384-size", "p256-size"])
def test_C_8725_10_curve_mismatch(api, server, keys, clock, published_alg, sig_size):
    p384 = keys["ec-384"]
    server.route("/jwks", fx_jwks(keys, p384.public_jwk(kid="ec-p384", alg=published_alg)))
    header = {"typ": "at+jwt", "alg": "ES256", "kid": "ec-p384"}
    h = signing.encode_segment(header)
    p = signing.encode_segment(t0_claims(clock.t))
    sig = signing.sign("ES384", p384, f"{h}.{p}".encode(), ec_hash="256")  # 96 bytes
    if sig_size == "p256-size":
        sig = sig[16:48] + sig[64:]  # truncated r, s: what an ES256 verifier would slice
    token = f"{h}.{p}.{signing.b64url(sig)}"
    assert_invalid_token(api.get("/orders", token))


@pytest.mark.parametrize("with_kid", [False, True], ids=["C-8725-11-no-kid", "C-8725-11-kid-rsa-1"])
def test_C_8725_11_embedded_jwk_ignored(api, make_token, keys, with_kid):
    header = {"jwk": keys["KX"].public_jwk(), "kid": "rsa-1" if with_kid else ABSENT}
    assert_invalid_token(api.get("/orders", make_token(header=header, key="KX")))


def _self_signed_cert_der(key: signing.SigningKey) -> bytes:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "as.example.com")])
    now = datetime.datetime(2030, 1, 1, tzinfo=datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(4711)
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=3650))
        .sign(key.private, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.DER)


@pytest.mark.parametrize(
    "header_kind",
    ["jku", "x5u", "x5c", "jku-no-kid", "x5c-no-kid"],
    ids=["C-8725-12-jku", "C-8725-12-x5u", "C-8725-12-x5c", "C-8725-12-jku-no-kid", "C-8725-12-x5c-no-kid"],
)
def test_C_8725_12_key_urls_ignored(api, make_token, server, keys, header_kind):
    kx = keys["KX"]
    server.route("/attacker/jwks", {"keys": [kx.public_jwk(kid="rsa-1"), kx.public_jwk()]})
    server.route("/attacker/cert", _self_signed_cert_der(kx), headers={"Content-Type": "application/pkix-cert"})
    x5c = [signing.b64url(_self_signed_cert_der(kx)).replace("-", "+").replace("_", "/")]
    header = {
        "jku": {"jku": server.url("/attacker/jwks")},
        "jku-no-kid": {"jku": server.url("/attacker/jwks"), "kid": ABSENT},
        "x5u": {"x5u": server.url("/attacker/cert")},
        "x5c": {"x5c": x5c},
        "x5c-no-kid": {"x5c": x5c, "kid": ABSENT},
    }[header_kind]
    header.setdefault("kid", "rsa-1")
    assert_invalid_token(api.get("/orders", make_token(header=header, key="KX")))
    assert server.count("/attacker/jwks") == 0
    assert server.count("/attacker/cert") == 0


def test_C_8725_12_external_key_urls_never_contacted(api, make_token, outbound):
    header = {"jku": "https://attacker.example/jwks", "x5u": "https://attacker.example/cert", "kid": "KX"}
    assert_invalid_token(api.get("/orders", make_token(header=header, key="KX")))
    assert "attacker.example" not in outbound


@pytest.mark.parametrize(
    "kid",
    [
        "../../../../dev/null",
        "' OR '1'='1",
        "%00",
        "\x00",
        "k" * 10_000,
        None,
        123,
        ["rsa-1"],
        {"k": 1},
        "rsa-1\x00",
        "RSA-1",
        "rsa-1 ",
    ],
    ids=[
        "C-8725-13-path",
        "C-8725-13-sql",
        "C-8725-13-percent-nul",
        "C-8725-13-nul",
        "C-8725-13-10k",
        "C-8725-13-null",
        "C-8725-13-number",
        "C-8725-13-array",
        "C-8725-13-object",
        "C-8725-13-trailing-nul",
        "C-8725-13-case",
        "C-8725-13-trailing-space",
    ],
)
def test_C_8725_13_hostile_kid(api, make_token, server, kid):
    assert api.get("/orders", make_token()).status_code == 200  # warm
    fetches = server.count("/jwks")
    response = api.get("/orders", make_token(header={"kid": kid}))
    assert_invalid_token(response)
    assert server.count("/jwks") - fetches <= 1


def test_C_8725_13_hostile_kids_at_most_one_refresh(api, make_token, server, clock):
    assert api.get("/orders", make_token()).status_code == 200
    before = server.count("/jwks")
    # (kid null is covered by test_C_8725_13_hostile_kid; kept out so this counts refreshes only)
    for kid in ["../../../../dev/null", "' OR '1'='1", "%00", "k" * 10_000, 123, "x", "y", "z"]:
        clock.advance(1)
        assert_invalid_token(api.get("/orders", make_token(header={"kid": kid})))
    assert server.count("/jwks") - before <= 1


@pytest.mark.django_db
def test_C_8725_13_no_db_or_file_access_keyed_by_kid(api, make_token, monkeypatch, django_assert_num_queries):
    import builtins
    import os as os_module

    assert api.get("/orders", make_token()).status_code == 200
    opened = []
    real_open, real_os_open = builtins.open, os_module.open

    def spy_open(file, *args, **kwargs):
        opened.append(str(file))
        return real_open(file, *args, **kwargs)

    def spy_os_open(path, *args, **kwargs):
        opened.append(str(path))
        return real_os_open(path, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", spy_open)
    monkeypatch.setattr(os_module, "open", spy_os_open)
    kids = ["../../../../dev/null", "' OR '1'='1", "%00", "/etc/passwd", "file:///etc/passwd"]
    with django_assert_num_queries(0):
        for kid in kids:
            assert_invalid_token(api.get("/orders", make_token(header={"kid": kid})))
    assert not [p for p in opened if "dev/null" in p or "etc/passwd" in p or "OR '1'" in p or "%00" in p], opened


# --- C-8725-14 .. 22: structure ------------------------------------------------------------------


def test_C_8725_14_crit_not_understood(api, make_token, clock):
    token = make_token(header={"crit": ["exp"], "exp": int(clock.t) + 600})
    assert_invalid_token(api.get("/orders", token), "crit")


@pytest.mark.parametrize(
    "crit",
    [[], ["alg"], "exp", ["b64"], None, [1]],
    ids=[
        "C-8725-15-empty",
        "C-8725-15-registered",
        "C-8725-15-not-array",
        "C-8725-15-b64",
        "C-8725-15-null",
        "C-8725-15-number",
    ],
)
def test_C_8725_15_crit_variants(api, make_token, crit):
    header = {"crit": crit}
    if crit == ["b64"]:
        header["b64"] = True
    assert_invalid_token(api.get("/orders", make_token(header=header)))


def _claims_json_with(clock, dup: str) -> bytes:
    claims = t0_claims(clock.t)
    del claims["aud"]
    text = json.dumps(claims, separators=(",", ":"))
    return (text[:-1] + "," + dup + "}").encode()


@pytest.mark.parametrize(
    "dup",
    [
        '"aud":"https://other.example.com","aud":"https://rs.example.com"',
        '"aud":"https://rs.example.com","aud":"https://other.example.com"',
        '"aud":"https://rs.example.com","aud":"https://rs.example.com"',
    ],
    ids=["C-8725-16-payload-last-wins-valid", "C-8725-16-payload-first-wins-valid", "C-8725-16-payload-identical"],
)
def test_C_8725_16_duplicate_claims(api, make_token, clock, dup):
    payload = _claims_json_with(clock, dup)
    json.loads(payload)  # still JSON for a lenient parser
    assert_invalid_token(api.get("/orders", make_token(payload=payload)))


@pytest.mark.parametrize(
    "header_json",
    [
        '{"alg":"RS256","typ":"JWT","typ":"at+jwt","kid":"rsa-1"}',
        '{"alg":"RS256","typ":"at+jwt","typ":"JWT","kid":"rsa-1"}',
        '{"alg":"none","alg":"RS256","typ":"at+jwt","kid":"rsa-1"}',
        '{"alg":"RS256","typ":"at+jwt","kid":"x","kid":"rsa-1"}',
    ],
    ids=[
        "C-8725-16-header-typ-last-valid",
        "C-8725-16-header-typ-first-valid",
        "C-8725-16-header-alg",
        "C-8725-16-header-kid",
    ],
)
def test_C_8725_16_duplicate_header_members(api, keys, clock, header_json):
    token = signing.sign_compact(header_json, t0_claims(clock.t), keys["rsa-1"], alg="RS256")
    assert_invalid_token(api.get("/orders", token))


@pytest.mark.parametrize(
    "encoding",
    ["utf-16-le", "utf-16-le-bom", "utf-16-be", "utf-16", "utf-32", "utf-32-le", "latin-1-bytes"],
    ids=[
        "C-8725-17-utf16le",
        "C-8725-17-utf16le-bom",
        "C-8725-17-utf16be",
        "C-8725-17-utf16-bom",
        "C-8725-17-utf32",
        "C-8725-17-utf32le",
        "C-8725-17-latin1",
    ],
)
def test_C_8725_17_payload_not_utf8(api, make_token, clock, encoding):
    claims = t0_claims(clock.t)
    claims["name"] = "J\u00fcrgen"
    text = json.dumps(claims, ensure_ascii=False)
    if encoding == "utf-16-le-bom":
        payload = b"\xff\xfe" + text.encode("utf-16-le")
    elif encoding == "latin-1-bytes":
        payload = text.encode("latin-1")
    else:
        payload = text.encode(encoding)
    assert_invalid_token(api.get("/orders", make_token(payload=payload)))


def test_C_8725_17_header_not_utf8(api, keys, clock):
    header = json.dumps({"typ": "at+jwt", "alg": "RS256", "kid": "rsa-1"}).encode("utf-16-le")
    token = signing.sign_compact(header, t0_claims(clock.t), keys["rsa-1"], alg="RS256")
    assert_invalid_token(api.get("/orders", token))


def test_C_8725_17_utf8_payload_accepted(api, make_token):
    assert api.get("/orders", make_token(claims={"name": "J\u00fcrgen \u2603"})).status_code == 200


@pytest.mark.parametrize(
    "member",
    ['"exp":Infinity', '"nbf":NaN', '"iat":-Infinity', '"exp":1e400', '"x":NaN', '"exp":-1e400'],
    ids=[
        "C-8725-18-exp-infinity",
        "C-8725-18-nbf-nan",
        "C-8725-18-iat-minus-infinity",
        "C-8725-18-exp-overflow",
        "C-8725-18-unused-nan",
        "C-8725-18-exp-negative-overflow",
    ],
)
def test_C_8725_18_non_finite_numbers(api, make_token, clock, member):
    claims = t0_claims(clock.t)
    name = member.split(":")[0].strip('"')
    claims.pop(name, None)
    text = json.dumps(claims, separators=(",", ":"))
    payload = (text[:-1] + "," + member + "}").encode()
    assert_invalid_token(api.get("/orders", make_token(payload=payload)))


def test_C_8725_18_non_finite_in_header(api, keys, clock):
    header = '{"typ":"at+jwt","alg":"RS256","kid":"rsa-1","x":NaN}'
    token = signing.sign_compact(header, t0_claims(clock.t), keys["rsa-1"], alg="RS256")
    assert_invalid_token(api.get("/orders", token))


def _with_noncanonical_bits(segment: str) -> str | None:
    """The same bytes with non-zero unused low bits in the last character, if it has any."""
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    rem = len(segment) % 4
    if rem == 0:
        return None
    index = alphabet.index(segment[-1])
    changed = segment[:-1] + alphabet[index | (0x0F if rem == 2 else 0x03)]
    assert signing.b64url_decode(changed) == signing.b64url_decode(segment)
    return changed if changed != segment else None


def _variant(token: str, kind: str, part: int) -> str:
    parts = token.split(".")
    seg = parts[part]
    if kind == "padding":
        seg = seg + "=" * (-len(seg) % 4 or 4)
    elif kind == "std-alphabet":
        seg = seg.replace("-", "+").replace("_", "/")
    elif kind == "percent-20":
        seg = seg[:5] + "%20" + seg[5:]
    elif kind == "line-break":
        seg = seg[:5] + "\n" + seg[5:]
    elif kind == "space":
        seg = seg[:5] + " " + seg[5:]
    elif kind == "non-canonical":
        seg = _with_noncanonical_bits(seg) or seg
    parts[part] = seg
    return ".".join(parts)


@pytest.mark.parametrize("part", [0, 1, 2], ids=["header", "payload", "signature"])
@pytest.mark.parametrize(
    "kind",
    ["padding", "std-alphabet", "percent-20", "line-break", "space", "non-canonical"],
    ids=[
        "C-8725-19-padding",
        "C-8725-19-std-alphabet",
        "C-8725-19-percent-20",
        "C-8725-19-line-break",
        "C-8725-19-space",
        "C-8725-19-non-canonical-bits",
    ],
)
def test_C_8725_19_strict_base64url(api, make_token, kind, part):
    for _ in range(50):  # find a token whose segment is affected by this variant
        pad = "~?>" * (1 + _ % 3) + os.urandom(3).hex()[: 1 + _ % 6]  # '~', '?', '>' encode to '-'/'_' often
        token = make_token(header={"x": pad}, claims={"pad": pad})
        changed = _variant(token, kind, part)
        if changed != token:
            break
    else:
        pytest.skip("no affected segment found")
    response = api.get("/orders", authorization=f"Bearer {changed}", secrets=[token])
    assert response.status_code in (400, 401)
    params = challenge_params(response["WWW-Authenticate"])
    if response.status_code == 400:
        assert params["error"] == "invalid_request"
    else:
        assert params["error"] == "invalid_token"


@pytest.mark.parametrize(
    "kind",
    ["padding", "std-alphabet", "non-canonical"],
    ids=["C-8725-19-body-padding", "C-8725-19-body-std-alphabet", "C-8725-19-body-non-canonical"],
)
def test_C_8725_19_strict_base64url_in_form_body(api, make_token, settings, kind):
    # Through the form body the b64token check of the header does not apply.
    settings.JWT_AT_TOKEN_METHODS = ["header", "body"]
    for i in range(50):
        token = make_token(claims={"pad": "x" * (i % 5)})
        changed = _variant(token, kind, 2)
        if changed != token:
            break
    from urllib.parse import quote

    response = api.post(
        "/orders",
        data=f"access_token={quote(changed)}",
        content_type="application/x-www-form-urlencoded",
        secrets=[token],
    )
    assert_invalid_token(response)


@pytest.mark.parametrize(
    "segments", [1, 2, 4, 6, 7], ids=["C-8725-20-1", "C-8725-20-2", "C-8725-20-4", "C-8725-20-6", "C-8725-20-7"]
)
def test_C_8725_20_segment_count(api, make_token, segments):
    parts = make_token().split(".")
    if segments <= 3:
        token = ".".join(parts[:segments])
    else:
        token = ".".join(parts + ["e30"] * (segments - 3))
    assert_invalid_token(api.get("/orders", token))


@pytest.mark.parametrize(
    "token",
    ["..", "a..c", ".b.c", "a.b.", "...."],
    ids=[
        "C-8725-20-dots",
        "C-8725-20-empty-payload",
        "C-8725-20-empty-header",
        "C-8725-20-empty-sig",
        "C-8725-20-4-dots",
    ],
)
def test_C_8725_20_empty_segments(api, token):
    response = api.get("/orders", token)
    assert response.status_code == 401
    assert challenge_params(response["WWW-Authenticate"])["error"] == "invalid_token"


def test_C_8725_21_json_serialization(api, make_token, settings):
    settings.JWT_AT_TOKEN_METHODS = ["header", "body"]
    h, p, s = make_token().split(".")
    general = json.dumps({"payload": p, "signatures": [{"protected": h, "signature": s}]})
    flattened = json.dumps({"payload": p, "protected": h, "signature": s})
    from urllib.parse import quote

    for serialized in (general, flattened):
        response = api.post(
            "/orders",
            data=f"access_token={quote(serialized)}",
            content_type="application/x-www-form-urlencoded",
            secrets=[p, s],
        )
        assert_invalid_token(response)
    response = api.get("/orders", authorization=f"Bearer {flattened}", secrets=[p, s])
    assert response.status_code == 400  # not a b64token (C-6750-07)


@pytest.mark.parametrize(
    "cty", ["JWT", "jwt", "application/jwt"], ids=["C-8725-22-JWT", "C-8725-22-jwt", "C-8725-22-application-jwt"]
)
def test_C_8725_22_nested_jws(api, make_token, keys, clock, cty):
    inner = make_token()
    outer = signing.sign_compact(
        {"typ": "at+jwt", "alg": "RS256", "kid": "rsa-1", "cty": cty}, inner.encode(), keys["rsa-1"]
    )
    assert_invalid_token(api.get("/orders", outer))


def _jwe(header: dict, ciphertext: bytes) -> str:
    return ".".join(
        signing.encode_segment(x) for x in (header, os.urandom(32), os.urandom(16), ciphertext, os.urandom(16))
    )


@pytest.mark.parametrize(
    "kind",
    ["pbes2-p2c", "zip-bomb", "pbes2-huge-p2c"],
    ids=["C-8725-23-pbes2", "C-8725-23-zip", "C-8725-23-pbes2-huge"],
)
def test_C_8725_23_hostile_jwe(api, server, kind):
    if kind.startswith("pbes2"):
        header = {
            "alg": "PBES2-HS256+A128KW",
            "enc": "A128GCM",
            "p2s": signing.b64url(os.urandom(16)),
            "p2c": 10_000_000 if kind == "pbes2-p2c" else 2**62,
            "typ": "at+jwt",
        }
        token = _jwe(header, os.urandom(64))
    else:
        bomb = zlib.compress(b"\0" * (1 << 20), 9)[2:-4]  # raw DEFLATE, 1 MiB of zeros
        token = _jwe({"alg": "dir", "enc": "A128GCM", "zip": "DEF", "typ": "at+jwt"}, bomb)
    started = time.monotonic()
    response = api.get("/orders", token)
    assert time.monotonic() - started < 1.0
    assert_invalid_token(response, "encrypted")
    assert server.total() == 0


def test_C_8725_24_issuer_key_binding(api, make_token, fx, server):
    fx.add_iss2()
    assert api.get("/orders", make_token(claims={"iss": FX_ISS2}, key="as2-1")).status_code == 200
    assert api.get("/orders", make_token(claims={"iss": FX_ISS})).status_code == 200
    assert_invalid_token(api.get("/orders", make_token(claims={"iss": FX_ISS2}, key="rsa-1")))
    assert_invalid_token(api.get("/orders", make_token(claims={"iss": FX_ISS}, key="as2-1")))
    assert_invalid_token(api.get("/orders", make_token(claims={"iss": FX_ISS2}, key="rsa-1", header={"kid": ABSENT})))


def test_C_8725_25_huge_token(api, make_token, server):
    token = make_token(claims={"blob": "A" * (64 * 1024)})
    assert len(token) > 64 * 1024
    started = time.monotonic()
    response = api.get("/orders", token)
    assert time.monotonic() - started < 1.0
    assert response.status_code in (401, 431)
    if response.status_code == 401:
        assert challenge_params(response["WWW-Authenticate"])["error"] == "invalid_token"
    assert server.total() == 0  # decided without fetching keys or verifying


def test_C_8725_25_huge_garbage(api):
    response = api.get("/orders", "A" * (64 * 1024))
    assert response.status_code in (401, 431)


@pytest.mark.parametrize(
    "leeway",
    [3600, -1, 301, "60", True, None],
    ids=[
        "C-8725-26-3600",
        "C-8725-26-negative",
        "C-8725-26-301",
        "C-8725-26-string",
        "C-8725-26-bool",
        "C-8725-26-none",
    ],
)
def test_C_8725_26_leeway_range(settings, leeway):
    settings.JWT_AT_LEEWAY = leeway
    with pytest.raises(ImproperlyConfigured):
        get_config()
    errors = our_messages()
    assert errors and all(m.level >= ERROR for m in errors)


@pytest.mark.parametrize("leeway", [0, 300, 60], ids=["C-8725-26-ok-0", "C-8725-26-ok-300", "C-8725-26-ok-60"])
def test_C_8725_26_leeway_range_ok(settings, leeway):
    settings.JWT_AT_LEEWAY = leeway
    assert get_config().leeway == leeway
    assert not our_messages()
