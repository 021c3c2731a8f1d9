"""The DPoP settings (RFC 9449): mode, proof algorithms and window, server nonces, the
external origin proofs name in ``htu``."""

from __future__ import annotations

import hashlib
import hmac
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from .base import DEFAULTS, MAX_LEEWAY, ReaderBase
from .issuers import SUPPORTED_ALGORITHMS
from .urls import normalized_origin, url_problem

DPOP_MODES = ("off", "optional", "required")
#: The shortest JWT_AT_DPOP_NONCE_SECRET accepted (characters).
MIN_NONCE_SECRET = 32


def dpop_mode(value: object) -> str:
    """``value`` as a DPoP mode; ImproperlyConfigured when it is not one (a view's ``dpop``
    attribute or a decorator argument)."""
    if value not in DPOP_MODES:
        raise ImproperlyConfigured(f"DPoP mode {value!r} is not one of {DPOP_MODES}")
    assert isinstance(value, str)
    return value


class DPoPSettings(ReaderBase):
    """Reads the ``JWT_AT_DPOP*`` settings and ``JWT_AT_RESOURCE_URL`` (E032-E036, E038, E041)."""

    def dpop(self, resource: str | None) -> dict[str, Any]:
        mode = self.setting("JWT_AT_DPOP")
        if mode is not None and mode not in DPOP_MODES:
            self.problem("E032", f"JWT_AT_DPOP must be one of {list(DPOP_MODES)} (or None).", "")
            mode = None
        algorithms = self.setting("JWT_AT_DPOP_ALGORITHMS")
        if (
            not isinstance(algorithms, (list, tuple))
            or not algorithms
            or not all(isinstance(a, str) and a in SUPPORTED_ALGORITHMS for a in algorithms)
            or len(set(algorithms)) != len(algorithms)
        ):
            self.problem(
                "E033",
                "JWT_AT_DPOP_ALGORITHMS must be a non-empty list of distinct supported asymmetric algorithms.",
                f"Supported: {sorted(SUPPORTED_ALGORITHMS)}; 'none' and HMAC algorithms are never "
                "accepted (RFC 9449 §4.2, §11.6).",
            )
            algorithms = DEFAULTS["JWT_AT_DPOP_ALGORITHMS"]
        window = self.setting("JWT_AT_DPOP_IAT_WINDOW")
        if (
            not isinstance(window, (list, tuple))
            or len(window) != 2
            or not all(isinstance(w, int) and not isinstance(w, bool) and 0 <= w <= MAX_LEEWAY for w in window)
        ):
            self.problem(
                "E034",
                f"JWT_AT_DPOP_IAT_WINDOW must be a pair of integers from 0 to {MAX_LEEWAY}: seconds a "
                "proof's iat may lie in the past and in the future.",
                "RFC 9449 §11.1: servers MUST only accept DPoP proofs for a limited time.",
            )
            window = DEFAULTS["JWT_AT_DPOP_IAT_WINDOW"]
        nonce = self.boolean("JWT_AT_DPOP_NONCE", "E035")
        lifetime = self.integer("JWT_AT_DPOP_NONCE_LIFETIME", 10, 3600, "E035")
        nonce_key = b""
        if nonce:
            secret = self.setting("JWT_AT_DPOP_NONCE_SECRET")
            if secret is None:
                secret = getattr(settings, "SECRET_KEY", "")
            if not isinstance(secret, str) or len(secret) < MIN_NONCE_SECRET:
                self.problem(
                    "E035",
                    "DPoP nonces need JWT_AT_DPOP_NONCE_SECRET (or SECRET_KEY) of at least "
                    f"{MIN_NONCE_SECRET} characters.",
                    "Every instance must share the secret, so that a nonce issued by one is accepted by all.",
                )
            else:
                # A key of its own, so that a nonce MAC can never stand for another SECRET_KEY use.
                nonce_key = hmac.new(secret.encode("utf-8"), b"django_jwt_at.dpop-nonce", hashlib.sha256).digest()
        origin_setting = self.setting("JWT_AT_RESOURCE_URL")
        origin: str | None = None
        if origin_setting is not None:
            why = url_problem(origin_setting, allow_http=False)
            if why is None and urlsplit(origin_setting).path not in ("", "/"):
                why = "it must be an origin (scheme, host and port) without a path"
            if why:
                self.problem(
                    "E036",
                    f"JWT_AT_RESOURCE_URL {origin_setting!r} is not valid: {why}.",
                    "Set the external origin clients use, e.g. 'https://api.example.com' (RFC 9449 §4.3).",
                )
            else:
                origin = normalized_origin(origin_setting)
        elif resource is not None:
            origin = normalized_origin(resource)
        if mode is None:
            # Not set: DPoP is on exactly when proofs can be checked, i.e. when the external
            # origin their htu must name is known (RFC 9449 §4.3). Otherwise every challenge
            # would advertise a scheme no proof can pass.
            mode = "optional" if origin is not None else "off"
        accept_bound = self.boolean("JWT_AT_DPOP_ACCEPT_BOUND_AS_BEARER", "E038")
        if accept_bound and mode != "off":
            self.problem(
                "E041",
                f"JWT_AT_DPOP_ACCEPT_BOUND_AS_BEARER is True but JWT_AT_DPOP is {mode!r}.",
                "A resource that supports DPoP must refuse DPoP-bound tokens sent as Bearer "
                "(RFC 9449 §7.2): the setting applies only when DPoP is off for the whole resource.",
            )
            accept_bound = False
        return {
            "dpop_mode": mode,
            "dpop_algorithms": tuple(algorithms),
            "dpop_iat_window": (window[0], window[1]),
            "dpop_origin": origin,
            "dpop_nonce": nonce,
            "dpop_nonce_lifetime": lifetime,
            "dpop_nonce_key": nonce_key,
            "dpop_accept_bound_as_bearer": accept_bound,
        }
