"""Fixtures of the example project's tests, on top of django-jwt-at's pytest plugin.

The plugin's ``jwt_at_test_issuer`` is replaced by one that mints tokens for this API's
audience; ``jwt_at_issuer`` (from the plugin) then trusts it for each test instead of the
development issuer of settings.JWT_AT_ISSUERS.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.conf import settings

import django_jwt_at.clock
from django_jwt_at.testing import TestIssuer

#: A fixed "now" for the package and for the tokens the issuer mints (2030-03-17).
NOW = 1_900_000_000


@pytest.fixture(scope="session")
def jwt_at_test_issuer() -> Iterator[TestIssuer]:
    issuer = TestIssuer("https://login.example.com", settings.API_AUDIENCE, algorithms=["RS256"], client_id="web")
    yield issuer
    issuer.stop()


@pytest.fixture(autouse=True)
def fixed_clock(monkeypatch: pytest.MonkeyPatch) -> int:
    """django-jwt-at reads the time only through django_jwt_at.clock.now()."""
    monkeypatch.setattr(django_jwt_at.clock, "now", lambda: float(NOW))
    return NOW
