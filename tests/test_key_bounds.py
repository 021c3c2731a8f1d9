"""Bounded keys: the size of every key that enters, from a JWK Set (here) or a DPoP proof
(tests/test_rfc9449_dpop.py).

An RSA modulus has 2048 to JWT_AT_MAX_RSA_KEY_BITS (default 8192) bits; the exponent is
odd, at least 3 and under 2**32; EC and OKP coordinates have exactly their curve's length
(RFC 7518 §6.2.1.2, RFC 8037 §2). A JWK that fails is dropped with a warning, and the
rest of its set stays usable. Moduli for keys that never verify anything are odd numbers
of the right size (tests/signing.py ``odd_modulus``): generating RSA keys of 8192 bits
and more would take seconds.
"""

from __future__ import annotations

import logging

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from django.core.checks import run_checks
from django.core.exceptions import ImproperlyConfigured

from django_jwt_at import conf, jwks
from django_jwt_at import keys as keys_module
from django_jwt_at.conf import get_config
from django_jwt_at.jwks import key_sets
from django_jwt_at.keys import UnusableKey, VerificationKey, load_jwk

from . import signing
from .conftest import fx_jwks
from .helpers import FX_ISS, assert_invalid_token, our_messages

ALGORITHMS = ("RS256", "PS256", "ES256", "ES384", "ES512", "EdDSA")
LONGER = "the RSA key is longer than {} bits"
SHORTER = "the RSA key is shorter than 2048 bits"
EXPONENT = "the RSA public exponent is not an odd number from 3 to 2**32"
BIG_EXPONENT = (1 << 3070) | 0x1235  # 3,071 bits, odd


@pytest.fixture(scope="module")
def exponent_keys():
    """Real keys with unusual exponents: 3 (accepted) and 3,071 bits (refused)."""
    return {
        "e-3": signing.SigningKey("e-3", rsa.generate_private_key(public_exponent=3, key_size=2048), "RS256"),
        "e-3071": signing.rsa_key_with_exponent("e-3071", BIG_EXPONENT, bits=3072),
    }


def dropped(caplog, kid):
    """The reasons logged for dropping ``kid`` from FX.iss's key set (once per load: a
    token with an unknown kid loads the set again)."""
    prefix = f"Dropped key kid={kid!r} of issuer {FX_ISS}: "
    return {
        r.getMessage()[len(prefix) :]
        for r in caplog.get_records("call")
        if r.name == "django_jwt_at.jwks" and r.levelno == logging.WARNING and r.getMessage().startswith(prefix)
    }


def loaded(kid, alg="RS256"):
    """The prepared keys of FX.iss for (kid, alg) in this process's current key set."""
    key_set = key_sets.current(get_config().issuers[FX_ISS])
    assert key_set is not None
    return key_set.find(kid, alg)


def reason(jwk, **kwargs):
    """Why load_jwk refuses ``jwk``, or None when it loads it."""
    try:
        load_jwk(jwk, ALGORITHMS, **kwargs)
    except UnusableKey as exc:
        return str(exc)
    return None


# --- RSA: modulus and exponent, at load_jwk ---------------------------------------------------


@pytest.mark.parametrize(
    "bits, expected",
    [
        (2047, SHORTER),
        (2048, None),
        (4096, None),
        (8192, None),
        (8193, LONGER.format(8192)),
        (8200, LONGER.format(8192)),
        (16384, LONGER.format(8192)),
        (65536, LONGER.format(8192)),
    ],
    ids=lambda v: f"{v}-bits" if isinstance(v, int) else "",
)
def test_rsa_modulus_from_2048_to_8192_bits(bits, expected):
    assert reason(signing.rsa_jwk(signing.odd_modulus(bits))) == expected


@pytest.mark.parametrize(
    "exponent, expected",
    [
        (3, None),
        (65537, None),
        (2**32 - 1, None),
        (2**32 + 1, EXPONENT),
        (2**64 + 1, EXPONENT),
        (BIG_EXPONENT, EXPONENT),
        (1, EXPONENT),
        (2, EXPONENT),
        (65536, EXPONENT),
        (0, EXPONENT),
    ],
    ids=["3", "65537", "2**32-1", "2**32+1", "2**64+1", "3071-bit", "1", "2", "even", "0"],
)
def test_rsa_exponent_odd_from_3_to_2_32(exponent, expected):
    assert reason(signing.rsa_jwk(signing.odd_modulus(4096), exponent)) == expected


def test_rsa_one_leading_zero_octet_is_tolerated():
    # RFC 7518 §6.3.1.1 notes libraries that prefix a zero octet; the value is the same.
    n = signing.odd_modulus(8192)
    jwk = {"kty": "RSA", "n": signing.b64url(b"\0" + n.to_bytes(1024, "big")), "e": signing.b64url(b"\0\1\0\1")}
    assert reason(jwk) is None
    jwk["n"] = signing.b64url(b"\0\0" + n.to_bytes(1024, "big"))
    assert reason(jwk) == LONGER.format(8192)  # more than one: counted as length


def test_rsa_bound_follows_the_argument():
    jwk = signing.rsa_jwk(signing.odd_modulus(10_000))
    assert reason(jwk) == LONGER.format(8192)
    assert reason(jwk, max_rsa_bits=10_000) is None
    assert reason(jwk, max_rsa_bits=9_999) == LONGER.format(9999)


@pytest.mark.parametrize(
    "jwk",
    [
        signing.rsa_jwk(signing.odd_modulus(3072), BIG_EXPONENT),
        signing.rsa_jwk(signing.odd_modulus(4096), 2**32 + 1),
        signing.rsa_jwk(signing.odd_modulus(8200)),
        {"kty": "RSA", "n": "A" * 1_000_000, "e": "AQAB"},
        {"kty": "RSA", "n": signing.rsa_jwk(signing.odd_modulus(2048))["n"], "e": "A" * 1_000_000},
    ],
    ids=["3071-bit-exponent", "33-bit-exponent", "8200-bit-modulus", "megabyte-n", "megabyte-e"],
)
def test_rsa_sizes_are_refused_before_any_key_object(monkeypatch, jwk):
    built = []
    real = keys_module.rsa.RSAPublicNumbers

    def spy(*args):
        built.append(args)
        return real(*args)

    monkeypatch.setattr(keys_module.rsa, "RSAPublicNumbers", spy)
    assert reason(jwk) is not None
    assert built == []


# --- EC and OKP: exact coordinate lengths -------------------------------------------------------


@pytest.mark.parametrize("crv, size", [("P-256", 32), ("P-384", 48), ("P-521", 66)])
@pytest.mark.parametrize("member", ["x", "y"])
def test_ec_coordinates_have_exactly_the_curve_length(crv, size, member):
    jwk = signing.ec_key("ec", crv).public_jwk(alg=None)
    assert reason(jwk) is None
    value = signing.b64url_decode(jwk[member])
    for wrong in (b"\0" + value, value[1:], value + b"\0", b"\0" * 10_000 + value):
        assert reason({**jwk, member: signing.b64url(wrong)}) == f"member {member!r} is not {size} octets long"


def test_okp_public_key_has_exactly_the_curve_length():
    jwk = signing.ed25519_key("ed").public_jwk(alg=None)
    assert reason(jwk) is None
    raw = signing.b64url_decode(jwk["x"])
    for wrong in (b"\0" + raw, raw[1:], b"\0" * 10_000):
        assert reason({**jwk, "x": signing.b64url(wrong)}) == "member 'x' is not 32 octets long"
    assert reason({**jwk, "crv": "Ed448", "x": signing.b64url(b"\1" * 56)}) == "member 'x' is not 57 octets long"
    assert reason({**jwk, "crv": ["Ed25519"]}) == "its curve is not supported"


# --- JWK Sets: a bad key is dropped with a warning, the others stay usable ---------------------


def test_jwks_modulus_over_8192_bits_is_dropped(api, make_token, server, keys, caplog):
    big = signing.rsa_jwk(signing.odd_modulus(8200), kid="big", alg="RS256")
    server.route("/jwks", fx_jwks(keys, big))
    assert api.get("/orders", make_token()).status_code == 200
    assert api.get("/orders", make_token(key="ec-1")).status_code == 200
    assert dropped(caplog, "big") == {LONGER.format(8192)}
    assert loaded("big") == ()


def test_jwks_modulus_of_8192_bits_is_loaded(api, make_token, server, keys, caplog):
    server.route("/jwks", fx_jwks(keys, signing.rsa_jwk(signing.odd_modulus(8192), kid="big", alg="RS256")))
    assert api.get("/orders", make_token()).status_code == 200
    assert dropped(caplog, "big") == set()
    assert [key.kid for key in loaded("big")] == ["big"]


def test_jwks_exponent_3_is_accepted(api, make_token, server, keys, exponent_keys, caplog):
    e3 = exponent_keys["e-3"]
    assert e3.public_key().public_numbers().e == 3
    server.route("/jwks", fx_jwks(keys, e3.public_jwk(alg="RS256")))
    assert api.get("/orders", make_token(key=e3)).status_code == 200
    assert dropped(caplog, "e-3") == set()


def test_jwks_exponent_of_3071_bits_is_dropped(api, make_token, server, keys, exponent_keys, caplog):
    # A real key: its tokens verify, slowly (the cost grows with the exponent's bits).
    big = exponent_keys["e-3071"]
    server.route("/jwks", fx_jwks(keys, big.public_jwk(alg="RS256")))
    assert_invalid_token(api.get("/orders", make_token(key=big)), "signature")
    assert api.get("/orders", make_token()).status_code == 200
    assert dropped(caplog, "e-3071") == {EXPONENT}


def test_jwks_exponent_over_2_32_is_dropped(api, make_token, server, keys, caplog):
    jwk = signing.rsa_jwk(signing.odd_modulus(2048), 2**32 + 1, kid="e-33", alg="RS256")
    server.route("/jwks", fx_jwks(keys, jwk))
    assert api.get("/orders", make_token()).status_code == 200
    assert dropped(caplog, "e-33") == {EXPONENT}
    assert loaded("e-33") == ()


def test_jwks_ec_coordinate_with_a_leading_zero_is_dropped(api, make_token, server, keys, caplog):
    ec = signing.ec_key("ec-pad", "P-256")
    jwk = ec.public_jwk(alg="ES256")
    jwk["x"] = signing.b64url(b"\0" + signing.b64url_decode(jwk["x"]))  # 33 octets, same value
    server.route("/jwks", fx_jwks(keys, jwk))
    assert_invalid_token(api.get("/orders", make_token(key=ec)), "signature")
    assert api.get("/orders", make_token(key="ec-1")).status_code == 200
    assert dropped(caplog, "ec-pad") == {"member 'x' is not 32 octets long"}


def test_jwks_setting_raises_the_limit(api, make_token, server, keys, settings, caplog):
    server.route("/jwks", fx_jwks(keys, signing.rsa_jwk(signing.odd_modulus(10_000), kid="big", alg="RS256")))
    assert api.get("/orders", make_token()).status_code == 200
    assert dropped(caplog, "big") == {LONGER.format(8192)}
    settings.JWT_AT_MAX_RSA_KEY_BITS = 10_000  # a settings change empties the key sets
    caplog.clear()
    assert api.get("/orders", make_token()).status_code == 200
    assert dropped(caplog, "big") == set()
    assert [key.kid for key in loaded("big")] == ["big"]
    settings.JWT_AT_MAX_RSA_KEY_BITS = 9_999
    assert api.get("/orders", make_token()).status_code == 200
    assert dropped(caplog, "big") == {LONGER.format(9999)}


def test_jwks_setting_lowers_the_limit(api, make_token, server, keys, settings, caplog):
    settings.JWT_AT_MAX_RSA_KEY_BITS = 2048
    server.route("/jwks", fx_jwks(keys, signing.rsa_jwk(signing.odd_modulus(3072), kid="rsa-3072", alg="RS256")))
    assert api.get("/orders", make_token()).status_code == 200
    assert dropped(caplog, "rsa-3072") == {LONGER.format(2048)}


def test_installed_key_sets_follow_the_setting(settings, keys):
    big = signing.rsa_jwk(signing.odd_modulus(10_000), kid="big", alg="RS256")
    key_sets.install(FX_ISS, fx_jwks(keys, big))
    try:
        config = get_config()
        assert key_sets.find(config.issuers[FX_ISS], "big", "RS256", config) == ()
        settings.JWT_AT_MAX_RSA_KEY_BITS = 10_000
        config = get_config()
        found = key_sets.find(config.issuers[FX_ISS], "big", "RS256", config)
        assert [key.kid for key in found] == ["big"] and isinstance(found[0], VerificationKey)
    finally:
        key_sets.uninstall(FX_ISS)


# --- the setting ---------------------------------------------------------------------------------


def test_setting_default():
    config = get_config()
    assert config.max_rsa_bits == keys_module.MAX_RSA_BITS == conf.DEFAULT_MAX_RSA_KEY_BITS == 8192
    assert config.issuers[FX_ISS].max_rsa_bits == 8192


@pytest.mark.parametrize("value", [2048, 16384, 10_000])
def test_setting_in_range(settings, value):
    settings.JWT_AT_MAX_RSA_KEY_BITS = value
    assert not our_messages()
    config = get_config()
    assert config.max_rsa_bits == value
    assert config.issuers[FX_ISS].max_rsa_bits == value


@pytest.mark.parametrize(
    "value", [2047, 16385, 0, -1, True, "8192", 8192.0, None], ids=lambda v: f"{type(v).__name__}-{v}"
)
def test_setting_out_of_range_is_E019(settings, value):
    settings.JWT_AT_MAX_RSA_KEY_BITS = value
    messages = [m for m in run_checks() if m.id == "django_jwt_at.E019"]
    assert [m.msg for m in messages] == ["JWT_AT_MAX_RSA_KEY_BITS must be an integer from 2048 to 16384."]
    with pytest.raises(ImproperlyConfigured, match=r"django_jwt_at\.E019"):
        get_config()


# --- JWK Sets: at most MAX_KEYS entries are examined ------------------------------------------------


def test_jwks_only_the_first_100_keys_are_examined(api, make_token, server, keys, caplog):
    junk = [{"kty": "junk", "kid": f"junk-{i}"} for i in range(jwks.MAX_KEYS + 20)]
    document = {"keys": [keys["rsa-1"].public_jwk(alg="RS256"), *junk, keys["ec-1"].public_jwk(alg="ES256")]}
    server.route("/jwks", document)
    assert api.get("/orders", make_token()).status_code == 200
    assert_invalid_token(api.get("/orders", make_token(key="ec-1")), "signature")  # key 122: never examined
    messages = [r.getMessage() for r in caplog.get_records("call") if r.name == "django_jwt_at.jwks"]
    loads = [m for m in messages if m.startswith("JWK Set of issuer")]
    assert loads == [f"JWK Set of issuer {FX_ISS} has 122 keys: only the first 100 are used"] * 2  # unknown kid
    assert sum(m.startswith("Dropped key") for m in messages) == 2 * (jwks.MAX_KEYS - 1)
    status = key_sets.status(get_config().issuers[FX_ISS], get_config())
    assert status.dropped[0] == (None, "the 22 keys past the first 100 are not used")
    assert len(status.dropped) == jwks.MAX_KEYS and [k[0] for k in status.keys] == ["rsa-1"]
