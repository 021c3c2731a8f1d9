"""Issuers trusted at run time: issuer templates and ``JWT_AT_ISSUER_RESOLVER``.

Multi-tenant authorization servers have one issuer per tenant
(``https://login.microsoftonline.com/<tenant id>/v2.0``, ``https://sso.example.com/realms/<realm>``).
An entry of ``JWT_AT_ISSUERS`` whose key has the ``{tenant}`` placeholder is an
:class:`IssuerTemplate`: its options apply to every tenant, and the placeholder matches one
whole path segment of a strict character set, narrowed by ``TENANT_PATTERN``. Its
``TENANTS`` callable, when set, must say yes to a tenant. ``JWT_AT_ISSUER_RESOLVER`` maps
any other ``iss`` to issuer options, validated like settings.

The issuer is still trusted before anything is fetched (RFC 8725 §3.8, RFC 9068 §4 step
3): the template fixes scheme, host and the rest of the path, so a token chooses at most a
path segment of the URL that keys are fetched from, and only after the callable agreed.
Exact entries win over templates, templates over the resolver; at most one template can
match an ``iss`` (check ``E047``).

What an unknown ``iss`` costs is bounded (:class:`DynamicIssuers`,
:class:`AdmissionWindow`): answers of the callables are remembered per ``iss`` for
``JWT_AT_DYNAMIC_ISSUER_TTL`` seconds (refusals too), at most ``JWT_AT_MAX_DYNAMIC_ISSUERS``
of each; key sets of dynamic issuers are kept for at most ``JWT_AT_MAX_DYNAMIC_ISSUERS``
issuers (least recently used leave, see :class:`~django_jwt_at.jwks.KeySetRegistry`), and
at most ``JWT_AT_NEW_ISSUERS_PER_MINUTE`` issuers per minute have their keys fetched for
the first time in a process.
"""

from __future__ import annotations

import itertools
import logging
import math
import re
import threading
from collections import OrderedDict, deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, TypeAlias
from urllib.parse import urlsplit

from django.utils.module_loading import import_string

from .conf import AT_JWT, TEMPLATE_OPTIONS, Config, IssuerConfig, _Reader, on_config_change, url_problem
from .conf.issuers import IssuerSettings
from .errors import Description, InvalidToken, KeySetUnavailable
from .fapi import issuer_violations
from .users import ISSUER_MAX_LENGTH, ModelUserMapping

logger = logging.getLogger(__name__)

#: The placeholder of an issuer template (and of its ``JWKS_URI``).
PLACEHOLDER = "{tenant}"
#: The longest tenant value.
MAX_TENANT_LENGTH = 128
# RFC 3986 §2.3 unreserved characters, never only dots: a tenant is one path segment that
# needs no percent-encoding, and "." or ".." would be removed as dot segments (RFC 3986
# §5.2.4) by a server the URL is sent to.
_TENANT = re.compile(rf"[A-Za-z0-9_~-](?:[A-Za-z0-9._~-]{{0,{MAX_TENANT_LENGTH - 2}}}[A-Za-z0-9_~-])?")
#: The named values of ``TENANT_PATTERN``: ``uuid`` is the lower-case 8-4-4-4-12 hex form
#: (RFC 9562 §4) that Entra ID puts in its issuers.
TENANT_PATTERNS: Mapping[str, re.Pattern[str]] = {
    "uuid": re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"),
}
_PATTERN_LENGTHS = {"uuid": 36}
#: The ``typ`` values (normalised) a resolver's ``TOKEN_TYPES`` may contain: the tokens of
#: every provider recipe. They widen the parse-time check of every token once a resolver
#: is configured, so they are a fixed, small set.
RESOLVER_TOKEN_TYPES: frozenset[str | None] = frozenset({AT_JWT, "jwt", None})
#: Retry-After, in seconds, when a TENANTS callable or the resolver raised.
LOOKUP_RETRY = 5

#: ``TENANTS``: tenant -> True (trusted) or False.
TenantCheck: TypeAlias = Callable[[str], bool]
#: ``JWT_AT_ISSUER_RESOLVER``: iss -> issuer options (a dict, as in ``JWT_AT_ISSUERS``) or None.
IssuerResolver: TypeAlias = Callable[[str], "Mapping[str, Any] | None"]


def is_template(key: object) -> bool:
    """Whether a key of ``JWT_AT_ISSUERS`` is an issuer template (it has a brace)."""
    return isinstance(key, str) and ("{" in key or "}" in key)


@dataclass(frozen=True)
class IssuerTemplate:
    """An entry of ``JWT_AT_ISSUERS`` with the ``{tenant}`` placeholder.

    ``iss`` matches when it is ``prefix + tenant + suffix`` and the tenant is of the strict
    character set (RFC 3986 unreserved characters, 1 to 128 of them, not only dots) and
    matches ``pattern`` (``TENANT_PATTERN``) in full. ``base`` holds the options every tenant
    shares: its ``issuer`` is the template, its ``jwks_uri`` may hold the placeholder.
    """

    template: str
    prefix: str  # ends with "/"
    suffix: str  # empty or starts with "/"
    base: IssuerConfig
    pattern: re.Pattern[str] | None = None
    tenants: TenantCheck | None = field(default=None, compare=False)
    tenants_path: str | None = None  # the TENANTS dotted path, for log records
    max_tenant_length: int = MAX_TENANT_LENGTH

    @property
    def max_issuer_length(self) -> int:
        """The length of the longest issuer identifier the template matches."""
        return len(self.prefix) + self.max_tenant_length + len(self.suffix)

    def accepts(self, tenant: str) -> bool:
        """Whether ``tenant`` may stand for the placeholder."""
        return _TENANT.fullmatch(tenant) is not None and (self.pattern is None or bool(self.pattern.fullmatch(tenant)))

    def match(self, iss: str) -> str | None:
        """The tenant of ``iss``, or None when ``iss`` does not match the template."""
        end = len(iss) - len(self.suffix)
        if end <= len(self.prefix) or not iss.startswith(self.prefix) or not iss.endswith(self.suffix):
            return None
        tenant = iss[len(self.prefix) : end]
        return tenant if self.accepts(tenant) else None

    def issuer_for(self, tenant: str) -> IssuerConfig:
        """The configuration of the issuer of ``tenant`` (which :meth:`accepts`)."""
        jwks_uri = self.base.jwks_uri
        return replace(
            self.base,
            issuer=self.prefix + tenant + self.suffix,
            jwks_uri=jwks_uri.replace(PLACEHOLDER, tenant) if jwks_uri is not None else None,
            dynamic=True,
            tenant=tenant,
        )

    def segments(self) -> list[str | None]:
        """The ``/``-separated parts of the template, None for the placeholder."""
        return [*self.prefix[:-1].split("/"), None, *self.suffix.split("/")[1:]]


def _placeholder_problem(url: str, *, segment: bool) -> str | None:
    """Why ``url`` does not hold the placeholder as a template must, or None."""
    if (
        url.count(PLACEHOLDER) != 1
        or url.replace(PLACEHOLDER, "").count("{")
        or url.replace(PLACEHOLDER, "").count("}")
    ):
        return f"it must contain the placeholder {PLACEHOLDER} exactly once, and no other brace"
    parts = urlsplit(url)
    if PLACEHOLDER in parts.scheme or PLACEHOLDER in parts.netloc:
        # The token would choose the host keys are fetched from (RFC 8725 §3.8).
        return f"the placeholder {PLACEHOLDER} must be in the path, never in the scheme or host"
    if segment:
        prefix, suffix = url.split(PLACEHOLDER)
        if not prefix.endswith("/") or not (suffix == "" or suffix.startswith("/")):
            return f"the placeholder {PLACEHOLDER} must be a whole path segment, as in https://as.example.com/{PLACEHOLDER}/v2.0"
    return None


def _import_callable(path: object) -> Callable[..., Any] | None:
    if not isinstance(path, str):
        return None
    try:
        found = import_string(path)
    except ImportError:
        return None
    return found if callable(found) else None


def _read_template(reader: IssuerSettings, key: str, options: object, max_rsa_bits: int) -> IssuerTemplate | None:
    if not isinstance(options, Mapping):
        reader.problem("E006", f"JWT_AT_ISSUERS[{key!r}] must be a dict of options.", "")
        return None
    ok = True
    hint = "The placeholder stands for one path segment: 'https://login.example.com/{tenant}/v2.0'."
    why = _placeholder_problem(key, segment=True)
    if why:
        ok = False
        reader.problem("E046", f"The issuer template {key!r} is not valid: {why}.", hint)
    jwks_uri = options.get("JWKS_URI")
    if is_template(jwks_uri):
        assert isinstance(jwks_uri, str)
        why = _placeholder_problem(jwks_uri, segment=False)
        if why:
            ok = False
            reader.problem("E046", f"The JWKS_URI of the issuer template {key!r} is not valid: {why}.", hint)
    pattern: re.Pattern[str] | None = None
    max_tenant_length = MAX_TENANT_LENGTH
    raw_pattern = options.get("TENANT_PATTERN")
    if isinstance(raw_pattern, str) and raw_pattern in TENANT_PATTERNS:
        pattern, max_tenant_length = TENANT_PATTERNS[raw_pattern], _PATTERN_LENGTHS[raw_pattern]
    elif raw_pattern is not None:
        try:
            if not isinstance(raw_pattern, str) or not raw_pattern:
                raise TypeError
            pattern = re.compile(raw_pattern)
        except (TypeError, re.error):
            ok = False
            reader.problem(
                "E046",
                f"JWT_AT_ISSUERS[{key!r}]['TENANT_PATTERN'] must be 'uuid' or a regular expression.",
                f"Named patterns: {sorted(TENANT_PATTERNS)}; a regular expression must match a whole tenant "
                "and only narrows the default character set (letters, digits, '-', '.', '_', '~').",
            )
    tenants_path = options.get("TENANTS")
    tenants = _import_callable(tenants_path)
    if tenants_path is not None and tenants is None:
        ok = False
        reader.problem(
            "E048",
            f"JWT_AT_ISSUERS[{key!r}]['TENANTS'] {tenants_path!r} is not the dotted path of a callable.",
            "Set it to a function taking the tenant (a string) and returning True for a tenant you trust.",
        )
    base = reader.issuer(key, {k: v for k, v in options.items() if k not in TEMPLATE_OPTIONS}, max_rsa_bits)
    if not ok or base is None:
        return None
    prefix, suffix = key.split(PLACEHOLDER)
    return IssuerTemplate(
        template=key,
        prefix=prefix,
        suffix=suffix,
        base=base,
        pattern=pattern,
        tenants=tenants,
        tenants_path=tenants_path if isinstance(tenants_path, str) else None,
        max_tenant_length=max_tenant_length,
    )


def _overlap(a: IssuerTemplate, b: IssuerTemplate) -> bool:
    """Whether some ``iss`` may match both templates. A tenant holds no ``/``, so both must
    have as many segments; where one has its placeholder and the other a fixed segment,
    the placeholder must accept it. Two placeholders at one position count as overlapping
    (whether two regular expressions share a string is not decided here)."""
    first, second = a.segments(), b.segments()
    if len(first) != len(second):
        return False
    for x, y in zip(first, second, strict=True):
        if x is not None and y is not None and x != y:
            return False
        if x is None and y is not None and not a.accepts(y):
            return False
        if y is None and x is not None and not b.accepts(x):
            return False
    return True


def read_templates(reader: IssuerSettings, raw: Mapping[Any, Any], max_rsa_bits: int) -> tuple[IssuerTemplate, ...]:
    """The issuer templates among the entries ``raw`` of ``JWT_AT_ISSUERS`` (E046-E048,
    and the checks of any issuer entry)."""
    templates = [t for key, options in raw.items() if (t := _read_template(reader, key, options, max_rsa_bits))]
    for a, b in itertools.combinations(templates, 2):
        if _overlap(a, b):
            reader.problem(
                "E047",
                f"The issuer templates {a.template!r} and {b.template!r} can match the same issuer identifier.",
                "An iss must match at most one template: make their fixed parts differ or narrow TENANT_PATTERN.",
            )
    return tuple(templates)


def read_dynamic_settings(reader: IssuerSettings) -> dict[str, Any]:
    """``JWT_AT_ISSUER_RESOLVER`` (E048) and the bounds on dynamic issuers (E049), as
    fields of :class:`~django_jwt_at.conf.Config`."""
    path = reader.setting("JWT_AT_ISSUER_RESOLVER")
    resolver = _import_callable(path)
    if path is not None and resolver is None:
        reader.problem(
            "E048",
            f"JWT_AT_ISSUER_RESOLVER {path!r} is not the dotted path of a callable.",
            "Set it to a function taking an issuer identifier and returning its options (a dict) or None.",
        )
    return {
        "issuer_resolver": resolver,
        "max_dynamic_issuers": reader.integer("JWT_AT_MAX_DYNAMIC_ISSUERS", 1, 1_000_000, "E049"),
        "new_issuers_per_minute": reader.integer("JWT_AT_NEW_ISSUERS_PER_MINUTE", 1, 100_000, "E049"),
        "dynamic_issuer_ttl": reader.integer("JWT_AT_DYNAMIC_ISSUER_TTL", 1, 86400, "E049"),
    }


# --- run time ------------------------------------------------------------------------------------


class AdmissionWindow:
    """At most ``limit`` admissions in any :attr:`PERIOD` seconds (a log of admission
    times); one WARNING record when it starts refusing."""

    PERIOD = 60

    def __init__(self) -> None:
        self._times: deque[float] = deque()
        self._lock = threading.Lock()
        self._refusing = False

    def admit(self, limit: int, now: float) -> int:
        """0 when admitted (and counted), else the seconds, 1 to :attr:`PERIOD`, until an
        admission may be possible again."""
        with self._lock:
            times = self._times
            while times and (times[0] <= now - self.PERIOD or len(times) > limit):
                times.popleft()
            if len(times) < limit:
                times.append(now)
                self._refusing = False
                return 0
            wait = min(self.PERIOD, max(1, math.ceil(times[0] + self.PERIOD - now)))
            first, self._refusing = not self._refusing, True
        if first:
            logger.warning(
                "More than %d new issuers a minute (JWT_AT_NEW_ISSUERS_PER_MINUTE): tokens of issuers whose keys "
                "were never fetched by this process get 503 for up to %d s",
                limit,
                wait,
            )
        return wait

    def clear(self) -> None:
        with self._lock:
            self._times.clear()
            self._refusing = False


class DynamicIssuers:
    """The issuers this process trusts beyond the exact entries of ``JWT_AT_ISSUERS``.

    Answers are remembered per ``iss``: a template without ``TENANTS`` always gives the
    same one, so it is kept until it is among the least recently used; an answer of a
    ``TENANTS`` callable or of the resolver (trusted or not) for
    ``JWT_AT_DYNAMIC_ISSUER_TTL`` seconds. At most ``JWT_AT_MAX_DYNAMIC_ISSUERS`` trusted
    and as many refused issuers are remembered. An ``iss`` that matches no template and
    that no resolver is asked about costs a few string comparisons and is not remembered.
    """

    def __init__(self) -> None:
        self._trusted: OrderedDict[str, tuple[IssuerConfig, float]] = OrderedDict()
        self._refused: OrderedDict[str, float] = OrderedDict()
        self._lock = threading.Lock()
        self._failing = False

    def resolve(self, iss: str, config: Config, now: float) -> IssuerConfig | None:
        """The configuration ``iss`` is trusted with, or None. Called only for an ``iss``
        that is not an exact entry of ``JWT_AT_ISSUERS``.

        Raises KeySetUnavailable (503, never a 401: the issuer may well be trusted) when a
        ``TENANTS`` callable or the resolver raises; the exception is logged at ERROR
        level, once per run of failures.
        """
        entry = self._trusted.get(iss)
        if entry is not None and now < entry[1]:
            _touch(self._trusted, iss)
            return entry[0]
        refused_until = self._refused.get(iss)
        if refused_until is not None and now < refused_until:
            return None
        issuer, lifetime = self._decide(iss, config)
        if lifetime is None:
            return issuer
        with self._lock:
            if issuer is not None:
                previous = self._trusted.get(iss)
                if previous is not None and previous[0] == issuer:
                    issuer = previous[0]  # the same object: key-set state stays matched by identity
                self._trusted[iss] = (issuer, now + lifetime)
                self._trusted.move_to_end(iss)
                self._refused.pop(iss, None)
                _bound(self._trusted, config.max_dynamic_issuers)
            else:
                self._trusted.pop(iss, None)  # no longer trusted: signals stop naming it
                self._refused[iss] = now + lifetime
                self._refused.move_to_end(iss)
                _bound(self._refused, config.max_dynamic_issuers)
        return issuer

    def _decide(self, iss: str, config: Config) -> tuple[IssuerConfig | None, float | None]:
        """The answer for ``iss`` and how long it may be remembered (None: not at all)."""
        ttl = float(config.dynamic_issuer_ttl)
        for template in config.issuer_templates:
            tenant = template.match(iss)
            if tenant is None:
                continue
            # The first (and only, E047) template that matches decides: the resolver is
            # never asked about an iss of a template's form.
            if template.tenants is None:
                return template.issuer_for(tenant), math.inf
            answer = self._call(template.tenants, tenant, f"TENANTS {template.tenants_path}")
            if answer is not True:
                if answer is not False:
                    logger.error(
                        "TENANTS %s returned a %s for tenant %s, not True or False: the tenant is refused",
                        template.tenants_path,
                        type(answer).__name__,
                        tenant,
                    )
                return None, ttl
            return template.issuer_for(tenant), ttl
        resolver = config.issuer_resolver
        # Only issuer identifiers reach the resolver (RFC 8414 §2: an https URL, no query or
        # fragment), never arbitrary text from a token.
        if resolver is None or url_problem(iss, allow_http=True) is not None:
            return None, None
        return self._resolved(iss, self._call(resolver, iss, "JWT_AT_ISSUER_RESOLVER"), config), ttl

    def _call(self, function: Callable[[str], object], argument: str, what: str) -> object:
        try:
            answer = function(argument)
        except Exception:  # any failure of user code is a 503, never a 500
            if not self._failing:
                logger.error("%s raised: tokens of issuers it decides on get 503", what, exc_info=True)
            else:
                logger.debug("%s still raises", what, exc_info=True)
            self._failing = True
            raise KeySetUnavailable(retry_after=LOOKUP_RETRY) from None
        if self._failing:
            self._failing = False
            logger.info("%s answers again", what)
        return answer

    def _resolved(self, iss: str, options: object, config: Config) -> IssuerConfig | None:
        """The resolver's ``options`` for ``iss`` validated as an entry of
        ``JWT_AT_ISSUERS``; None (with one ERROR record) when they are not valid."""
        if options is None:
            return None
        problems: list[str] = []
        issuer: IssuerConfig | None = None
        if not isinstance(options, Mapping):
            problems.append(f"it returned a {type(options).__name__}, not a dict of issuer options or None")
        else:
            reader = _Reader()
            issuer = reader.issuer(iss, options, config.max_rsa_bits)
            problems += [f"{p.id}: {p.msg}" for p in reader.problems]
            if issuer is not None and not issuer.token_types <= RESOLVER_TOKEN_TYPES:
                problems.append("TOKEN_TYPES may only contain 'at+jwt', 'JWT' and None")
            if issuer is not None and config.fapi2:
                problems += [f"E045: {message}" for message, _ in issuer_violations(issuer)]
            if issubclass(config.user_mapping_class, ModelUserMapping) and len(iss) > ISSUER_MAX_LENGTH:
                problems.append(
                    f"the model-backed user mapping stores issuers of at most {ISSUER_MAX_LENGTH} characters"
                )
        if problems or issuer is None:
            logger.error(
                "JWT_AT_ISSUER_RESOLVER returned unusable options for issuer %s, which is refused: %s",
                iss,
                "; ".join(problems),
            )
            return None
        return replace(issuer, dynamic=True)

    def still_trusted(self, issuer: IssuerConfig, config: Config, now: float) -> bool:
        """Whether a token validated under ``issuer`` may still be accepted as it was: an
        exact issuer always (a settings change empties every cache), a dynamic one while
        :meth:`resolve` gives the same configuration."""
        if not issuer.dynamic:
            return True
        current = self.resolve(issuer.issuer, config, now)
        return current is not None and (current is issuer or current == issuer)

    def check(self, issuer: IssuerConfig, config: Config, now: float) -> None:
        """Raise InvalidToken (untrusted issuer) unless the dynamic ``issuer`` is trusted
        now: keys are never fetched for an issuer that is no longer trusted."""
        if self.resolve(issuer.issuer, config, now) is None:
            error = InvalidToken(Description.ISS)
            error.step = "issuer"
            raise error

    def known(self, iss: str) -> IssuerConfig | None:
        """The configuration ``iss`` was last trusted with in this process, if it is still
        remembered; never calls anything."""
        entry = self._trusted.get(iss)
        return entry[0] if entry is not None else None

    def clear(self) -> None:
        """Forget every answer (on a settings change, and between tests)."""
        with self._lock:
            self._trusted.clear()
            self._refused.clear()
            self._failing = False


def _touch(entries: OrderedDict[str, Any], key: str) -> None:
    try:
        entries.move_to_end(key)
    except KeyError:  # removed by another thread meanwhile
        pass


def _bound(entries: OrderedDict[str, Any], size: int) -> None:
    while len(entries) > size:
        entries.popitem(last=False)


#: The answers used by validation.
dynamic_issuers = DynamicIssuers()


on_config_change(dynamic_issuers.clear)
