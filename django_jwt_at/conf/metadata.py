"""``JWT_AT_RESOURCE`` and ``JWT_AT_RESOURCE_METADATA``: the RFC 9728 protected resource
metadata of the API."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any
from urllib.parse import urlsplit

from .base import SCOPE_TOKEN, ReaderBase
from .urls import url_problem

#: RFC 9728 §3: the well-known URI suffix of protected resource metadata.
METADATA_WELL_KNOWN = "/.well-known/oauth-protected-resource"
#: RFC 9728 §2 parameters that ``JWT_AT_RESOURCE_METADATA`` may set (others are refused,
#: since this package derives them or they would contradict what it enforces).
METADATA_URI_FIELDS = frozenset({"resource_documentation", "resource_policy_uri", "resource_tos_uri", "jwks_uri"})
METADATA_LIST_FIELDS = frozenset(
    {
        "scopes_supported",
        "authorization_servers",
        "authorization_details_types_supported",
        "resource_signing_alg_values_supported",
    }
)
METADATA_FIELDS = (
    METADATA_URI_FIELDS
    | METADATA_LIST_FIELDS
    | {
        "resource_name",
        "tls_client_certificate_bound_access_tokens",
    }
)


def metadata_url(resource: str) -> str:
    """The RFC 9728 §3.1 metadata URL of ``resource``: the well-known suffix inserted
    between the host and the path, after dropping a terminating slash."""
    parts = urlsplit(resource)
    path = parts.path.rstrip("/") if parts.path != "/" else ""
    return f"{parts.scheme}://{parts.netloc}{METADATA_WELL_KNOWN}{path}"


class ResourceSettings(ReaderBase):
    """Reads ``JWT_AT_RESOURCE`` and ``JWT_AT_RESOURCE_METADATA`` (E030, E031)."""

    def resource(self) -> str | None:
        resource = self.setting("JWT_AT_RESOURCE")
        if resource is None:
            return None
        why = url_problem(resource, allow_http=False)
        if why is None and urlsplit(resource).path.endswith("/") and urlsplit(resource).path != "/":
            why = "its path must not end with a slash"
        if why:
            self.problem(
                "E030",
                f"JWT_AT_RESOURCE {resource!r} is not a valid resource identifier: {why}.",
                "Use the https URL clients know this API by, without query or fragment (RFC 9728 §1.2).",
            )
            return None
        assert isinstance(resource, str)
        return resource

    def resource_metadata(self, certificate_binding: bool) -> Mapping[str, Any]:
        raw = self.setting("JWT_AT_RESOURCE_METADATA")
        if not isinstance(raw, Mapping):
            self.problem("E031", "JWT_AT_RESOURCE_METADATA must be a dict of RFC 9728 §2 parameters.", "")
            return {}
        result: dict[str, Any] = {}
        for name, value in raw.items():
            why = _metadata_field_problem(name, value, certificate_binding)
            if why:
                self.problem(
                    "E031",
                    f"JWT_AT_RESOURCE_METADATA[{name!r}] is not valid: {why}.",
                    f"Allowed: {sorted(METADATA_FIELDS)}; resource, authorization_servers (by default), "
                    "bearer_methods_supported and the dpop_* parameters are derived from the other settings.",
                )
            else:
                result[name] = list(value) if isinstance(value, (list, tuple)) else value
        return MappingProxyType(result)


def _metadata_field_problem(name: object, value: object, certificate_binding: bool) -> str | None:
    if name not in METADATA_FIELDS:
        return "it is not a parameter this setting may set"
    if name == "resource_name":
        return None if isinstance(value, str) and value else "it must be a non-empty string"
    if name == "tls_client_certificate_bound_access_tokens":
        if not isinstance(value, bool):
            return "it must be True or False"
        if value and not certificate_binding:
            # RFC 9728 §2 / RFC 8705 §3: a promise the resource does not keep (without
            # JWT_AT_MTLS_CERT_HEADER it refuses certificate-bound tokens).
            return "without JWT_AT_MTLS_CERT_HEADER certificate-bound access tokens are refused, so it must not be True"
        if not value and certificate_binding:
            return "with JWT_AT_MTLS_CERT_HEADER certificate-bound access tokens are accepted, so it must not be False"
        return None
    if name in METADATA_URI_FIELDS:
        return url_problem(value, allow_http=False, allow_query=True)
    if not isinstance(value, (list, tuple)) or not value or not all(isinstance(v, str) and v for v in value):
        return "it must be a non-empty list of strings"
    if name == "authorization_servers":
        return next((why for v in value if (why := url_problem(v, allow_http=False))), None)
    if name == "resource_signing_alg_values_supported" and "none" in value:
        return "'none' must not be used (RFC 9728 §2)"
    if name == "scopes_supported" and not all(SCOPE_TOKEN.match(v) for v in value):
        return "a scope contains characters RFC 6749 §3.3 does not allow"
    return None
