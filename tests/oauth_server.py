"""A small OAuth 2.0 authorization server on 127.0.0.1, for the third-party client tests.

Written for the tests and independent of the package under test: tokens are signed with
``cryptography`` through tests/signing.py, DPoP proofs are checked with ``cryptography``
directly. It serves:

* RFC 8414 metadata at ``/.well-known/oauth-authorization-server`` and its keys at ``/jwks``;
* RFC 7591 dynamic client registration at ``/register``;
* ``/authorize``: the authorization code grant with PKCE (RFC 7636, S256 only); it
  approves every valid request at once for the user ``USER`` and redirects back with
  ``code``, ``state`` and ``iss`` (RFC 9207);
* ``/token``: ``authorization_code`` and ``client_credentials``, client authentication by
  ``client_secret_basic``, ``client_secret_post`` or none (public clients, code grant
  only). Access tokens are RFC 9068 JWTs whose ``aud`` is the ``resource`` parameter
  (RFC 8707), else ``default_resource``; a token request with a valid DPoP proof
  (RFC 9449 §5) gets a DPoP-bound token (``cnf.jkt``, ``token_type`` ``DPoP``).

Every authorization and token request is recorded for the tests to inspect. Nothing is
persisted; each instance has its own key and clients.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit, urlunsplit

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from . import signing

USER = "user-42"
ACR = "urn:example:acr:mfa"
TOKEN_LIFETIME = 300
MAX_BODY = 64 * 1024
#: RFC 9449 §11.1: proofs are accepted for a limited time.
DPOP_WINDOW = 60

_EC = {"ES256": (ec.SECP256R1, hashes.SHA256), "ES384": (ec.SECP384R1, hashes.SHA384)}
_RSA = {"RS256": hashes.SHA256, "PS256": hashes.SHA256}


class OAuthError(Exception):
    """An RFC 6749 §5.2 error response."""

    def __init__(self, error: str, description: str, status: int = 400) -> None:
        super().__init__(description)
        self.error = error
        self.description = description
        self.status = status


@dataclass
class Client:
    client_id: str
    client_secret: str | None
    redirect_uris: list[str] = field(default_factory=list)
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass
class Grant:
    client_id: str
    redirect_uri: str
    code_challenge: str
    scope: str
    resource: str | None


def _b64url_decode(segment: str) -> bytes:
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


def _b64url_int(segment: str) -> int:
    return int.from_bytes(_b64url_decode(segment), "big")


def jwk_thumbprint(jwk: dict[str, Any]) -> str:
    """RFC 7638 §3 SHA-256 thumbprint of an EC or RSA public JWK."""
    members = ("crv", "kty", "x", "y") if jwk["kty"] == "EC" else ("e", "kty", "n")
    canonical = json.dumps({m: jwk[m] for m in members}, separators=(",", ":"), sort_keys=True)
    return signing.b64url(hashlib.sha256(canonical.encode("ascii")).digest())


def _verify(alg: str, jwk: dict[str, Any], signing_input: bytes, signature: bytes) -> None:
    """Verify a JWS signature with the public ``jwk``; raise ValueError if it fails."""
    try:
        if alg in _EC and jwk.get("kty") == "EC":
            curve, hash_class = _EC[alg]
            if jwk.get("crv") != {"ES256": "P-256", "ES384": "P-384"}[alg]:
                raise ValueError("curve does not match alg")
            public = ec.EllipticCurvePublicNumbers(_b64url_int(jwk["x"]), _b64url_int(jwk["y"]), curve()).public_key()
            size = len(signature) // 2
            der = encode_dss_signature(int.from_bytes(signature[:size], "big"), int.from_bytes(signature[size:], "big"))
            public.verify(der, signing_input, ec.ECDSA(hash_class()))
        elif alg in _RSA and jwk.get("kty") == "RSA":
            key = rsa.RSAPublicNumbers(_b64url_int(jwk["e"]), _b64url_int(jwk["n"])).public_key()
            hash_algorithm = _RSA[alg]()
            if alg.startswith("PS"):
                pss = padding.PSS(mgf=padding.MGF1(hash_algorithm), salt_length=hash_algorithm.digest_size)
                key.verify(signature, signing_input, pss, hash_algorithm)
            else:
                key.verify(signature, signing_input, padding.PKCS1v15(), hash_algorithm)
        else:
            raise ValueError(f"unsupported proof alg {alg!r}")
    except (InvalidSignature, KeyError, TypeError) as exc:
        raise ValueError("bad proof signature or key") from exc


def dpop_proof_jkt(proof: str, *, htm: str, htu: str, now: float) -> str:
    """Check a DPoP proof sent to the token endpoint (RFC 9449 §4.3, without ``ath``) and
    return the thumbprint of its key; raise ValueError if it is not acceptable."""
    parts = proof.split(".")
    if len(parts) != 3:
        raise ValueError("not a compact JWS")
    header = json.loads(_b64url_decode(parts[0]))
    claims = json.loads(_b64url_decode(parts[1]))
    jwk = header.get("jwk")
    if header.get("typ") != "dpop+jwt" or not isinstance(jwk, dict) or "d" in jwk:
        raise ValueError("typ or jwk")
    _verify(header.get("alg", ""), jwk, f"{parts[0]}.{parts[1]}".encode("ascii"), _b64url_decode(parts[2]))
    if claims.get("htm") != htm or not isinstance(claims.get("jti"), str):
        raise ValueError("htm or jti")
    sent = urlsplit(claims.get("htu", ""))
    if urlunsplit((sent.scheme, sent.netloc, sent.path, "", "")) != htu:
        raise ValueError("htu")
    iat = claims.get("iat")
    if not isinstance(iat, (int, float)) or abs(now - iat) > DPOP_WINDOW:
        raise ValueError("iat")
    return jwk_thumbprint(jwk)


class AuthorizationServer:
    """The server, started on a free port of 127.0.0.1 in a daemon thread.

    ``scopes_supported`` is listed in the metadata; requested scopes are granted as
    requested. ``default_resource`` is the ``aud`` of tokens requested without
    ``resource``.
    """

    def __init__(self, *, default_resource: str, scopes_supported: list[str]) -> None:
        self.default_resource = default_resource
        self.scopes_supported = list(scopes_supported)
        self.key = signing.rsa_key("as-1", alg="RS256")
        self.clients: dict[str, Client] = {}
        self.codes: dict[str, Grant] = {}
        #: The query parameters of every /authorize request, in order.
        self.authorization_requests: list[dict[str, str]] = []
        #: The form parameters (secrets removed) and DPoP presence of every /token request.
        self.token_requests: list[dict[str, Any]] = []
        self.lock = threading.Lock()
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.app = self
        self.issuer = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="oauth-server", daemon=True
        )
        self._thread.start()

    # -- configuration ----------------------------------------------------------------------
    def url(self, path: str) -> str:
        return self.issuer + path

    @property
    def token_endpoint(self) -> str:
        return self.url("/token")

    def add_client(self, client_id: str, client_secret: str | None, redirect_uris: list[str] | None = None) -> None:
        """Pre-register a client (as an administrator would)."""
        with self.lock:
            self.clients[client_id] = Client(client_id, client_secret, list(redirect_uris or []))

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    # -- documents --------------------------------------------------------------------------
    def metadata(self) -> dict[str, Any]:
        """RFC 8414 §2 metadata."""
        return {
            "issuer": self.issuer,
            "authorization_endpoint": self.url("/authorize"),
            "token_endpoint": self.token_endpoint,
            "registration_endpoint": self.url("/register"),
            "jwks_uri": self.url("/jwks"),
            "scopes_supported": self.scopes_supported,
            "response_types_supported": ["code"],
            "grant_types_supported": ["authorization_code", "client_credentials"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
            "code_challenge_methods_supported": ["S256"],
            "dpop_signing_alg_values_supported": sorted({*_EC, *_RSA}),
            "authorization_response_iss_parameter_supported": True,
        }

    def jwks(self) -> dict[str, Any]:
        return {"keys": [self.key.public_jwk(alg="RS256")]}

    # -- endpoints --------------------------------------------------------------------------
    def register(self, body: dict[str, Any]) -> dict[str, Any]:
        """RFC 7591 §3: register a client; answer its information (§3.2.1)."""
        redirect_uris = body.get("redirect_uris", [])
        if not isinstance(redirect_uris, list) or not all(isinstance(u, str) for u in redirect_uris):
            raise OAuthError("invalid_redirect_uri", "redirect_uris must be a list of URIs")
        method = body.get("token_endpoint_auth_method", "client_secret_basic")
        if method not in ("client_secret_basic", "client_secret_post", "none"):
            raise OAuthError("invalid_client_metadata", "unsupported token_endpoint_auth_method")
        client_id = "dyn-" + secrets.token_urlsafe(8)
        client_secret = None if method == "none" else secrets.token_urlsafe(24)
        info = {**body, "client_id": client_id, "client_id_issued_at": int(time.time())}
        info["token_endpoint_auth_method"] = method
        if client_secret is not None:
            info.update(client_secret=client_secret, client_secret_expires_at=0)
        with self.lock:
            self.clients[client_id] = Client(client_id, client_secret, redirect_uris, info)
        return info

    def authorize(self, query: dict[str, str]) -> str:
        """The redirect ``Location`` answering an authorization request (RFC 6749 §4.1.1,
        RFC 7636 §4.3), approved at once."""
        with self.lock:
            self.authorization_requests.append(dict(query))
            client = self.clients.get(query.get("client_id", ""))
        redirect_uri = query.get("redirect_uri", "")
        if client is None or redirect_uri not in client.redirect_uris:
            raise OAuthError("invalid_request", "unknown client or redirect_uri")
        params: dict[str, str] = {"iss": self.issuer}
        if "state" in query:
            params["state"] = query["state"]
        if query.get("response_type") != "code":
            params["error"] = "unsupported_response_type"
        elif query.get("code_challenge_method") != "S256" or not query.get("code_challenge"):
            params["error"] = "invalid_request"  # PKCE with S256 is required
        else:
            code = secrets.token_urlsafe(24)
            with self.lock:
                self.codes[code] = Grant(
                    client_id=client.client_id,
                    redirect_uri=redirect_uri,
                    code_challenge=query["code_challenge"],
                    scope=query.get("scope", ""),
                    resource=query.get("resource"),
                )
            params["code"] = code
        separator = "&" if urlsplit(redirect_uri).query else "?"
        return f"{redirect_uri}{separator}{urlencode(params)}"

    def token(self, form: dict[str, str], headers: dict[str, str]) -> dict[str, Any]:
        """A token response (RFC 6749 §5.1) for ``form``; raises OAuthError (§5.2)."""
        with self.lock:
            self.token_requests.append(
                {
                    "form": {k: v for k, v in form.items() if k not in ("client_secret", "code_verifier")},
                    "dpop": "dpop" in headers,
                }
            )
        client = self._authenticate_client(form, headers)
        grant_type = form.get("grant_type")
        if grant_type == "authorization_code":
            with self.lock:
                grant = self.codes.pop(form.get("code", ""), None)
            verifier = form.get("code_verifier", "")
            challenge = signing.b64url(hashlib.sha256(verifier.encode("ascii")).digest())
            if (
                grant is None
                or grant.client_id != client.client_id
                or grant.redirect_uri != form.get("redirect_uri")
                or not secrets.compare_digest(challenge, grant.code_challenge)
            ):
                raise OAuthError("invalid_grant", "bad code, redirect_uri or code_verifier")
            subject, scope, resource = USER, grant.scope, form.get("resource") or grant.resource
            extra: dict[str, Any] = {"auth_time": int(time.time()), "acr": ACR}
        elif grant_type == "client_credentials":
            if client.client_secret is None:
                raise OAuthError("unauthorized_client", "public clients cannot use client_credentials")
            subject, scope, resource, extra = client.client_id, form.get("scope", ""), form.get("resource"), {}
        else:
            raise OAuthError("unsupported_grant_type", "unsupported grant_type")
        jkt = None
        if "dpop" in headers:
            try:
                jkt = dpop_proof_jkt(headers["dpop"], htm="POST", htu=self.token_endpoint, now=time.time())
            except (ValueError, json.JSONDecodeError, UnicodeDecodeError) as exc:
                raise OAuthError("invalid_dpop_proof", str(exc)) from None
        return self.issue(client.client_id, subject, scope, resource or self.default_resource, jkt, extra)

    def issue(
        self,
        client_id: str,
        subject: str,
        scope: str,
        audience: str,
        jkt: str | None = None,
        extra: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """An RFC 9068 access token and its token response."""
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "sub": subject,
            "aud": audience,
            "client_id": client_id,
            "iat": now,
            "exp": now + TOKEN_LIFETIME,
            "jti": str(uuid.uuid4()),
            **(extra or {}),
        }
        if scope:
            claims["scope"] = scope
        if jkt is not None:
            claims["cnf"] = {"jkt": jkt}  # RFC 9449 §6.1
        header = {"typ": "at+jwt", "alg": "RS256", "kid": self.key.kid}
        token = signing.sign_compact(header, claims, self.key)
        response = {
            "access_token": token,
            "token_type": "DPoP" if jkt is not None else "Bearer",
            "expires_in": TOKEN_LIFETIME,
        }
        if scope:
            response["scope"] = scope
        return response

    def _authenticate_client(self, form: dict[str, str], headers: dict[str, str]) -> Client:
        """RFC 6749 §2.3.1: HTTP Basic or the form's client_secret; a public client (no
        secret registered) by its client_id alone."""
        authorization = headers.get("authorization", "")
        client_id, secret = form.get("client_id"), form.get("client_secret")
        if authorization[:6].lower() == "basic ":
            try:
                decoded = base64.b64decode(authorization[6:], validate=True).decode("utf-8")
            except ValueError:
                raise OAuthError("invalid_client", "malformed Basic credentials", 401) from None
            basic_id, _, basic_secret = decoded.partition(":")
            client_id, secret = unquote(basic_id), unquote(basic_secret)
        with self.lock:
            client = self.clients.get(client_id or "")
        if client is None:
            raise OAuthError("invalid_client", "unknown client", 401)
        if client.client_secret is not None and not secrets.compare_digest(secret or "", client.client_secret):
            raise OAuthError("invalid_client", "client authentication failed", 401)
        return client


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    app: AuthorizationServer


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server
    timeout = 10  # a client that stops sending does not hold a thread for long

    def log_message(self, format: str, *args: Any) -> None:  # keep the test output clean
        pass

    def _send(self, status: int, body: Any = None, headers: dict[str, str] | None = None) -> None:
        data = b"" if body is None else json.dumps(body).encode("utf-8")
        self.send_response(status)
        if body is not None:
            self.send_header("Content-Type", "application/json")
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(data)
        self.close_connection = True

    def _body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        if not 0 <= length <= MAX_BODY:
            raise OAuthError("invalid_request", "body too large")
        return self.rfile.read(length)

    def do_GET(self) -> None:
        app = self.server.app
        parts = urlsplit(self.path)
        try:
            if parts.path == "/.well-known/oauth-authorization-server":
                self._send(200, app.metadata())
            elif parts.path == "/jwks":
                self._send(200, app.jwks())
            elif parts.path == "/authorize":
                location = app.authorize(dict(parse_qsl(parts.query, keep_blank_values=True)))
                self._send(302, headers={"Location": location, "Cache-Control": "no-store"})
            else:
                self._send(404, {"error": "not_found"})
        except OAuthError as error:
            self._send(error.status, {"error": error.error, "error_description": error.description})

    def do_POST(self) -> None:
        app = self.server.app
        path = urlsplit(self.path).path
        try:
            body = self._body()
            if path == "/register":
                try:
                    document = json.loads(body)
                except ValueError:
                    raise OAuthError("invalid_client_metadata", "not JSON") from None
                if not isinstance(document, dict):
                    raise OAuthError("invalid_client_metadata", "not a JSON object")
                self._send(201, app.register(document), {"Cache-Control": "no-store"})
            elif path == "/token":
                form = dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
                headers = {name.lower(): value for name, value in self.headers.items()}
                self._send(200, app.token(form, headers), {"Cache-Control": "no-store"})
            else:
                self._send(404, {"error": "not_found"})
        except OAuthError as error:
            self._send(error.status, {"error": error.error, "error_description": error.description})
