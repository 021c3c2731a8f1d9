"""Authorization requirements on a validated token, free of any web framework.

Each requirement answers ``check(token)`` with None (met) or the protocol error that tells
the client what it lacks: ``insufficient_scope`` (RFC 6750 §3.1) or
``insufficient_user_authentication`` (RFC 9470 §3). :func:`combine` merges the errors of
requirements that must all hold into the one challenge the client gets.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from django.core.exceptions import ImproperlyConfigured

from .errors import (
    AuthenticationRequired,
    InsufficientScope,
    InsufficientUserAuthentication,
    ProtocolError,
)
from .tokens import AccessToken

# RFC 6749 §3.3 scope-token and the RFC 6750 §3 / RFC 9470 §3 attribute charsets: a value
# that is written space-separated into a quoted-string has no SP, '"' or '\'.
_TOKEN_VALUE = re.compile(r"[\x21\x23-\x5b\x5d-\x7e]+\Z")


def checked_values(kind: str, values: Iterable[object]) -> tuple[str, ...]:
    """Validate configured scopes, roles or acr values; raise ImproperlyConfigured if bad."""
    if isinstance(values, str):
        raise ImproperlyConfigured(f"{kind} must be a list of strings, not a string")
    result: list[str] = []
    for value in values:
        if not isinstance(value, str) or not _TOKEN_VALUE.match(value):
            raise ImproperlyConfigured(
                f"{kind} value {value!r} is not allowed: values are non-empty printable ASCII "
                "without spaces, '\"' or '\\' (RFC 6750 §3, RFC 9470 §3)"
            )
        result.append(value)
    return tuple(result)


def checked_max_age(max_age: object) -> int | None:
    """Validate a configured max_age (RFC 9470 §3: a non-negative integer of seconds)."""
    if max_age is None:
        return None
    if isinstance(max_age, bool) or not isinstance(max_age, int) or max_age < 0:
        raise ImproperlyConfigured(f"max_age must be a non-negative integer of seconds, not {max_age!r}")
    return max_age


@dataclass(frozen=True)
class ScopeRequirement:
    """All of ``scopes`` (or, with ``any_of``, one of them) must be in the token's scope."""

    scopes: tuple[str, ...]
    any_of: bool = False

    def check(self, token: AccessToken) -> InsufficientScope | None:
        granted = token.scopes
        if self.any_of:
            if granted.isdisjoint(self.scopes):
                # Design decisions, scope parameter: for alternatives, name the first one.
                return InsufficientScope(self.scopes[:1])
            return None
        if all(scope in granted for scope in self.scopes):
            return None
        return InsufficientScope(self.scopes)  # Design decisions: scope parameter: every required scope, in order


@dataclass(frozen=True)
class ClaimValuesRequirement:
    """A list-valued claim (``roles``, ``groups``, ``entitlements``) contains all ``values``.

    A failure is ``insufficient_scope`` without a ``scope`` parameter (Design decisions: roles): no
    scope would help, and a 401 would make clients refresh in a loop.
    """

    claim: str | None  # None: the issuer profile's roles claim (AccessToken.roles)
    values: tuple[str, ...]

    def check(self, token: AccessToken) -> InsufficientScope | None:
        present = token.roles if self.claim is None else token.claim_values(self.claim)
        if present is not None and present.issuperset(self.values):
            return None
        return InsufficientScope()


@dataclass(frozen=True)
class StepUpRequirement:
    """RFC 9470: ``acr`` is one of ``acr_values`` (exact string match, no hierarchy) and
    the user authenticated at most ``max_age`` seconds ago (``auth_time``, plus leeway).

    Missing ``acr`` or ``auth_time`` fails closed; ``iat`` is never used in place of
    ``auth_time`` (it changes on refresh, RFC 9068 §2.2.1) (Design decisions: step up rules).
    """

    acr_values: tuple[str, ...] = ()
    max_age: int | None = None

    def check(self, token: AccessToken, *, now: float, leeway: int) -> InsufficientUserAuthentication | None:
        acr_failed = bool(self.acr_values) and token.acr not in self.acr_values
        # An auth_time in the future (beyond leeway) proves nothing about recency.
        max_age_failed = self.max_age is not None and (
            token.auth_time is None or not -leeway <= now - token.auth_time <= self.max_age + leeway
        )
        if not acr_failed and not max_age_failed:
            return None
        return InsufficientUserAuthentication(
            acr_values=self.acr_values if acr_failed else (),
            max_age=self.max_age if max_age_failed else None,
        )


def combine(errors: Sequence[ProtocolError]) -> ProtocolError:
    """Merge the errors of requirements that must all hold into one (Design decisions: step up rules).

    No token beats everything; a step-up error absorbs the scopes still missing, so the
    client gets one 401 naming both; otherwise the missing scopes are listed together.
    """
    for error in errors:
        if isinstance(error, AuthenticationRequired):
            return error
    scopes: list[str] = []
    for error in errors:
        if isinstance(error, (InsufficientScope, InsufficientUserAuthentication)):
            scopes.extend(s for s in error.scope if s not in scopes)
    step_ups = [e for e in errors if isinstance(e, InsufficientUserAuthentication)]
    if step_ups:
        acr_values = next((e.acr_values for e in step_ups if e.acr_values), ())
        max_ages = [e.max_age for e in step_ups if e.max_age is not None]
        return InsufficientUserAuthentication(
            acr_values=acr_values, max_age=min(max_ages) if max_ages else None, scope=scopes
        )
    if any(isinstance(e, InsufficientScope) for e in errors):
        return InsufficientScope(scopes)
    return errors[0]
