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
"""

from __future__ import annotations

from collections.abc import Iterator
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


@pytest.fixture
def jwt_at_issuer(jwt_at_test_issuer: TestIssuer) -> Iterator[TestIssuer]:
    """The test issuer, trusted for this test; its keys installed without network."""
    from .issuer import override_issuers

    with override_issuers(jwt_at_test_issuer):
        yield jwt_at_test_issuer


@pytest.fixture
def jwt_at_served_issuer(jwt_at_test_issuer: TestIssuer) -> Iterator[TestIssuer]:
    """The test issuer, trusted for this test; its key set fetched over loopback HTTP."""
    from .issuer import override_issuers

    jwt_at_test_issuer.serve()  # kept running for the session, stopped by jwt_at_test_issuer
    with override_issuers(jwt_at_test_issuer, serve=True):
        yield jwt_at_test_issuer


@pytest.fixture
def jwt_at_client() -> Any:
    """A DRF ``APIClient`` without credentials."""
    from rest_framework.test import APIClient

    return APIClient()
