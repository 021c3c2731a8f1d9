"""DRF exceptions that carry their own rendered challenge.

DRF's ``APIView.handle_exception`` replaces the ``WWW-Authenticate`` of
``NotAuthenticated``/``AuthenticationFailed`` with the first authenticator's header and
turns the response into a 403 when that is None. :class:`AccessTokenError` is a plain
``APIException`` subclass instead, so the status and challenge computed here reach the
client whatever the order of DEFAULT_AUTHENTICATION_CLASSES. DRF's default
exception handler copies ``auth_header`` into ``WWW-Authenticate`` and ``wait`` into
``Retry-After``.
"""

from __future__ import annotations

from rest_framework.exceptions import APIException

from .challenges import ChallengeContext, error_body, error_headers
from .conf import Config, get_config
from .errors import KeySetUnavailable, ProtocolError


class AccessTokenError(APIException):
    """An RFC 6750 / RFC 9470 outcome rendered for DRF.

    ``status_code``, ``auth_header`` and ``wait`` come from the protocol ``error``; the
    body is ``{"detail": <description>, "error": <code>}`` (Design decisions: error body). ``context``
    (the request's DPoP mode and scheme) shapes the challenges; by default they are those
    of ``JWT_AT_DPOP`` for a request without credentials. ``headers`` holds every header
    of the answer, ``DPoP-Nonce`` included (added to DRF responses by the middleware).
    """

    def __init__(
        self, error: ProtocolError, config: Config | None = None, context: ChallengeContext | None = None
    ) -> None:
        config = config or get_config()
        self.error = error
        self.status_code = error.status
        body = error_body(config, error)
        super().__init__(detail=body if error.code else body["detail"], code=error.code or "not_authenticated")
        headers = error_headers(config, error, context)
        self.headers = headers
        self.auth_header: str | None = headers.get("WWW-Authenticate")
        self.wait: int | None = error.retry_after if isinstance(error, KeySetUnavailable) else None
