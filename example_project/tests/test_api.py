"""The example API, tested with django-jwt-at's test helpers: tokens from a test issuer,
exact statuses and WWW-Authenticate challenges."""

from __future__ import annotations

from django_jwt_at.testing import OMIT, authenticate

MFA = "urn:example:acr:mfa"
# The example API publishes RFC 9728 metadata and takes DPoP (optional mode): every
# challenge names the metadata, and the DPoP challenge follows the Bearer one.
METADATA = 'resource_metadata="https://api.example.com/.well-known/oauth-protected-resource"'
DPOP = f'DPoP algs="ES256 PS256", {METADATA}'
SCOPE_ERROR = (
    'error="insufficient_scope", '
    'error_description="The request requires higher privileges than provided by the access token"'
)


def test_public_needs_no_token(jwt_at_client):
    assert jwt_at_client.get("/api/public").status_code == 200


def test_no_token(jwt_at_issuer, jwt_at_client):
    response = jwt_at_client.get("/api/orders")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == f'Bearer realm="api", {METADATA}, {DPOP}'


def test_me(jwt_at_issuer, jwt_at_client):
    authenticate(jwt_at_client, jwt_at_issuer.token(sub="alice", scope="orders:read orders:write"))
    response = jwt_at_client.get("/api/me")
    assert response.status_code == 200
    assert response.json() == {"subject": "alice", "client_id": "web", "scopes": ["orders:read", "orders:write"]}


def test_orders_scopes_per_method(jwt_at_issuer, jwt_at_client):
    authenticate(jwt_at_client, jwt_at_issuer.token(scope="orders:read"))
    assert jwt_at_client.get("/api/orders").status_code == 200
    response = jwt_at_client.post("/api/orders")
    assert response.status_code == 403
    assert response["WWW-Authenticate"] == (
        f'Bearer realm="api", {SCOPE_ERROR}, scope="orders:write", {METADATA}, {DPOP}'
    )


def test_expired_token(jwt_at_issuer, jwt_at_client, fixed_clock):
    authenticate(jwt_at_client, jwt_at_issuer.token(scope="orders:read", iat=fixed_clock - 900, exp=fixed_clock - 300))
    response = jwt_at_client.get("/api/orders")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == (
        'Bearer realm="api", error="invalid_token", error_description="The access token expired", '
        f"{METADATA}, {DPOP}"
    )


def test_payments_step_up(jwt_at_issuer, jwt_at_client, fixed_clock):
    password_login = jwt_at_issuer.token(scope="payments:write", acr="urn:example:acr:pwd", auth_time=fixed_clock - 60)
    authenticate(jwt_at_client, password_login)
    response = jwt_at_client.post("/api/payments")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == (
        'Bearer realm="api", error="insufficient_user_authentication", '
        f'error_description="A different authentication level is required", acr_values="{MFA}", '
        f"{METADATA}, {DPOP}"
    )

    authenticate(jwt_at_client, jwt_at_issuer.token(scope="payments:write", acr=MFA, auth_time=fixed_clock - 600))
    response = jwt_at_client.post("/api/payments")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == (
        'Bearer realm="api", error="insufficient_user_authentication", '
        'error_description="More recent authentication is required", max_age="300", '
        f"{METADATA}, {DPOP}"
    )

    authenticate(jwt_at_client, jwt_at_issuer.token(scope="payments:write", acr=MFA, auth_time=fixed_clock - 60))
    response = jwt_at_client.post("/api/payments")
    assert (response.status_code, response.json()) == (200, {"payment": "accepted", "authorized_by": "test-user"})


def test_step_up_without_auth_time_fails_closed(jwt_at_issuer, jwt_at_client):
    authenticate(jwt_at_client, jwt_at_issuer.token(scope="payments:write", acr=MFA, auth_time=OMIT))
    response = jwt_at_client.post("/api/payments")
    assert response.status_code == 401
    assert 'max_age="300"' in response["WWW-Authenticate"]


def test_key_set_fetched_over_http(jwt_at_served_issuer, jwt_at_client):
    authenticate(jwt_at_client, jwt_at_served_issuer.token(scope="orders:read"))
    assert jwt_at_client.get("/api/orders").status_code == 200
    assert jwt_at_client.get("/api/orders").status_code == 200
    assert jwt_at_served_issuer.jwks_requests == 1
