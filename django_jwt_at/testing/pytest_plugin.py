"""pytest fixtures for APIs protected by django-jwt-at (registered as the ``django_jwt_at``
pytest plugin through the ``pytest11`` entry point).

Loading this plugin imports nothing but pytest and needs no Django settings: the fixtures
import Django and this package when a test requests them. With pytest-django, use them in
tests that run with your settings.

- ``jwt_at_test_issuer`` (session): a :class:`~django_jwt_at.testing.TestIssuer` with
  RS256 and ES256 keys, generated once; not configured by itself.
- ``jwt_at_issuer``: that issuer, trusted for the test (``JWT_AT_ISSUERS`` overridden),
  its key set installed in the process (no network).
- ``jwt_at_served_issuer``: the same, with the key set fetched from a loopback server.
- ``jwt_at_client``: a DRF ``APIClient``; pass it to
  :func:`~django_jwt_at.testing.authenticate` with a token.

With pytest-django, ``jwt_at_issuer`` and ``jwt_at_served_issuer`` change settings through
its ``settings`` fixture, so that a test using that fixture too has every change undone,
whatever the order of the fixtures.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from .issuer import TestIssuer


@pytest.fixture(scope="session")
def jwt_at_test_issuer() -> Iterator[TestIssuer]:
    """The session's test issuer (``https://issuer.test``, audience ``https://api.test``)."""
    from .issuer import TestIssuer

    issuer = TestIssuer(algorithms=("RS256", "ES256"))
    yield issuer
    issuer.stop()


@contextmanager
def _through(settings: Any, values: dict[str, Any]) -> Iterator[None]:
    for name, value in values.items():
        setattr(settings, name, value)
    yield  # restored by the settings fixture, after the test's own changes (reverse order)


def _trust(request: pytest.FixtureRequest, issuer: TestIssuer, *, serve: bool) -> AbstractContextManager[None]:
    """Trust ``issuer`` for the test. With pytest-django, the settings are changed through
    its ``settings`` fixture: a test that also changes settings with that fixture (in any
    order of the arguments) gets every change undone in reverse order. Two
    ``override_settings`` undone out of order would leave this fixture's settings in place
    after the test."""
    from .issuer import _trusted, override_issuers

    try:
        settings = request.getfixturevalue("settings")
    except pytest.FixtureLookupError:  # no pytest-django
        return override_issuers(issuer, serve=serve)
    return _trusted([issuer], serve=serve, apply=lambda values: _through(settings, values))


@pytest.fixture
def jwt_at_issuer(request: pytest.FixtureRequest, jwt_at_test_issuer: TestIssuer) -> Iterator[TestIssuer]:
    """The test issuer, trusted for this test; its keys installed without network."""
    with _trust(request, jwt_at_test_issuer, serve=False):
        yield jwt_at_test_issuer


@pytest.fixture
def jwt_at_served_issuer(request: pytest.FixtureRequest, jwt_at_test_issuer: TestIssuer) -> Iterator[TestIssuer]:
    """The test issuer, trusted for this test; its key set fetched over loopback HTTP."""
    jwt_at_test_issuer.serve()  # kept running for the session, stopped by jwt_at_test_issuer
    with _trust(request, jwt_at_test_issuer, serve=True):
        yield jwt_at_test_issuer


@pytest.fixture
def jwt_at_client() -> Any:
    """A DRF ``APIClient`` without credentials."""
    from rest_framework.test import APIClient

    return APIClient()
