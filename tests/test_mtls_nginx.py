"""End to end: certificate-bound access tokens through a real nginx that terminates TLS with
client certificates, in front of the test project under gunicorn (tests/nginx_server.py).

The client is ``requests`` with a client certificate; the token is bound to certificate A
(``cnf`` ``x5t#S256``, RFC 8705 §3.1) and its issuer's keys come from the suite's loopback
server. Both header formats are run with the nginx configurations docs/security.rst
shows, including the property everything rests on: what a client sends in ``Client-Cert``
itself never reaches Django.
"""

from __future__ import annotations

import time

import pytest
import requests

from .certs import make_cert
from .helpers import FX_AUD, FX_ISS, bearer
from .nginx_server import NJS_MODULE, Gunicorn, Nginx, needs_nginx

pytestmark = needs_nginx

TIMEOUT = 10
MISSING = "Certificate-bound access token requires a client certificate"
MISMATCH = "The client certificate does not match the access token"


@pytest.fixture(scope="module")
def tls(tmp_path_factory):
    """Certificates: the server's (127.0.0.1) and two clients' (A, B), written as PEM files."""
    directory = tmp_path_factory.mktemp("mtls-certs")
    server = make_cert("nginx", server_ip="127.0.0.1")
    a, b = make_cert("client-a"), make_cert("client-b")
    return {
        "server": server.write(directory, "server"),
        "a": a.write(directory, "a"),
        "b": b.write(directory, "b"),
        "a-cert": a,
        "b-cert": b,
    }


@pytest.fixture(scope="module", params=["pem-urlencoded", "rfc9440"])
def proxy(request, live_server_instance, tls):
    """gunicorn behind nginx, forwarding client certificates in ``request.param`` format.
    The issuer's keys are at /jwks of the suite's loopback server (routed for every test)."""
    cert_format = request.param
    if cert_format == "rfc9440" and not NJS_MODULE.exists():
        pytest.skip("the njs module (libnginx-mod-http-js) is not installed")
    settings = {
        "JWT_AT_ISSUERS": {
            FX_ISS: {"AUDIENCE": FX_AUD, "JWKS_URI": live_server_instance.url("/jwks"), "ALGORITHMS": ["RS256"]}
        },
        "JWT_AT_DPOP": "off",
        "JWT_AT_MTLS_CERT_HEADER": "Client-Cert",
        "JWT_AT_MTLS_CERT_FORMAT": cert_format,
    }
    gunicorn = Gunicorn(settings)
    try:
        cert, key = tls["server"]
        nginx = Nginx(upstream_port=gunicorn.port, server_cert=cert, server_key=key, cert_format=cert_format)
    except BaseException:
        gunicorn.stop()
        raise
    yield nginx
    nginx.stop()
    gunicorn.stop()


@pytest.fixture
def token(make_token, tls):
    """An RS256 token bound to certificate A, minted at the real time (gunicorn's clock)."""
    return make_token(claims={"cnf": {"x5t#S256": tls["a-cert"].thumbprint}}, now=time.time())


def call(proxy, tls, token, client=None, headers=None):
    return requests.get(
        proxy.url + "/plain/certificate",
        headers={"Authorization": f"Bearer {token}", **(headers or {})},
        cert=tls[client] if client else None,
        verify=str(tls["server"][0]),
        timeout=TIMEOUT,
    )


def test_the_bound_certificate_is_accepted(proxy, tls, token):
    response = call(proxy, tls, token, "a")
    assert response.status_code == 200, response.text
    assert response.json() == {"sub": "user-123", "x5t#S256": tls["a-cert"].thumbprint}


def test_another_certificate_is_refused(proxy, tls, token):
    response = call(proxy, tls, token, "b")
    assert response.status_code == 401, response.text
    assert response.headers["WWW-Authenticate"] == bearer("invalid_token", MISMATCH)


def test_no_certificate_is_refused(proxy, tls, token):
    response = call(proxy, tls, token)
    assert response.status_code == 401, response.text
    assert response.headers["WWW-Authenticate"] == bearer("invalid_token", MISSING)


def test_a_client_cannot_forward_a_certificate_itself(proxy, tls, token):
    """nginx replaces (or, without a client certificate, removes) the header a client sends,
    and drops header names with an underscore (which WSGI would read as the same header)."""
    a = tls["a-cert"]
    for forged in (a.rfc9440(), a.pem_urlencoded()):
        response = call(proxy, tls, token, headers={"Client-Cert": forged})
        assert response.headers["WWW-Authenticate"] == bearer("invalid_token", MISSING)
        response = call(proxy, tls, token, headers={"Client_Cert": forged})
        assert response.headers["WWW-Authenticate"] == bearer("invalid_token", MISSING)
        response = call(proxy, tls, token, "b", headers={"Client-Cert": forged})
        assert response.headers["WWW-Authenticate"] == bearer("invalid_token", MISMATCH)


def test_an_unbound_token_is_a_bearer_token_with_or_without_a_certificate(proxy, tls, make_token):
    token = make_token(now=time.time())
    assert call(proxy, tls, token, "b").status_code == 200
    assert call(proxy, tls, token).status_code == 200
