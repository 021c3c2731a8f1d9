"""Expected values and response checks shared by the conformance tests.

The expected ``WWW-Authenticate`` strings are built here, independently of the library,
in the canonical form of conformance spec §0.3; :func:`parse_challenges` is a strict
RFC 9110 §11 parser used to check the structural rules (C-6750-15/17/18/19).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any

REALM = "api"
FX_ISS = "https://as.example.com"
FX_ISS2 = "https://as2.example.net"
FX_AUD = "https://rs.example.com"
MFA = "urn:example:acr:mfa"
PWD = "urn:example:acr:pwd"
HWK = "urn:example:acr:hwk"

# Conformance spec §0.4 (choice A-02), adopted verbatim.
D = {
    "malformed-header": "The Authorization header is malformed",
    "multiple-methods": "Multiple methods used to include access token",
    "malformed-token": "The access token is malformed",
    "typ": "The access token type is not at+jwt",
    "alg": "The access token signing algorithm is not allowed",
    "signature": "The access token signature is invalid",
    "iss": "The access token issuer is not trusted",
    "aud": "The access token audience is invalid",
    "expired": "The access token expired",
    "nbf": "The access token is not yet valid",
    "iat": "The access token issue time is in the future",
    "claims": "The access token is missing a required claim or has an invalid claim",
    "crit": "The access token has an unsupported critical header",
    "encrypted": "Encrypted access tokens are not supported",
    "scope": "The request requires higher privileges than provided by the access token",
    "acr": "A different authentication level is required",
    "max-age": "More recent authentication is required",
    "acr-max-age": "A different authentication level and more recent authentication are required",
    "confirmation": "The access token is bound to a key by a method the resource server does not support",
    "dpop-missing": "DPoP proof is missing",
    "dpop-proof": "Invalid DPoP proof",
    "dpop-binding": "Invalid DPoP key binding",
    "dpop-bearer": "DPoP-bound access token requires the DPoP authentication scheme",
    "dpop-unbound": "Access token is not DPoP-bound",
    "dpop-nonce": "Resource server requires nonce in DPoP proof",
}
DPOP_ALGS = "ES256 PS256"

NO_CREDENTIALS = f'Bearer realm="{REALM}"'


def bearer(
    error: str | None = None,
    description: str | None = None,
    *,
    error_uri: str | None = None,
    scope: str | None = None,
    acr_values: str | None = None,
    max_age: str | None = None,
    realm: str = REALM,
    resource_metadata: str | None = None,
) -> str:
    """The canonical Bearer challenge (spec §0.3 parameter order, every value quoted):
    ``scope`` right after the error parameters and before ``error_uri``, so that no
    ``scope=`` inside an error URI comes first."""
    params = [("realm", realm)]
    for name, value in (
        ("error", error),
        ("error_description", description),
        ("scope", scope),
        ("acr_values", acr_values),
        ("max_age", max_age),
        ("error_uri", error_uri),
        ("resource_metadata", resource_metadata),
    ):
        if value is not None:
            params.append((name, value))
    return "Bearer " + ", ".join(f'{n}="{v}"' for n, v in params)


def dpop(
    error: str | None = None,
    description: str | None = None,
    *,
    scope: str | None = None,
    acr_values: str | None = None,
    max_age: str | None = None,
    error_uri: str | None = None,
    algs: str = DPOP_ALGS,
    resource_metadata: str | None = None,
) -> str:
    """The canonical DPoP challenge (spec §0.3: no realm, algs after the error params)."""
    params = []
    for name, value in (
        ("error", error),
        ("error_description", description),
        ("scope", scope),
        ("acr_values", acr_values),
        ("max_age", max_age),
        ("error_uri", error_uri),
        ("algs", algs),
        ("resource_metadata", resource_metadata),
    ):
        if value is not None:
            params.append((name, value))
    return "DPoP " + ", ".join(f'{n}="{v}"' for n, v in params)


def invalid_token(key: str) -> str:
    return bearer("invalid_token", D[key])


def assert_invalid_token(response, description_key=None):
    assert response.status_code == 401, response.content
    value = response["WWW-Authenticate"]
    if description_key:
        assert value == invalid_token(description_key)
    else:
        params = challenge_params(value)
        assert params["error"] == "invalid_token", value
        assert params.get("error_description") in D.values(), value


def invalid_request(key: str = "malformed-header") -> str:
    return bearer("invalid_request", D[key])


def insufficient_scope(scope: str | None = None) -> str:
    return bearer("insufficient_scope", D["scope"], scope=scope)


# ---------------------------------------------------------------------------------------
# RFC 9110 §11 challenge parser
# ---------------------------------------------------------------------------------------

_TOKEN = r"[!#$%&'*+.^_`|~0-9A-Za-z-]+"
_OWS = r"[ \t]*"
_QUOTED = r'"(?:[^"\\]|\\.)*"'


class ChallengeSyntaxError(AssertionError):
    pass


def parse_challenges(value: str) -> list[tuple[str, list[tuple[str, str]]]]:
    """Parse a WWW-Authenticate value into [(scheme, [(name, value), ...]), ...].

    Parameter lists keep duplicates and order so callers can check them; ``token68``
    credentials are returned as a single ``("", token68)`` pair. Raises
    ChallengeSyntaxError on anything RFC 9110 §11.2/§11.6.1 does not allow.
    """
    pos = 0
    n = len(value)
    result: list[tuple[str, list[tuple[str, str]]]] = []

    def skip(pattern: str) -> None:
        nonlocal pos
        m = re.compile(pattern).match(value, pos)
        if m:
            pos = m.end()

    while True:
        skip(_OWS)
        m = re.compile(_TOKEN).match(value, pos)
        if not m:
            raise ChallengeSyntaxError(f"expected an auth-scheme at {pos} in {value!r}")
        scheme = m.group(0)
        pos = m.end()
        params: list[tuple[str, str]] = []
        if pos < n and value[pos] == " ":
            skip(" +")
            # token68?
            t68 = re.compile(r"[A-Za-z0-9\-._~+/]+=*" + _OWS + r"(?=,|$)").match(value, pos)
            is_param = re.compile(_TOKEN + _OWS + "=").match(value, pos)
            if t68 and not is_param:
                params.append(("", t68.group(0).strip()))
                pos = t68.end()
            else:
                while True:
                    pm = re.compile("(" + _TOKEN + ")" + _OWS + "=" + _OWS).match(value, pos)
                    if not pm:
                        break
                    name = pm.group(1)
                    pos = pm.end()
                    qm = re.compile(_QUOTED).match(value, pos)
                    tm = re.compile(_TOKEN).match(value, pos)
                    if qm:
                        raw = qm.group(0)[1:-1]
                        pos = qm.end()
                        params.append((name, re.sub(r"\\(.)", r"\1", raw)))
                    elif tm:
                        pos = tm.end()
                        params.append((name, tm.group(0)))
                    else:
                        raise ChallengeSyntaxError(f"bad value for {name} in {value!r}")
                    save = pos
                    skip(_OWS + "," + _OWS)
                    # another param of this challenge, or the next challenge?
                    if pos == save or not re.compile(_TOKEN + _OWS + "=").match(value, pos):
                        pos = save
                        break
        result.append((scheme, params))
        skip(_OWS)
        if pos >= n:
            return result
        if value[pos] != ",":
            raise ChallengeSyntaxError(f"unexpected {value[pos:]!r} in {value!r}")
        pos += 1


ERROR_VALUE = re.compile(r"[\x20\x21\x23-\x5b\x5d-\x7e]*\Z")  # RFC 6750 §3 error, error_description
SCOPE_VALUE = re.compile(r"[\x21\x23-\x5b\x5d-\x7e]+( [\x21\x23-\x5b\x5d-\x7e]+)*\Z")
URI_VALUE = re.compile(r"[\x21\x23-\x5b\x5d-\x7e]+\Z")


ALGS_VALUE = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+( [!#$%&'*+.^_`|~0-9A-Za-z-]+)*\Z")
NONCE_VALUE = re.compile(r"[\x21\x23-\x5b\x5d-\x7e]+\Z")  # RFC 9449 §8.1 NQCHAR


def _dpop_problems(params: list[tuple[str, str]], status: int) -> list[str]:
    """RFC 9449 §7.1 / spec §0.3 rules for one DPoP challenge."""
    problems: list[str] = []
    names = [name.lower() for name, _ in params]
    if "algs" not in names:
        problems.append("spec §0.3: DPoP challenge without algs")
    if "realm" in names:
        problems.append("spec §0.3: realm on the DPoP challenge")
    dupes = {x for x in names if names.count(x) > 1}
    if dupes:
        problems.append(f"C-6750-17: repeated parameters {sorted(dupes)} on the DPoP challenge")
    values = {name.lower(): val for name, val in params}
    for name in ("error", "error_description"):
        if name in values and not ERROR_VALUE.match(values[name]):
            problems.append(f"C-6750-15: DPoP {name} has characters outside %x20-21/%x23-5B/%x5D-7E")
    if "algs" in values and (not ALGS_VALUE.match(values["algs"]) or "none" in values["algs"].split()):
        problems.append("C-9728-06: DPoP algs is not a list of JWS algorithms")
    if values.get("error") in ("invalid_dpop_proof", "use_dpop_nonce") and status != 401:
        problems.append(f"C-9449-35: {values['error']} with status {status}")
    return problems


def challenge_problems(value: str | None, status: int) -> list[str]:
    """Every structural rule of RFC 6750 §3 / RFC 9110 §11 / RFC 9449 §7.1 the header
    breaks (C-6750-15, -17, -18, -19, C-DRF-03, C-9449-35). Empty list = fine."""
    problems: list[str] = []
    if value is None:
        if status == 401:
            problems.append("C-DRF-03: 401 without WWW-Authenticate")
        return problems
    try:
        challenges = parse_challenges(value)
    except ChallengeSyntaxError as exc:
        return [f"C-6750-17: unparsable WWW-Authenticate: {exc}"]
    if not challenges:
        problems.append("C-DRF-03: no challenge")
    schemes = [scheme.lower() for scheme, _ in challenges]
    if len(set(schemes)) != len(schemes):
        problems.append(f"spec §0.3: a scheme challenged twice in {value!r}")
    if schemes == ["dpop", "bearer"]:
        problems.append("spec §0.3: the DPoP challenge before the Bearer one")
    for scheme, params in challenges:
        if scheme.lower() == "dpop":
            problems += _dpop_problems(params, status)
        if scheme.lower() == "bearer":
            if not params:
                problems.append("C-6750-18: bare Bearer challenge")
            names = [name.lower() for name, _ in params]
            dupes = {x for x in names if names.count(x) > 1}
            if dupes:
                problems.append(f"C-6750-17: repeated parameters {sorted(dupes)}")
            for name, val in params:
                lname = name.lower()
                if lname in ("error", "error_description") and not ERROR_VALUE.match(val):
                    problems.append(f"C-6750-15: {name} has characters outside %x20-21/%x23-5B/%x5D-7E")
                if lname in ("scope", "acr_values") and not SCOPE_VALUE.match(val):
                    problems.append(f"C-6750-15: {name} value {val!r} breaks the scope syntax")
                if lname == "error_uri" and not URI_VALUE.match(val):
                    problems.append("C-6750-16: error_uri has characters outside the URI set")
                if lname == "max_age" and not re.fullmatch(r"[0-9]+", val):
                    problems.append("C-9470-15: max_age is not a non-negative integer")
            if 'realm="' not in value and "realm=" in value.lower():
                problems.append("C-6750-19: realm is not a quoted-string")
    # Raw string checks too: no CR/LF/TAB/non-ASCII anywhere in the field (C-6750-15).
    if re.search(r"[^\x20-\x7e]", value):
        problems.append("C-6750-15: control or non-ASCII character in WWW-Authenticate")
    return problems


def dpop_response_problems(response: Any) -> list[str]:
    """Header rules of RFC 9449 §7.1, §8, §9 for any response (C-9449-31, -32, -34)."""
    problems: list[str] = []
    if "Proxy-Authenticate" in response:
        problems.append("C-9449-34: Proxy-Authenticate emitted")
    value = response.get("WWW-Authenticate") or ""
    nonce = response.get("DPoP-Nonce")
    if 'error="use_dpop_nonce"' in value and nonce is None:
        problems.append("C-9449-31: use_dpop_nonce without DPoP-Nonce")
    if nonce is not None:
        if not NONCE_VALUE.match(nonce):
            problems.append("C-9449-32: DPoP-Nonce is not 1*NQCHAR")
        if "no-store" not in response.get("Cache-Control", ""):
            problems.append("C-9449-31: DPoP-Nonce on a cacheable response")
    return problems


def challenge_params(value: str) -> dict[str, str]:
    """The parameters of the single Bearer challenge of ``value`` (names lower-cased)."""
    challenges = parse_challenges(value)
    assert len(challenges) == 1, value
    scheme, params = challenges[0]
    assert scheme.lower() == "bearer", value
    return {name.lower(): val for name, val in params}


def json_body(response: Any) -> Any:
    return json.loads(response.content.decode("utf-8"))


def windows(text: str, window: int = 20) -> set[str]:
    return {text[i : i + window] for i in range(len(text) - window + 1)}


class SecretIndex:
    """Every 20-character window of the secrets, for fast leak checks (C-6750-31)."""

    def __init__(self, secrets: Iterable[str], window: int = 20) -> None:
        self.window = window
        self.short = {s for s in secrets if 8 <= len(s) < window}
        self.windows: set[str] = set()
        for secret in secrets:
            if len(secret) >= window:
                self.windows |= windows(secret, window)

    def leaks(self, haystack: str) -> bool:
        if any(s in haystack for s in self.short):
            return True
        return not self.windows.isdisjoint(windows(haystack, self.window))


def leaked_substrings(secret: str, haystack: str, window: int = 20) -> list[str]:
    """20-character windows of ``secret`` found in ``haystack`` (RFC 6750 §5.3, C-6750-31)."""
    if len(secret) < window:
        return [secret] if secret and len(secret) >= 8 and secret in haystack else []
    return sorted(windows(haystack, window) & windows(secret, window))[:4]


def our_messages(**kwargs: Any) -> list[Any]:
    """This package's system-check messages, less those SILENCED_SYSTEM_CHECKS names (as
    ``manage.py check`` reports them)."""
    from django.conf import settings
    from django.core.checks import run_checks

    silenced = set(settings.SILENCED_SYSTEM_CHECKS)
    return [m for m in run_checks(**kwargs) if m.id and m.id.startswith("django_jwt_at.") and m.id not in silenced]


def subjects_from_workers(validate: Any, tokens: list[str], workers: int = 4, timeout: float = 20) -> list[str]:
    """Validate each of ``tokens`` in a thread of its own, all released at once, the threads
    spread over ``workers`` KeySetRegistry instances (each one worker process's memory);
    return each outcome: the token's subject, or the name of the exception it raised.
    ``validate(token, registry)`` validates one token."""
    import threading

    from django_jwt_at.jwks import KeySetRegistry

    registries = [KeySetRegistry() for _ in range(workers)]
    barrier = threading.Barrier(len(tokens))
    outcomes: list[str] = []

    def run(registry: Any, token: str) -> None:
        barrier.wait(10)
        try:
            outcomes.append(validate(token, registry).subject)
        except Exception as exc:  # an outcome like any other, for the test to compare
            outcomes.append(type(exc).__name__)

    threads = [threading.Thread(target=run, args=(registries[i % workers], t)) for i, t in enumerate(tokens)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout)
    return outcomes


def assert_unavailable(response: Any, retry_after: int | None = None) -> int:
    """503, a positive Retry-After (``retry_after`` when given), no invalid_token, the
    temporarily_unavailable body and no fetch detail (FetchError messages are for the log
    only); returns Retry-After."""
    assert response.status_code == 503, (response.status_code, response.content)
    assert re.fullmatch(r"[1-9][0-9]*", response["Retry-After"]), response["Retry-After"]
    if retry_after is not None:
        assert int(response["Retry-After"]) == retry_after
    assert "invalid_token" not in response.get("WWW-Authenticate", "")
    assert json_body(response)["error"] == "temporarily_unavailable"
    assert b"127.0.0.1" not in response.content
    return int(response["Retry-After"])
