"""``manage.py jwt_at_inspect``: one verdict per validation step, offline unless ``--fetch``.

The expected step lines are written here from the validation order (spec choice A-33 and
django_jwt_at/jws.py), not read from the library; the last test checks over the hostile
corpus that the command's verdict is always the one ``validate_access_token`` gives.
"""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from django.core.cache import caches
from django.core.management import CommandError, call_command
from django.test import override_settings

from django_jwt_at.conf import get_config
from django_jwt_at.errors import InvalidToken, KeySetUnavailable
from django_jwt_at.jwks import key_sets
from django_jwt_at.validation import validate_access_token

from .conftest import NOW, fx_jwks
from .helpers import FX_AUD, FX_ISS, FX_ISS2, D, leaked_substrings
from .hostile.corpus import CASES, Case
from .hostile.test_corpus import Env, build_token, published_jwk

STEPS = [
    "size",
    "segments",
    "header",
    "typ",
    "alg",
    "crit",
    "header-params",
    "payload",
    "signature-encoding",
    "alg-allowed",
    "issuer",
    "issuer-typ",
    "issuer-alg",
    "key",
    "signature",
    "aud",
    "exp",
    "nbf",
    "iat",
    "claims",
    "claim-values",
    "cnf",
]
EXIT = {"valid": 0, "invalid": 1, "undetermined": 3}
NOT_FETCHED = "key set not fetched; use --fetch"
NO_CACHED_KEY = "no key for this kid and alg in the cached key set (validation would refetch it); use --fetch"
UNAVAILABLE = "the key set cannot be obtained (manage.py jwt_at_keys --refresh says why)"
EXP = "2030-03-17T17:56:40Z (in 10 min)"  # T0's exp seen at NOW
IAT = "2030-03-17T17:46:40Z (now)"
#: How a failing time claim 120 s off NOW is reported after its description (clock skew).
TIME_DETAIL = {
    "expired": " (exp 2030-03-17T17:44:40Z, 2 min ago; leeway 60 s)",
    "nbf": " (nbf 2030-03-17T17:48:40Z, in 2 min; leeway 60 s)",
    "iat": " (iat 2030-03-17T17:48:40Z, in 2 min; leeway 60 s)",
}


def inspect(*args: str, stdin: str | None = None) -> tuple[str, int]:
    """Run the command; return its standard output and exit status."""
    out = io.StringIO()
    extra: dict[str, Any] = {} if stdin is None else {"input_stream": io.StringIO(stdin)}
    try:
        call_command("jwt_at_inspect", *args, stdout=out, **extra)
    except CommandError as exc:
        return out.getvalue(), exc.returncode
    return out.getvalue(), 0


def check_lines(output: str) -> list[str]:
    lines = output.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("Checks at "))
    return lines[start + 1 : start + 1 + len(STEPS)]


def valid_lines(token: str) -> list[str]:
    details = {
        "size": f"{len(token)} characters (at most 8192)",
        "issuer": FX_ISS,
        "key": "kid 'rsa-1', RS256",
        "exp": EXP,
        "nbf": "absent",
        "iat": IAT,
    }
    return [f"PASS  {step}: {details[step]}" if step in details else f"PASS  {step}" for step in STEPS]


def assert_no_token_material(token: str, output: str) -> None:
    signature = token.rsplit(".", 1)[-1]
    assert len(signature) < 8 or signature not in output
    assert leaked_substrings(token, output) == []


# ---------------------------------------------------------------------------------------
# a valid token
# ---------------------------------------------------------------------------------------


def test_valid_token_passes_every_step_and_exits_0(make_token, server):
    token = make_token()
    output, status = inspect("-", "--fetch", stdin=token + "\n")
    assert status == 0
    assert check_lines(output) == valid_lines(token)
    assert output.splitlines()[-1] == "Result: VALID"
    assert "Checks at 2030-03-17T17:46:40Z, keys fetched when needed (--fetch):" in output
    assert server.count("/jwks") == 1
    assert_no_token_material(token, output)


def test_header_and_claims_are_printed_as_json(make_token, server):
    token = make_token(claims={"jti": "j-1"})
    output, _ = inspect("--stdin", "--fetch", stdin=token)
    lines = output.splitlines()
    assert lines[0] == "Header:"
    end = lines.index("Claims:")
    assert json.loads("\n".join(lines[1:end])) == {"typ": "at+jwt", "alg": "RS256", "kid": "rsa-1"}
    checks = next(i for i, line in enumerate(lines) if line.startswith("Checks at "))
    assert json.loads("\n".join(lines[end + 1 : checks]))["jti"] == "j-1"


# ---------------------------------------------------------------------------------------
# one failing step at a time: the exact FAIL line, PASS before it, SKIP after it, exit 1
# ---------------------------------------------------------------------------------------


def _signature_replaced(t: Any) -> str:
    h, p, _ = t.make_token().split(".")
    return f"{h}.{p}.ab+c"


def _two_issuers(t: Any, **iss2: Any) -> None:
    t.fx.add_iss2()
    issuers = dict(t.fx.settings.JWT_AT_ISSUERS)
    issuers[FX_ISS2] = {**issuers[FX_ISS2], **iss2}
    t.fx.settings.JWT_AT_ISSUERS = issuers


def _issuer_typ(t: Any) -> str:
    _two_issuers(t, TOKEN_TYPES=["at+jwt", "jwt"])  # typ JWT is accepted for FX.iss2 only
    return t.make_token({"typ": "JWT"})


def _issuer_alg(t: Any) -> str:
    _two_issuers(t)  # FX.iss2 allows RS256 only; FX.iss allows PS256
    return t.make_token({"kid": "ps-1"}, {"iss": FX_ISS2}, key="ps-1")


def _claim_value(t: Any) -> str:
    t.fx.configure(REQUIRED_CLAIM_VALUES={"tenant": "acme"})
    return t.make_token(claims={"tenant": "other"})


def _header_size(t: Any) -> str:
    t.fx.settings.JWT_AT_MAX_HEADER_SIZE = 64
    return t.make_token({"x-pad": "y" * 40})


FAILING = [
    ("oversize", lambda t: t.make_token(claims={"pad": "x" * 9000}), "size", "malformed-token"),
    ("two-segments", lambda t: "abc.def", "segments", "malformed-token"),
    ("jwe", lambda t: "eyJhbGciOiJSU0EtT0FFUCJ9.a.b.c.d", "segments", "encrypted"),
    ("not-a-jwt", lambda t: "mF_9.B5f-4.1JqM", "header", "malformed-token"),
    ("header-over-limit", _header_size, "header", "malformed-token"),
    ("typ-JWT", lambda t: t.make_token({"typ": "JWT"}), "typ", "typ"),
    ("alg-none", lambda t: t.make_token({"alg": "none"}), "alg", "alg"),
    ("crit", lambda t: t.make_token({"crit": ["exp"], "exp": 1}), "crit", "crit"),
    ("kid-not-a-string", lambda t: t.make_token({"kid": 123}), "header-params", "malformed-token"),
    ("payload-not-json", lambda t: t.make_token(payload=b"not json"), "payload", "malformed-token"),
    ("signature-not-base64url", _signature_replaced, "signature-encoding", "malformed-token"),
    ("alg-RS384-not-allowed", lambda t: t.make_token({"alg": "RS384"}), "alg-allowed", "alg"),
    ("untrusted-issuer", lambda t: t.make_token(claims={"iss": "https://evil.example.com"}), "issuer", "iss"),
    ("typ-not-in-issuer-profile", _issuer_typ, "issuer-typ", "typ"),
    ("alg-not-allowed-for-issuer", _issuer_alg, "issuer-alg", "alg"),
    ("unknown-kid", lambda t: t.make_token({"kid": "nope"}), "key", "signature"),
    ("bad-signature", lambda t: t.make_token({"kid": "rsa-1"}, key="KX"), "signature", "signature"),
    ("aud", lambda t: t.make_token(claims={"aud": "https://other.example.com"}), "aud", "aud"),
    ("expired", lambda t: t.make_token(claims={"exp": int(NOW) - 120}), "exp", "expired"),
    ("exp-not-a-number", lambda t: t.make_token(claims={"exp": "soon"}), "exp", "claims"),
    ("nbf-future", lambda t: t.make_token(claims={"nbf": int(NOW) + 120}), "nbf", "nbf"),
    ("iat-future", lambda t: t.make_token(claims={"iat": int(NOW) + 120}), "iat", "iat"),
    ("missing-client_id", lambda t: t.make_token(remove=["client_id"]), "claims", "claims"),
    ("amr-not-a-list", lambda t: t.make_token(claims={"amr": "pwd"}), "claims", "claims"),
    ("wrong-claim-value", _claim_value, "claim-values", "claims"),
]


class Tools:
    def __init__(self, make_token: Any, fx: Any) -> None:
        self.make_token = make_token
        self.fx = fx


@pytest.mark.parametrize(("build", "step", "key"), [c[1:] for c in FAILING], ids=[c[0] for c in FAILING])
def test_failing_step_is_reported_and_later_steps_are_skipped(make_token, fx, server, build, step, key):
    token = build(Tools(make_token, fx))
    output, status = inspect("-", "--fetch", stdin=token)
    assert status == 1
    lines = check_lines(output)
    at = STEPS.index(step)
    assert [line.split(":")[0] for line in lines[:at]] == [f"PASS  {s}" for s in STEPS[:at]]
    assert lines[at] == f"FAIL  {step}: {D[key]}" + TIME_DETAIL.get(key, "")
    assert lines[at + 1 :] == [f"SKIP  {s}" for s in STEPS[at + 1 :]]
    assert output.splitlines()[-1] == f"Result: INVALID ({step}: {D[key]})"
    # keys are fetched only for a token that passed every check that needs none
    assert (server.total() > 0) == (at >= STEPS.index("key"))
    assert_no_token_material(token, output)


def test_unknown_kid_refetches_once_with_fetch(make_token, server):
    output, status = inspect("-", "--fetch", stdin=make_token({"kid": "rsa-2"}, key="rsa-2"))
    assert status == 1
    assert f"FAIL  key: {D['signature']}" in output
    assert server.count("/jwks") == 2  # the cold fetch, then one refetch for the unknown kid


# ---------------------------------------------------------------------------------------
# offline by default
# ---------------------------------------------------------------------------------------


def test_offline_with_nothing_cached_skips_the_key_steps_and_makes_no_request(make_token, server, outbound):
    token = make_token()
    output, status = inspect("-", stdin=token)
    assert status == 3
    lines = check_lines(output)
    expected = valid_lines(token)
    expected[STEPS.index("key")] = f"SKIP  key: {NOT_FETCHED}"
    expected[STEPS.index("signature")] = "SKIP  signature"
    assert lines == expected
    assert output.splitlines()[-1] == f"Result: NOT DETERMINED ({NOT_FETCHED}; claims checked unverified)"
    assert "keys cached only (offline; --fetch to fetch):" in output
    assert server.total() == 0
    assert outbound == []


def test_offline_claim_failure_is_invalid_without_keys(make_token, server, outbound):
    output, status = inspect("-", stdin=make_token(claims={"exp": int(NOW) - 120}))
    assert status == 1
    lines = check_lines(output)
    assert lines[STEPS.index("key") :] == [
        f"SKIP  key: {NOT_FETCHED}",
        "SKIP  signature",
        "PASS  aud",
        f"FAIL  exp: {D['expired']}{TIME_DETAIL['expired']}",
        "SKIP  nbf",
        "SKIP  iat",
        "SKIP  claims",
        "SKIP  claim-values",
        "SKIP  cnf",
    ]
    assert server.total() == 0
    assert outbound == []


def test_offline_uses_the_key_set_in_the_shared_cache(api, make_token, server, outbound):
    assert api.get("/orders", make_token()).status_code == 200
    key_sets.clear()  # the command runs in a process of its own
    lookups = len(outbound)
    token = make_token()
    output, status = inspect("-", stdin=token)
    assert status == 0
    assert check_lines(output) == valid_lines(token)
    assert server.count("/jwks") == 1
    assert len(outbound) == lookups


def test_offline_finds_the_cached_key_set_through_cached_metadata(api, make_token, server, fx):
    issuer = server.origin  # no JWKS_URI: discovered from the issuer's metadata
    fx.settings.JWT_AT_ISSUERS = {issuer: {"AUDIENCE": FX_AUD, "ALGORITHMS": ["RS256"]}}
    server.route("/.well-known/oauth-authorization-server", {"issuer": issuer, "jwks_uri": server.url("/jwks")})
    assert api.get("/orders", make_token(claims={"iss": issuer})).status_code == 200
    key_sets.clear()
    requests = server.total()
    output, status = inspect("-", stdin=make_token(claims={"iss": issuer}))
    assert status == 0
    assert f"PASS  issuer: {issuer}" in check_lines(output)
    assert server.total() == requests


def test_offline_uses_a_key_set_held_by_the_process(make_token, server, keys):
    key_sets.install(FX_ISS, fx_jwks(keys))
    try:
        token = make_token()
        output, status = inspect("-", stdin=token)
    finally:
        key_sets.uninstall(FX_ISS)
    assert status == 0
    assert check_lines(output) == valid_lines(token)
    assert server.total() == 0


def test_offline_unknown_kid_is_not_determined_since_validation_would_refetch(api, make_token, server):
    assert api.get("/orders", make_token()).status_code == 200
    output, status = inspect("-", stdin=make_token({"kid": "rsa-2"}, key="rsa-2"))
    assert status == 3
    assert f"SKIP  key: {NO_CACHED_KEY}" in check_lines(output)
    assert server.count("/jwks") == 1


def test_offline_expired_cache_entry_is_not_used(api, make_token, server, clock):
    assert api.get("/orders", make_token()).status_code == 200
    key_sets.clear()
    clock.advance(3601)  # past the key set's lifetime: validation would refresh it
    output, status = inspect("-", stdin=make_token())
    assert status == 3
    assert f"SKIP  key: {NOT_FETCHED}" in check_lines(output)
    assert server.count("/jwks") == 1


def test_fetch_when_the_issuer_is_down_is_not_determined(make_token, server):
    server.route("/jwks", "down", status=500)
    output, status = inspect("-", "--fetch", stdin=make_token())
    assert status == 3
    assert f"SKIP  key: {UNAVAILABLE}" in check_lines(output)
    assert output.splitlines()[-1] == f"Result: NOT DETERMINED ({UNAVAILABLE}; claims checked unverified)"


# ---------------------------------------------------------------------------------------
# input, --at, --json, usage errors
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("args", [("-",), ("--stdin",)], ids=["dash", "--stdin"])
def test_token_from_standard_input(make_token, args):
    token = make_token()
    output, status = inspect(*args, stdin=f"  {token}\r\n")
    assert status == 3  # offline, nothing cached
    assert check_lines(output)[: STEPS.index("key")] == valid_lines(token)[: STEPS.index("key")]


def test_token_as_argument(make_token):
    token = make_token()
    output, status = inspect(token)
    assert status == 3
    assert check_lines(output)[0] == f"PASS  size: {len(token)} characters (at most 8192)"


@pytest.mark.parametrize(
    ("args", "stdin", "message"),
    [
        ((), None, "no token: pipe it to standard input with '-' or --stdin (recommended), or give it as an argument"),
        (("--stdin", "abc"), "abc", "give the token either on standard input or as an argument"),
        (("-",), " \n", "the token is empty"),
        (("-", "--at", "yesterday"), "a.b.c", "--at: 'yesterday' is neither a timestamp nor an ISO 8601 date"),
        (("-", "--at", "nan"), "a.b.c", "--at: 'nan' is not a finite timestamp"),
    ],
    ids=["no-token", "both", "empty", "bad-at", "nan-at"],
)
def test_usage_errors_exit_2(args, stdin, message):
    out = io.StringIO()
    extra = {} if stdin is None else {"input_stream": io.StringIO(stdin)}
    with pytest.raises(CommandError) as raised:
        call_command("jwt_at_inspect", *args, stdout=out, **extra)
    assert (raised.value.returncode, str(raised.value)) == (2, message)
    assert out.getvalue() == ""


def test_configuration_error_exits_2(settings, make_token):
    settings.JWT_AT_ISSUERS = {}
    with pytest.raises(CommandError, match=r"django_jwt_at\.E001") as raised:
        call_command("jwt_at_inspect", "-", input_stream=io.StringIO(make_token()), stdout=io.StringIO())
    assert raised.value.returncode == 2


@pytest.mark.parametrize(
    "at", [str(int(NOW) + 660), "2030-03-17T17:57:40Z", "2030-03-17T17:57:40", "2030-03-17T18:57:40+01:00"]
)
def test_at_evaluates_time_claims_at_another_instant(make_token, server, at):
    token = make_token()  # exp NOW + 600, leeway 60: expired from NOW + 660 on
    output, status = inspect("-", "--fetch", "--at", at, stdin=token)
    assert status == 1
    assert f"FAIL  exp: {D['expired']} (exp 2030-03-17T17:56:40Z, 1 min ago; leeway 60 s)" in check_lines(output)
    assert "Checks at 2030-03-17T17:57:40Z," in output
    output, status = inspect("-", "--fetch", "--at", str(int(NOW) + 659), stdin=token)
    assert status == 0
    assert "PASS  exp: 2030-03-17T17:56:40Z (59 s ago)" in check_lines(output)


def test_json_output(make_token, server):
    token = make_token(claims={"exp": int(NOW) - 120, "jti": "j-2"})
    output, status = inspect("-", "--fetch", "--json", stdin=token)
    assert status == 1
    document = json.loads(output)
    assert document["header"] == {"typ": "at+jwt", "alg": "RS256", "kid": "rsa-1"}
    assert document["claims"]["jti"] == "j-2" and document["claims"]["exp"] == int(NOW) - 120
    assert (document["at"], document["fetch"]) == (NOW, True)
    assert (document["result"], document["failed_step"], document["reason"]) == ("invalid", "exp", D["expired"])
    assert document["exit_status"] == 1
    steps = document["steps"]
    assert [s["step"] for s in steps] == STEPS
    assert [s["verdict"] for s in steps] == ["PASS"] * 16 + ["FAIL"] + ["SKIP"] * 5
    assert steps[STEPS.index("exp")]["detail"] == D["expired"] + TIME_DETAIL["expired"]
    assert steps[STEPS.index("key")]["detail"] == "kid 'rsa-1', RS256"
    assert steps[STEPS.index("nbf")]["detail"] is None
    assert_no_token_material(token, output)


def test_json_output_when_nothing_decodes():
    output, status = inspect("-", "--json", stdin="abc.def")
    assert status == 1
    document = json.loads(output)
    assert (document["header"], document["claims"], document["failed_step"]) == (None, None, "segments")


def test_terminal_control_characters_in_claims_are_escaped(make_token):
    output, _ = inspect("-", stdin=make_token({"kid": "k\x1b[2J"}, {"sub": "\x1b]0;owned\x07\u202e"}))
    assert "\x1b" not in output and "\x07" not in output and "\u202e" not in output
    assert '"sub": "\\u001b]0;owned\\u0007\\u202e"' in output


def test_nothing_is_logged(make_token, server, caplog):
    caplog.set_level("DEBUG")
    for args in (("-",), ("-", "--fetch")):
        inspect(*args, stdin=make_token())
        inspect(*args, stdin=make_token(claims={"aud": "x"}))
    records = [r for r in caplog.records if r.name.startswith("django_jwt_at")]
    assert records == []


# ---------------------------------------------------------------------------------------
# the command's verdict is validate_access_token's, over the hostile corpus
# ---------------------------------------------------------------------------------------

# The cases whose token is sent as it is in the Authorization header (the others test the
# request around the token).
TOKEN_CASES = [c for c in CASES if c.authorization == "Bearer <T>" and c.body is None and "<T>" not in c.path]


def _outcome(token: str) -> tuple[str, str | None]:
    try:
        validate_access_token(token, config=get_config(), key_sets=key_sets, now=NOW)
    except InvalidToken as exc:
        return "invalid", exc.description.value
    except KeySetUnavailable:
        return "undetermined", UNAVAILABLE
    return "valid", None


def _controls() -> list[Case]:
    """Cases the corpus expects accepted, so that the comparison covers valid tokens too."""
    from .hostile.test_corpus import CONTROLS

    return [Case(f"control-{name}", "control", (200, None, None), token=tok, settings=s) for name, tok, s in CONTROLS]


def test_verdict_equals_validate_access_token_over_the_hostile_corpus(server, keys, fx):
    assert len(TOKEN_CASES) > 300
    env = Env(keys, server, None, fx.issuer_options())
    outcomes: dict[str, int] = {}
    for case in TOKEN_CASES + _controls():
        server.reset()
        server.route("/jwks", fx_jwks(keys, *(published_jwk(n, a, env) for n, a in case.publish)))
        server.route("/as2/jwks", {"keys": [keys["as2-1"].public_jwk(alg="RS256")]})
        issuers = {FX_ISS: dict(env.issuer_options)}
        if case.iss2:
            issuers[FX_ISS2] = {"AUDIENCE": FX_AUD, "JWKS_URI": server.url("/as2/jwks"), "ALGORITHMS": ["RS256"]}
        token = build_token(case.token, env)
        with override_settings(JWT_AT_ISSUERS=issuers, **case.settings):
            key_sets.clear()
            caches["default"].clear()
            expected = _outcome(token)
            key_sets.clear()
            caches["default"].clear()
            output, status = inspect("-", "--fetch", "--json", stdin=token)
        document = json.loads(output)
        assert (document["result"], document["reason"]) == expected, case.id
        assert status == document["exit_status"] == EXIT[document["result"]], case.id
        steps = document["steps"]
        assert [s["step"] for s in steps] == STEPS, case.id
        verdicts = "".join(s["verdict"][0] for s in steps)
        if document["result"] == "invalid":
            at = STEPS.index(document["failed_step"])
            assert verdicts == "P" * at + "F" + "S" * (len(STEPS) - at - 1), case.id
        else:
            assert document["failed_step"] is None
        assert_no_token_material(token, output)
        outcomes[document["result"]] = outcomes.get(document["result"], 0) + 1
    assert outcomes["invalid"] > 300
    assert outcomes["valid"] >= len(_controls())
