"""Sending a test issuer's tokens (and DPoP proofs) with Django's and DRF's test clients."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import quote

if TYPE_CHECKING:
    from django.http import HttpRequest

    from .dpop import DPoPKey

_Client = TypeVar("_Client")


def auth_header(token: str) -> dict[str, str]:
    """``{"Authorization": "Bearer <token>"}``, the header of one request (Django 4.2+
    clients take ``headers=``)::

        client.get("/api/orders", headers=auth_header(token))
    """
    return {"Authorization": f"Bearer {token}"}


def dpop_headers(token: str, key: DPoPKey, method: str, url: str, *, nonce: str | None = None) -> dict[str, str]:
    """``{"Authorization": "DPoP <token>", "DPoP": <proof>}``, the headers of one DPoP
    request: the proof is ``key.proof(method, url, token, nonce=nonce)``
    (:meth:`DPoPKey.proof <django_jwt_at.testing.DPoPKey.proof>`; a ``url`` that is a
    path is appended to the configured origin)::

        client.post("/api/transfers", headers=dpop_headers(token, key, "POST", "/api/transfers"))

    Sending the same headers twice sends the same proof twice, which the package refuses
    as a replay.
    """
    return {"Authorization": f"DPoP {token}", "DPoP": key.proof(method, url, token, nonce=nonce)}


def authenticate(client: _Client, token: str | None, *, dpop: DPoPKey | None = None) -> _Client:
    """Send ``token`` with every later request of ``client`` (a DRF ``APIClient`` or a
    Django test ``Client``); ``None`` stops sending it. Returns ``client``.

    Without ``dpop`` the header is ``Authorization: Bearer <token>``. With a
    :class:`~django_jwt_at.testing.DPoPKey` it is ``Authorization: DPoP <token>``, and each
    request also gets a ``DPoP`` header with a new proof signed by ``dpop`` for that
    request: its method, ``htu`` = the configured origin (``JWT_AT_RESOURCE_URL``, or the
    origin of ``JWT_AT_RESOURCE``) followed by the request's path, ``ath`` of the token
    in its ``Authorization`` header, and the last ``DPoP-Nonce`` a response of this
    client carried, as a DPoP client does (RFC 9449 §8). A request that already has a
    ``DPoP`` header (``headers={"DPoP": ...}``) is sent as it is. Proofs need the
    client's handler: a sync ``Client``/``APIClient`` (TypeError otherwise).

    On an ``APIClient`` this is ``client.credentials(...)``, which replaces any
    credentials set before.
    """
    scheme = "Bearer" if dpop is None else "DPoP"
    credentials: dict[str, Any] = {} if token is None else {"HTTP_AUTHORIZATION": f"{scheme} {token}"}
    _send_proofs(client, dpop if token is not None else None)
    set_credentials = getattr(client, "credentials", None)
    if callable(set_credentials):
        set_credentials(**credentials)
    else:
        defaults: dict[str, Any] = client.defaults  # type: ignore[attr-defined]
        defaults.pop("HTTP_AUTHORIZATION", None)
        defaults.update(credentials)
    return client


class _ProofSender:
    """Put on a test client's handler as ``get_response``: adds a DPoP proof to each
    request, then calls the handler's own ``get_response``."""

    def __init__(self, key: DPoPKey, get_response: Any) -> None:
        self.key = key
        self.get_response = get_response
        self.nonce: str | None = None

    def __call__(self, request: HttpRequest) -> Any:
        if "HTTP_DPOP" not in request.META:
            scheme, _, credentials = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
            token = credentials.strip() if scheme.lower() == "dpop" and credentials.strip() else None
            # request.path is what the package appends to the origin (decoded, SCRIPT_NAME
            # included); the proof carries it percent-encoded, and htu is compared decoded.
            request.META["HTTP_DPOP"] = self.key.proof(
                request.method or "GET", quote(request.path, safe="/"), token, nonce=self.nonce
            )
        response = self.get_response(request)
        nonce = response.headers.get("DPoP-Nonce")
        if nonce:
            self.nonce = nonce
        return response


def _send_proofs(client: Any, key: DPoPKey | None) -> None:
    handler: Any = getattr(client, "handler", None)
    if isinstance(getattr(handler, "__dict__", {}).get("get_response"), _ProofSender):
        del handler.get_response  # back to the handler's own method
    if key is None:
        return
    from django.test.client import ClientHandler

    if not isinstance(handler, ClientHandler):
        raise TypeError(
            "authenticate(..., dpop=key) adds proofs through the handler of a django.test.Client "
            f"or rest_framework.test.APIClient, not {type(client).__name__}; send dpop_headers(...) instead"
        )
    handler.get_response = _ProofSender(key, handler.get_response)  # type: ignore[method-assign]
