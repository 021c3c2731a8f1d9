"""Worker process for the cross-process DPoP replay test (spawn context).

Sets Django up with the shared Redis cache, authenticates one request carrying a DPoP
token and proof through :func:`django_jwt_at.request_auth.authenticate_request` at a fixed
time and puts ``(pid, outcome)`` on ``results``: "ok" or the exception's class name.
"""

from __future__ import annotations

from typing import Any


def authenticate_worker(django_settings: dict[str, Any], token: str, proof: str, now: float, results: Any) -> None:
    import os

    import django
    from django.conf import settings

    settings.configure(**django_settings)
    django.setup()

    from django.test import RequestFactory

    import django_jwt_at.clock
    from django_jwt_at.conf import get_config
    from django_jwt_at.request_auth import authenticate_request

    django_jwt_at.clock.now = lambda: now
    request = RequestFactory().get("/orders", HTTP_AUTHORIZATION=f"DPoP {token}", HTTP_DPOP=proof)
    try:
        authenticate_request(request, get_config())
        outcome = "ok"
    except Exception as exc:
        outcome = type(exc).__name__
    results.put((os.getpid(), outcome))
