"""Finding an issuer's ``jwks_uri`` through RFC 8414 metadata, then OpenID Connect Discovery.

The metadata must name exactly the configured issuer (RFC 8414 §3.3, code-point
comparison, no normalisation) and an acceptable ``jwks_uri`` (RFC 8414 §2: https; see
:func:`jwks_uri_problem`), or it is not used at all.
"""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

from .conf import IssuerConfig, normalized_origin, url_problem
from .fetch import Document, FetchError, fetch_json

_HTTPS_ONLY = "it must use https (http is accepted only on the origin of an http issuer, or with ALLOW_HTTP)"


def metadata_urls(issuer: str) -> list[str]:
    """The metadata locations to try, in order (RFC 8414 §3.1 and §5).

    The RFC 8414 well-known string goes between host and path (after removing a
    terminating slash); the OIDC location appends it to the issuer.
    """
    parts = urlsplit(issuer)
    path = parts.path.rstrip("/")
    rfc8414 = urlunsplit((parts.scheme, parts.netloc, "/.well-known/oauth-authorization-server" + path, "", ""))
    oidc = issuer.rstrip("/") + "/.well-known/openid-configuration"
    return [rfc8414, oidc]


def jwks_uri_problem(issuer: IssuerConfig, jwks_uri: object) -> str | None:
    """Why a ``jwks_uri`` read from the metadata of ``issuer`` cannot be used, or None.

    RFC 8414 §2: it "MUST use the 'https' scheme". Plain http is accepted only where the
    configuration says so: with the issuer's ALLOW_HTTP, or on the very origin of an http
    issuer identifier written in settings (a loopback issuer for local development, whose
    metadata names its own key set). The loopback exception of :func:`url_problem` is for
    URLs an operator wrote: a document from the network naming http://127.0.0.1:<port>/
    would make us call another service of this host (server-side request forgery, the
    risk RFC 8725 §3.10 names for URLs taken from tokens). Never raises.
    """
    why = url_problem(jwks_uri, allow_http=True, allow_query=True)
    if why is not None:
        # url_problem's scheme message speaks of loopback hosts, which do not apply here.
        return _HTTPS_ONLY if why.startswith("it must use https") else why
    assert isinstance(jwks_uri, str)
    if issuer.allow_http or urlsplit(jwks_uri).scheme == "https":
        return None
    try:
        if normalized_origin(jwks_uri) == normalized_origin(issuer.issuer):
            return None
    except ValueError:
        pass
    return _HTTPS_ONLY


def check_metadata(issuer: IssuerConfig, document: Document) -> str:
    """Return the ``jwks_uri`` of a metadata document, or raise FetchError if it is
    unusable (another issuer, RFC 8414 §3.3; see :func:`jwks_uri_problem`). Raises nothing
    else, whatever the document holds."""
    if document.data.get("issuer") != issuer.issuer:
        raise FetchError(f"metadata at {document.url} names a different issuer than {issuer.issuer}")
    jwks_uri = document.data.get("jwks_uri")
    why = jwks_uri_problem(issuer, jwks_uri)
    if why:
        raise FetchError(f"metadata at {document.url} has an unusable jwks_uri: {why}")
    assert isinstance(jwks_uri, str)
    return jwks_uri


def discover(issuer: IssuerConfig, *, timeout: float) -> tuple[str, Document]:
    """Fetch the first usable metadata document of ``issuer`` and return its ``jwks_uri``
    and the document; raise FetchError if no location has a usable one."""
    failures: list[str] = []
    for url in metadata_urls(issuer.issuer):
        try:
            document = fetch_json(url, timeout=timeout)
            return check_metadata(issuer, document), document
        except FetchError as exc:
            failures.append(str(exc))
    raise FetchError("; ".join(failures))
