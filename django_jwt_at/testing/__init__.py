"""Helpers for testing APIs protected by django-jwt-at: a test issuer minting RFC 9068
access tokens, a settings override that trusts it, DPoP client keys, test-client helpers,
a reader of ``WWW-Authenticate`` challenges and pytest fixtures
(the ``django_jwt_at`` pytest plugin, :mod:`django_jwt_at.testing.pytest_plugin`).

Names are imported on first use, so that loading the pytest plugin imports neither Django
nor ``cryptography`` and needs no configured settings.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .client import auth_header, authenticate, dpop_headers
    from .dpop import DPoPKey
    from .issuer import OMIT, TestIssuer, override_issuers
    from .keys import TestKey
    from .responses import challenges

__all__ = [
    "OMIT",
    "DPoPKey",
    "TestIssuer",
    "TestKey",
    "auth_header",
    "authenticate",
    "challenges",
    "dpop_headers",
    "override_issuers",
]

_MODULES = {
    "OMIT": ".issuer",
    "TestIssuer": ".issuer",
    "override_issuers": ".issuer",
    "TestKey": ".keys",
    "DPoPKey": ".dpop",
    "auth_header": ".client",
    "authenticate": ".client",
    "dpop_headers": ".client",
    "challenges": ".responses",
}


def __getattr__(name: str) -> Any:
    module = _MODULES.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(module, __name__), name)


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
