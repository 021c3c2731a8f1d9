"""DRF exceptions that carry their own rendered challenge.

DRF's ``APIView.handle_exception`` replaces the ``WWW-Authenticate`` of
``NotAuthenticated``/``AuthenticationFailed`` with the first authenticator's header and
turns the response into a 403 when that is None. These exceptions are plain
``APIException`` subclasses instead, so the status and challenge computed here reach the
client whatever the order of DEFAULT_AUTHENTICATION_CLASSES (C-DRF-02). DRF's default
exception handler copies ``auth_header`` into ``WWW-Authenticate`` and ``wait`` into
``Retry-After``.
"""

from __future__ import annotations

from rest_framework.exceptions import APIException

from .challenges import bearer_challenge
from .conf import Config, get_config
from .errors import KeySetUnavailable, ProtocolError

# Used in the JSON body instead of the specific description when JWT_AT_ERROR_DESCRIPTIONS
# is False, so that switching descriptions off hides them from the body too.
_GENERIC_DETAIL = {
    "invalid_request": "The request is invalid",
    "invalid_token": "The access token is invalid",
    "insufficient_scope": "The access token is not sufficient for this request",
    "insufficient_user_authentication": "Stronger or more recent user authentication is required",
}


class AccessTokenError(APIException):
    """An RFC 6750 / RFC 9470 outcome rendered for DRF.

    ``status_code`` and ``auth_header`` come from the protocol error; the body is
    ``{"detail": <description>, "error": <code>}`` (choice A-31b), or DRF's usual
    ``{"detail": ...}`` when there is no error code (no credentials at all).
    """

    def __init__(self, error: ProtocolError, config: Config | None = None) -> None:
        config = config or get_config()
        self.error = error
        self.status_code = error.status
        text = error.description.value
        if error.code and not config.error_descriptions:
            text = _GENERIC_DETAIL.get(error.code, text)
        detail: dict[str, str] | str = {"detail": text, "error": error.code} if error.code else text
        super().__init__(detail=detail, code=error.code or "not_authenticated")
        self.auth_header: str | None = None
        self.wait: int | None = None
        if isinstance(error, KeySetUnavailable):
            self.wait = error.retry_after
        else:
            self.auth_header = bearer_challenge(config, error)
