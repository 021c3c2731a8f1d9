"""Sending a test issuer's tokens with Django's and DRF's test clients."""

from __future__ import annotations

from typing import Any, TypeVar

_Client = TypeVar("_Client")


def auth_header(token: str) -> dict[str, str]:
    """``{"Authorization": "Bearer <token>"}``, the header of one request (Django 4.2+
    clients take ``headers=``)::

        client.get("/api/orders", headers=auth_header(token))
    """
    return {"Authorization": f"Bearer {token}"}


def authenticate(client: _Client, token: str | None) -> _Client:
    """Send ``Authorization: Bearer <token>`` with every later request of ``client`` (a
    DRF ``APIClient`` or a Django test ``Client``); ``None`` stops sending it. Returns
    ``client``.

    On an ``APIClient`` this is ``client.credentials(...)``, which replaces any
    credentials set before.
    """
    credentials: dict[str, Any] = {} if token is None else {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    set_credentials = getattr(client, "credentials", None)
    if callable(set_credentials):
        set_credentials(**credentials)
    else:
        defaults: dict[str, Any] = client.defaults  # type: ignore[attr-defined]
        defaults.pop("HTTP_AUTHORIZATION", None)
        defaults.update(credentials)
    return client
