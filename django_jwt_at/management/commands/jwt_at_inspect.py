"""``manage.py jwt_at_inspect``: decode an access token and run every validation step on it.

The token is read from standard input (``-`` or ``--stdin``, the recommended way: an
argument lands in the shell history and the process list) or from the argument. The
command prints the JOSE header and the claims, then one line per validation step with the
library's own verdict: it runs :func:`~django_jwt_at.validation.validate_access_token`,
whose refusals name their step, and reports every step before the refusing one as passed
and every step after it as skipped; refusals while parsing are placed by running the
parser's pieces (:mod:`django_jwt_at.jws`) in the parser's order.

Offline by default: the key steps use only the key set this process or the shared cache
(``JWT_AT_CACHE``) holds; without one they are skipped and the claim steps run on the
unverified claims. ``--fetch`` lets the key set (and metadata) be fetched as validation
would. The raw token and its signature are never printed, and nothing is logged.

Exit status: 0 valid, 1 invalid, 2 usage or configuration error, 3 not determined (no
usable key set: nothing cached without ``--fetch``, or the issuer's keys unavailable).
"""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError, CommandParser

from ... import clock
from ...conf import Config, IssuerConfig, get_config
from ...errors import Description, InvalidToken, KeySetUnavailable
from ...jwks import KeySetRegistry, key_sets
from ...jws import decode_json_object, parse_compact, parse_header
from ...keys import VerificationKey
from ...tenants import dynamic_issuers
from ...validation import CLAIM_STEPS, STEPS, check_claims, validate_access_token
from ..timing import iso, relative, when

#: The steps of :func:`~django_jwt_at.jws.parse_compact`, in the order it makes them.
PARSE_STEPS = (
    "size",  # the whole token, JWT_AT_MAX_TOKEN_SIZE
    "segments",  # three segments: compact JWS, not JWE
    "header",  # JWT_AT_MAX_HEADER_SIZE, canonical base64url, strict JSON object
    "typ",  # accepted by some issuer's TOKEN_TYPES
    "alg",  # a supported asymmetric algorithm
    "crit",  # absent: no extension is understood
    "header-params",  # kid a string; no zip, enc or nested-JWT cty
    "payload",  # canonical base64url, strict JSON object
    "signature-encoding",  # canonical base64url
)
ALL_STEPS = PARSE_STEPS + STEPS
# The parse steps whose refusal has a description of its own.
_BY_DESCRIPTION = {
    Description.ENCRYPTED: "segments",
    Description.TYP: "typ",
    Description.ALG: "alg",
    Description.CRIT: "crit",
}

EXIT_VALID, EXIT_INVALID, EXIT_USAGE, EXIT_UNDETERMINED = 0, 1, 2, 3
NOT_FETCHED = "key set not fetched; use --fetch"
NO_CACHED_KEY = "no key for this kid and alg in the cached key set (validation would refetch it); use --fetch"
UNAVAILABLE = "the key set cannot be obtained (manage.py jwt_at_keys --refresh says why)"


class _NotCached(Exception):
    """The key step needs a fetch, which the command may not make without ``--fetch``."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class _CachedKeysOnly(KeySetRegistry):
    """The keys of ``registry`` that validation would use without network I/O; raises
    _NotCached where validation would fetch."""

    def __init__(self, registry: KeySetRegistry) -> None:
        super().__init__()
        self._registry = registry

    def find(self, issuer: IssuerConfig, kid: str | None, alg: str, config: Config) -> Sequence[VerificationKey]:
        key_set = self._registry.cached(issuer, config)
        if key_set is None:
            raise _NotCached(NOT_FETCHED)
        found = key_set.find(kid, alg)
        if not found:
            raise _NotCached(NO_CACHED_KEY)
        return found


@dataclass(frozen=True)
class Step:
    name: str
    verdict: str  # PASS, FAIL or SKIP
    detail: str | None = None


@dataclass(frozen=True)
class Report:
    header: dict[str, Any] | None
    claims: dict[str, Any] | None
    steps: tuple[Step, ...]
    result: str  # valid, invalid or undetermined
    failed_step: str | None
    reason: str | None  # the failing description, or why the result is undetermined

    @property
    def exit_status(self) -> int:
        return {"valid": EXIT_VALID, "invalid": EXIT_INVALID}.get(self.result, EXIT_UNDETERMINED)


def _parse_step(raw: str, config: Config) -> str:
    """The step of :data:`PARSE_STEPS` at which parse_compact refused ``raw`` as malformed,
    found by running its pieces in its order."""
    limits = config.limits
    if len(raw) > limits.max_token_size:
        return "size"
    if raw.count(".") != 2:
        return "segments"
    header_segment, payload_segment, _ = raw.split(".")
    try:
        parse_header(header_segment, limits, config.token_types)
    except InvalidToken:
        if len(header_segment) > limits.max_header_size or _decoded(header_segment, config) is None:
            return "header"
        return "header-params"
    if _decoded(payload_segment, config) is None:
        return "payload"
    return "signature-encoding"


def _decoded(segment: str, config: Config) -> dict[str, Any] | None:
    try:
        return decode_json_object(segment, config.limits.max_json_depth)
    except InvalidToken:
        return None


def inspect(raw: str, config: Config, *, at: float, fetch: bool) -> Report:
    """Validate ``raw`` at time ``at`` and describe each step (see the module docstring)."""
    parts = raw.split(".")
    header = _decoded(parts[0], config) if len(parts) in (3, 5) else None
    claims = _decoded(parts[1], config) if len(parts) == 3 else None
    registry = key_sets if fetch else _CachedKeysOnly(key_sets)
    failure: InvalidToken | None = None
    pending: str | None = None
    try:
        validate_access_token(raw, config=config, key_sets=registry, now=at)
    except InvalidToken as exc:
        failure = exc
    except KeySetUnavailable:
        pending = UNAVAILABLE
    except _NotCached as exc:
        pending = exc.reason

    def detail(step: str) -> str | None:
        """What a passed step found, from values it checked (token text escaped)."""
        if step == "size":
            return f"{len(raw)} characters (at most {config.limits.max_token_size})"
        if step not in ("issuer", "key", "exp", "nbf", "iat"):
            return None
        assert header is not None and claims is not None  # decoded before these steps
        if step == "issuer":
            return str(claims["iss"])  # equal to a configured issuer identifier
        if step == "key":
            kid = header.get("kid")
            return f"kid {'(none)' if kid is None else ascii(kid)}, {header['alg']}"
        if step == "nbf" and "nbf" not in claims:
            return "absent"
        return when(float(claims[step]), at)

    def failure_detail(step: str, description: str) -> str:
        """The description; for a time claim, also when it was and the leeway allowed,
        what clock skew needs (``exp 2030-03-17T17:56:40Z, 2 min ago; leeway 60 s``)."""
        value = claims.get(step) if claims is not None and step in ("exp", "nbf", "iat") else None
        if not isinstance(value, (int, float)) or isinstance(value, bool) or not -1e13 < value < 1e13:
            return description  # not a date: the description says "claims"
        moment = float(value)
        return f"{description} ({step} {iso(moment)}, {relative(moment, at)}; leeway {config.leeway} s)"

    def run(order: Sequence[str], failed: str | None, description: str | None) -> list[Step]:
        steps: list[Step] = []
        for step in order:
            if failed is None or ALL_STEPS.index(step) < ALL_STEPS.index(failed):
                steps.append(Step(step, "PASS", detail(step)))
            elif step == failed:
                steps.append(Step(step, "FAIL", failure_detail(step, description or "")))
            else:
                steps.append(Step(step, "SKIP"))
        return steps

    if failure is not None:
        failed = failure.step or _BY_DESCRIPTION.get(failure.description) or _parse_step(raw, config)
        description = failure.description.value
        return Report(header, claims, tuple(run(ALL_STEPS, failed, description)), "invalid", failed, description)
    if pending is None:
        return Report(header, claims, tuple(run(ALL_STEPS, None, None)), "valid", None, None)

    # The key set is not at hand: the steps before the key passed; the claim steps need no
    # key, so they run on the unverified claims (a refusal there refuses the token anyway).
    before_key = ALL_STEPS[: ALL_STEPS.index("key")]
    steps = run(before_key, None, None)
    steps += [Step("key", "SKIP", pending), Step("signature", "SKIP")]
    jws = parse_compact(raw, config.limits, config.token_types)
    # Trusted by validation just now: a configured issuer, or one trusted at run time.
    issuer = config.issuers.get(jws.claims["iss"]) or dynamic_issuers.known(jws.claims["iss"])
    assert issuer is not None
    try:
        check_claims(
            jws.header.fields, jws.claims, issuer, config.leeway, at, confirmation_methods=config.confirmation_methods
        )
    except InvalidToken as exc:
        assert exc.step is not None
        steps += run(CLAIM_STEPS, exc.step, exc.description.value)
        return Report(header, claims, tuple(steps), "invalid", exc.step, exc.description.value)
    steps += run(CLAIM_STEPS, None, None)
    return Report(header, claims, tuple(steps), "undetermined", None, pending)


def _timestamp(text: str) -> float:
    """``--at``: seconds since the epoch, or an ISO 8601 date and time (UTC if no offset)."""
    try:
        value = float(text)
    except ValueError:
        try:
            moment = datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith(("Z", "z")) else text)
        except ValueError:
            raise CommandError(
                f"--at: {text!r} is neither a timestamp nor an ISO 8601 date", returncode=EXIT_USAGE
            ) from None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=timezone.utc)
        value = moment.timestamp()
    if not math.isfinite(value):
        raise CommandError(f"--at: {text!r} is not a finite timestamp", returncode=EXIT_USAGE)
    return value


class Command(BaseCommand):
    help = (
        "Decode an access token, print its JOSE header and claims, and run every validation "
        "step against the current settings, printing each verdict. Give the token on standard "
        "input ('-' or --stdin): an argument lands in the shell history. Offline unless --fetch. "
        "Exit status: 0 valid, 1 invalid, 2 usage or configuration error, 3 not determined."
    )
    # Configuration problems are reported by get_config() with exit status 2; the system
    # checks would report them with status 1.
    requires_system_checks = ()
    stealth_options = ("input_stream",)

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "token",
            nargs="?",
            metavar="TOKEN",
            help="the access token, or '-' to read it from standard input (recommended)",
        )
        parser.add_argument(
            "--stdin", action="store_true", dest="from_stdin", help="read the access token from standard input"
        )
        parser.add_argument(
            "--fetch",
            action="store_true",
            help="fetch the issuer's key set (and metadata) when no fresh copy is cached, as validation would",
        )
        parser.add_argument(
            "--at",
            metavar="TIME",
            help="evaluate exp, nbf and iat at this time: seconds since the epoch or ISO 8601 (default now)",
        )
        parser.add_argument("--json", action="store_true", help="print one JSON object instead of text")

    def handle(self, *args: Any, **options: Any) -> None:
        raw = self._token(options)
        try:
            config = get_config()
        except ImproperlyConfigured as exc:
            raise CommandError(str(exc), returncode=EXIT_USAGE) from None
        at = clock.now() if options["at"] is None else _timestamp(options["at"])
        report = inspect(raw, config, at=at, fetch=options["fetch"])
        if options["json"]:
            self._print_json(report, at, options["fetch"])
        else:
            self._print_text(report, at, options["fetch"])
        if report.result == "invalid":
            raise CommandError("the access token is invalid", returncode=EXIT_INVALID)
        if report.result == "undetermined":
            raise CommandError(
                f"the access token could not be validated: {report.reason}", returncode=EXIT_UNDETERMINED
            )

    def _token(self, options: dict[str, Any]) -> str:
        token: str | None = options["token"]
        if options["from_stdin"] and token is not None:
            raise CommandError("give the token either on standard input or as an argument", returncode=EXIT_USAGE)
        if options["from_stdin"] or token == "-":
            stream = options.get("input_stream") or sys.stdin  # the stealth option is for tests
            token = str(stream.read())
        if token is None:
            raise CommandError(
                "no token: pipe it to standard input with '-' or --stdin (recommended), or give it as an argument",
                returncode=EXIT_USAGE,
            )
        token = token.strip()
        if not token:
            raise CommandError("the token is empty", returncode=EXIT_USAGE)
        return token

    def _print_text(self, report: Report, at: float, fetch: bool) -> None:
        write = self.stdout.write
        for title, value in (("Header", report.header), ("Claims", report.claims)):
            if value is None:
                write(f"{title}: (not decodable as a JSON object)")
            else:
                write(f"{title}:")
                write(json.dumps(value, indent=2))
        keys = "fetched when needed (--fetch)" if fetch else "cached only (offline; --fetch to fetch)"
        write(f"Checks at {iso(at)}, keys {keys}:")
        for step in report.steps:
            line = f"{step.verdict:<5} {step.name}"
            write(f"{line}: {step.detail}" if step.detail else line)
        if report.result == "valid":
            write("Result: VALID")
        elif report.result == "invalid":
            write(f"Result: INVALID ({report.failed_step}: {report.reason})")
        else:
            write(f"Result: NOT DETERMINED ({report.reason}; claims checked unverified)")

    def _print_json(self, report: Report, at: float, fetch: bool) -> None:
        document = {
            "header": report.header,
            "claims": report.claims,
            "at": at,
            "fetch": fetch,
            "steps": [{"step": s.name, "verdict": s.verdict, "detail": s.detail} for s in report.steps],
            "result": report.result,
            "failed_step": report.failed_step,
            "reason": report.reason,
            "exit_status": report.exit_status,
        }
        self.stdout.write(json.dumps(document, indent=2))
