"""The URL rules of settings: issuer identifiers, key-set URLs, origins (RFC 8414 §2,
RFC 3986 §6.2)."""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from .base import URI_VALUE


def normalized_origin(url: str) -> str:
    """``scheme://host[:port]`` of ``url``, lower-cased, without a default port (RFC 3986
    §6.2.2.1, §6.2.3). Raises ValueError for a URL without a usable host or port."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    host = parts.hostname
    if scheme not in ("http", "https") or not host or parts.username is not None or parts.password is not None:
        raise ValueError("not an http(s) URL with a host")
    port = parts.port  # ValueError when out of range or not a number
    if ":" in host:
        host = f"[{host}]"  # an IPv6 literal
    if port is None or port == (443 if scheme == "https" else 80):
        return f"{scheme}://{host}"
    return f"{scheme}://{host}:{port}"


def is_loopback_host(host: str | None) -> bool:
    """True for ``localhost`` and loopback IP literals (127.0.0.0/8, ::1)."""
    if not host:
        return False
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def url_problem(url: object, *, allow_http: bool, allow_query: bool = False) -> str | None:
    """Why ``url`` cannot be an issuer (or, with ``allow_query``, a JWKS) URL, or None.

    RFC 8414 §2: an https URL without fragment, and for an issuer identifier without
    query either. Plain http is accepted for loopback hosts (local development, tests)
    and where ``allow_http`` is set: a rule for URLs written in settings; a ``jwks_uri``
    read from metadata has a stricter one (:func:`django_jwt_at.discovery.jwks_uri_problem`).
    Never raises.
    """
    if not isinstance(url, str) or not url:
        return "it must be a non-empty string"
    if "#" in url or (not allow_query and "?" in url):
        return "it must not have a fragment" if allow_query else "it must not have a query or fragment"
    if not URI_VALUE.match(url):
        return "it contains characters that are not allowed in a URL"
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018  (raises ValueError for a port that is not a number in range)
    except ValueError:  # an unbalanced IPv6 literal ("http://[::1"), a bad port
        return "it is not a valid URL"
    if not parts.hostname or parts.username is not None or parts.password is not None:
        return "it must be an absolute URL with a host and no user information"
    if parts.scheme == "https":
        return None
    if parts.scheme == "http" and (allow_http or is_loopback_host(parts.hostname)):
        return None
    return "it must use https (http is accepted only for loopback hosts or with ALLOW_HTTP)"
