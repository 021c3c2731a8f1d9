"""Issue 8, part 5: the audit signals ``access_token_validated`` / ``access_token_rejected``
and the log records with stable reason codes. Exact kwargs for a valid token and for
each class of rejection; no kwarg or log record carries the token; receivers that raise
cannot turn a rejection into an acceptance. Views: the fixture views of tests.urls plus
a few here (``pytest.mark.urls``)."""

from __future__ import annotations

import logging
import re

import pytest
from django.contrib.auth import get_user_model
from django.http import HttpRequest, JsonResponse
from django.urls import include, path
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from django_jwt_at import signals
from django_jwt_at.authentication import JWTAccessTokenAuthentication, ModelBackedJWTAccessTokenAuthentication
from django_jwt_at.decorators import access_token_required
from django_jwt_at.errors import Description, InvalidToken
from django_jwt_at.permissions import AllOf, HasScope
from django_jwt_at.signals import REASON_CODES, UNSPECIFIED, access_token_rejected, access_token_validated
from django_jwt_at.tokens import AccessToken

from . import signing
from .conftest import ABSENT, NOW
from .helpers import FX_ISS, PWD, SecretIndex, bearer, json_body

pytestmark = pytest.mark.urls(__name__)

AUTH = JWTAccessTokenAuthentication


class ModelWho(APIView):
    authentication_classes = [ModelBackedJWTAccessTokenAuthentication]

    def get(self, request):
        return Response({"pk": request.user.pk})


@access_token_required(scopes=["orders:read"])
def plain_orders(request):
    return JsonResponse({"sub": request.auth.subject})


urlpatterns = [
    path("model-who", ModelWho.as_view()),
    path("plain-orders", plain_orders),
    path("", include("tests.urls")),
]


class Recorder:
    """Every signal sent during the test: (signal, sender, kwargs)."""

    def __init__(self):
        self.calls = []

    def __call__(self, signal, sender, **kwargs):
        self.calls.append((signal, sender, kwargs))

    def of(self, signal):
        return [(sender, kwargs) for s, sender, kwargs in self.calls if s is signal]


@pytest.fixture
def recorder():
    rec = Recorder()
    access_token_validated.connect(rec, weak=False, dispatch_uid="test-recorder-v")
    access_token_rejected.connect(rec, weak=False, dispatch_uid="test-recorder-r")
    yield rec
    access_token_validated.disconnect(dispatch_uid="test-recorder-v")
    access_token_rejected.disconnect(dispatch_uid="test-recorder-r")


def audit_records(caplog):
    return [r for r in caplog.get_records("call") if r.name == "django_jwt_at"]


def assert_nothing_leaks(secrets, recorder, caplog):
    """No signal kwarg and no log record (any level; for ours any attribute) holds the
    token or a 20-character piece of it. The ``request`` kwarg is the request itself,
    which carries the credentials (headers, and the URL with the query method): it is
    checked to be nothing else."""
    index = SecretIndex([s for s in secrets if s])
    for _, sender, kwargs in recorder.calls:
        for name, value in kwargs.items():
            if name == "request":
                assert isinstance(value, (Request, HttpRequest)), type(value)
                continue
            assert not index.leaks(repr(value)), f"token material in kwarg {name}"
            assert not index.leaks(str(value)), f"token material in kwarg {name}"
    for record in caplog.get_records("call"):
        text = record.getMessage()
        if record.name.split(".")[0] == "django_jwt_at":
            # Our records: every attribute, extra included. (Django's own django.request
            # records carry the request object as an attribute.)
            text += " " + " ".join(repr(v) for v in vars(record).values())
        assert not index.leaks(text), f"token material in log record {record.name}"


# ---------------------------------------------------------------------------------------
# reason codes
# ---------------------------------------------------------------------------------------


def test_every_description_has_a_reason_code():
    assert set(REASON_CODES) == set(Description)
    for description, code in REASON_CODES.items():
        assert code != UNSPECIFIED, description
        assert re.fullmatch(r"[a-z][a-z_]*[a-z]", code), code


def test_reason_codes_are_stable():
    """The documented codes (docs/signals.rst): changing one breaks users' log queries."""
    assert dict(REASON_CODES) == {
        Description.MALFORMED_HEADER: "malformed_header",
        Description.MULTIPLE_METHODS: "multiple_methods",
        Description.REPEATED_TOKEN: "repeated_token",
        Description.MALFORMED_TOKEN: "malformed_token",
        Description.TYP: "bad_type",
        Description.ALG: "bad_algorithm",
        Description.SIGNATURE: "bad_signature",
        Description.ISS: "untrusted_issuer",
        Description.AUD: "bad_audience",
        Description.EXPIRED: "expired",
        Description.NBF: "not_yet_valid",
        Description.IAT: "issued_in_future",
        Description.CLAIMS: "bad_claims",
        Description.CRIT: "unsupported_crit",
        Description.ENCRYPTED: "encrypted",
        Description.SCOPE: "insufficient_scope",
        Description.ACR: "step_up_required",
        Description.MAX_AGE: "step_up_required",
        Description.ACR_MAX_AGE: "step_up_required",
        Description.CONFIRMATION: "unsupported_binding",
        Description.DPOP_MISSING: "dpop_proof_missing",
        Description.DPOP_PROOF: "bad_dpop_proof",
        Description.DPOP_BINDING: "bad_dpop_binding",
        Description.DPOP_BEARER: "dpop_bound_as_bearer",
        Description.DPOP_UNBOUND: "not_dpop_bound",
        Description.DPOP_NONCE: "dpop_nonce_required",
        Description.MTLS_MISSING: "client_certificate_missing",
        Description.MTLS_CERTIFICATE: "bad_client_certificate",
        Description.MTLS_BINDING: "bad_certificate_binding",
        Description.SENDER_CONSTRAINED: "not_sender_constrained",
        Description.UNAVAILABLE: "key_set_unavailable",
        Description.NOT_AUTHENTICATED: "not_authenticated",
        Description.USER_UNKNOWN: "unknown_user",
        Description.USER_DISABLED: "user_disabled",
    }


# ---------------------------------------------------------------------------------------
# validated
# ---------------------------------------------------------------------------------------


def test_valid_token_sends_validated_with_exact_kwargs(api, make_token, recorder, caplog):
    token = make_token(claims={"jti": "jti-1"})
    response = api.get("/orders", token)
    assert response.status_code == 200
    assert recorder.of(access_token_rejected) == []
    ((sender, kwargs),) = recorder.of(access_token_validated)
    assert sender is AUTH
    assert set(kwargs) == {"request", "token", "issuer", "tenant"}
    assert kwargs["tenant"] is None  # an issuer configured by its exact identifier
    assert isinstance(kwargs["request"], Request) and kwargs["request"].path == "/orders"
    assert isinstance(kwargs["token"], AccessToken)
    assert (kwargs["token"].subject, kwargs["token"].jti) == ("user-123", "jti-1")
    assert kwargs["issuer"] == FX_ISS
    ((record,),) = [audit_records(caplog)]
    assert (record.levelno, record.reason, record.issuer) == (logging.INFO, "validated", FX_ISS)
    assert_nothing_leaks([token], recorder, caplog)


def test_no_signal_without_credentials(api, recorder, caplog):
    response = api.get("/orders")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == bearer()
    assert recorder.calls == []
    assert audit_records(caplog) == []


# ---------------------------------------------------------------------------------------
# rejections by the authentication class
# ---------------------------------------------------------------------------------------


def _jwe(mk):
    h = {"alg": "RSA-OAEP-256", "enc": "A256GCM", "kid": "rsa-1", "typ": "at+jwt"}
    return ".".join(signing.encode_segment(x) for x in (h, b"k" * 32, b"i" * 12, b"c" * 40, b"t" * 16))


# id: (token factory, reason, status, log level); the error is always invalid_token
AUTH_REJECTIONS = {
    "malformed_token": (lambda mk: "mF_9.B5f-4.1JqM", "malformed_token", 401, logging.WARNING),
    "bad_type": (lambda mk: mk(header={"typ": "JWT"}), "bad_type", 401, logging.WARNING),
    "bad_algorithm": (
        lambda mk: mk(header={"alg": "HS256"}, key=b"secret-secret-secret"),
        "bad_algorithm",
        401,
        logging.WARNING,
    ),
    "unsupported_crit": (lambda mk: mk(header={"crit": ["exp"]}), "unsupported_crit", 401, logging.WARNING),
    "encrypted": (_jwe, "encrypted", 401, logging.WARNING),
    "untrusted_issuer": (
        lambda mk: mk(claims={"iss": "https://attacker.example/evil-issuer"}, key="KX"),
        "untrusted_issuer",
        401,
        logging.WARNING,
    ),
    "bad_signature": (lambda mk: mk(header={"kid": "rsa-1"}, key="KX"), "bad_signature", 401, logging.WARNING),
    "bad_audience": (lambda mk: mk(claims={"aud": "https://other.example"}), "bad_audience", 401, logging.WARNING),
    "expired": (lambda mk: mk(claims={"exp": int(NOW) - 120}), "expired", 401, logging.INFO),
    "not_yet_valid": (lambda mk: mk(claims={"nbf": int(NOW) + 3600}), "not_yet_valid", 401, logging.WARNING),
    "issued_in_future": (lambda mk: mk(claims={"iat": int(NOW) + 3600}), "issued_in_future", 401, logging.WARNING),
    "bad_claims": (lambda mk: mk(claims={"jti": ABSENT}), "bad_claims", 401, logging.WARNING),
}


AFTER_TRUSTED_ISSUER = {"bad_signature", "bad_audience", "expired", "not_yet_valid", "issued_in_future", "bad_claims"}


@pytest.mark.parametrize("case", list(AUTH_REJECTIONS), ids=list(AUTH_REJECTIONS))
def test_rejected_token_sends_rejected_with_exact_kwargs(api, make_token, recorder, caplog, case):
    factory, reason, status, level = AUTH_REJECTIONS[case]
    token = factory(make_token)
    response = api.get("/orders", token)
    assert response.status_code == status
    assert recorder.of(access_token_validated) == []
    ((sender, kwargs),) = recorder.of(access_token_rejected)
    assert sender is AUTH
    assert set(kwargs) == {"request", "reason", "issuer", "tenant", "error", "status"}
    assert kwargs["tenant"] is None
    assert isinstance(kwargs["request"], Request)
    # The issuer is reported once the token's iss matched a configured one; an attacker's
    # iss never shows up.
    issuer = FX_ISS if case in AFTER_TRUSTED_ISSUER else None
    assert {k: kwargs[k] for k in ("reason", "issuer", "error", "status")} == {
        "reason": reason,
        "issuer": issuer,
        "error": "invalid_token",
        "status": status,
    }
    ((record,),) = [audit_records(caplog)]
    assert (record.levelno, record.reason, record.issuer, record.error, record.status) == (
        level,
        reason,
        issuer,
        "invalid_token",
        status,
    )
    assert "attacker" not in record.getMessage()
    assert_nothing_leaks([token], recorder, caplog)


def test_malformed_header_is_an_invalid_request(api, make_token, recorder, caplog):
    token = make_token()
    response = api.get("/orders", authorization=f"Bearer\t{token}")
    assert response.status_code == 400
    ((sender, kwargs),) = recorder.of(access_token_rejected)
    assert sender is AUTH
    assert (kwargs["reason"], kwargs["issuer"], kwargs["error"], kwargs["status"]) == (
        "malformed_header",
        None,
        "invalid_request",
        400,
    )
    assert_nothing_leaks([token], recorder, caplog)


def test_multiple_methods(api, make_token, recorder, caplog, settings):
    settings.JWT_AT_TOKEN_METHODS = ["header", "query"]
    token = make_token()
    response = api.get(f"/orders?access_token={token}", token)
    assert response.status_code == 400
    ((_, kwargs),) = recorder.of(access_token_rejected)
    assert (kwargs["reason"], kwargs["error"], kwargs["status"]) == ("multiple_methods", "invalid_request", 400)
    assert_nothing_leaks([token], recorder, caplog)


def test_key_set_unavailable(api, make_token, recorder, caplog, server):
    server.route("/jwks", "down", status=500)
    token = make_token()
    response = api.get("/orders", token)
    assert response.status_code == 503
    ((sender, kwargs),) = recorder.of(access_token_rejected)
    assert sender is AUTH
    assert (kwargs["reason"], kwargs["error"], kwargs["status"]) == (
        "key_set_unavailable",
        "temporarily_unavailable",
        503,
    )
    (record,) = audit_records(caplog)
    # INFO: django_jwt_at.jwks writes the one WARNING per outage, not one per request.
    assert (record.levelno, record.reason) == (logging.INFO, "key_set_unavailable")
    assert_nothing_leaks([token], recorder, caplog)


# ---------------------------------------------------------------------------------------
# rejections by the user mapping and the permission classes: the issuer is known
# ---------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_unknown_and_disabled_users(api, make_token, recorder, caplog):
    from django_jwt_at.models import TokenSubject

    token = make_token()
    response = api.get("/model-who", token)
    assert response.status_code == 401
    user = get_user_model().objects.create_user("alice", is_active=False)
    TokenSubject.objects.create(issuer=FX_ISS, subject="user-123", user=user, created=now_dt(), last_seen=now_dt())
    response = api.get("/model-who", token)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == bearer("invalid_token", "The user of the access token is disabled")
    assert recorder.of(access_token_validated) == []
    rejected = recorder.of(access_token_rejected)
    assert [sender for sender, _ in rejected] == [ModelBackedJWTAccessTokenAuthentication] * 2
    assert [(k["reason"], k["issuer"], k["error"], k["status"]) for _, k in rejected] == [
        ("unknown_user", FX_ISS, "invalid_token", 401),
        ("user_disabled", FX_ISS, "invalid_token", 401),
    ]
    assert [(r.levelno, r.reason) for r in audit_records(caplog)] == [
        (logging.INFO, "unknown_user"),
        (logging.WARNING, "user_disabled"),
    ]
    assert_nothing_leaks([token], recorder, caplog)


def now_dt():
    from datetime import datetime, timezone

    return datetime.fromtimestamp(NOW, tz=timezone.utc)


def test_insufficient_scope_from_the_permission(api, make_token, recorder, caplog):
    token = make_token(claims={"scope": "orders:read"})
    response = api.post("/orders", token)
    assert response.status_code == 403
    ((v_sender, _),) = recorder.of(access_token_validated)
    assert v_sender is AUTH
    ((sender, kwargs),) = recorder.of(access_token_rejected)
    assert sender is HasScope
    assert set(kwargs) == {"request", "reason", "issuer", "tenant", "error", "status"}
    assert kwargs["tenant"] is None
    assert (kwargs["reason"], kwargs["issuer"], kwargs["error"], kwargs["status"]) == (
        "insufficient_scope",
        FX_ISS,
        "insufficient_scope",
        403,
    )
    records = audit_records(caplog)
    assert [(r.levelno, r.reason) for r in records] == [
        (logging.INFO, "validated"),
        (logging.INFO, "insufficient_scope"),
    ]
    assert_nothing_leaks([token], recorder, caplog)


def test_step_up_from_the_permission(api, make_token, recorder, caplog):
    token = make_token(claims={"acr": PWD})
    response = api.post("/payments", token)
    assert response.status_code == 401
    ((sender, kwargs),) = recorder.of(access_token_rejected)
    assert sender is AllOf  # HasScope(...) & StepUpRequired(...)
    assert (kwargs["reason"], kwargs["issuer"], kwargs["error"], kwargs["status"]) == (
        "step_up_required",
        FX_ISS,
        "insufficient_user_authentication",
        401,
    )
    assert_nothing_leaks([token], recorder, caplog)


def test_plain_view_decorator_sends_both_signals(api, make_token, recorder, caplog):
    ok = make_token()
    assert api.get("/plain-orders", ok).status_code == 200
    weak = make_token(claims={"scope": "orders:write"})
    assert api.get("/plain-orders", weak).status_code == 403
    expired = make_token(claims={"exp": int(NOW) - 120})
    assert api.get("/plain-orders", expired).status_code == 401
    validated = recorder.of(access_token_validated)
    assert [(s, k["issuer"]) for s, k in validated] == [(AUTH, FX_ISS), (AUTH, FX_ISS)]
    assert all(isinstance(k["request"], HttpRequest) for _, k in validated)
    rejected = recorder.of(access_token_rejected)
    assert [(s, k["reason"], k["issuer"], k["status"]) for s, k in rejected] == [
        (AUTH, "insufficient_scope", FX_ISS, 403),
        (AUTH, "expired", FX_ISS, 401),
    ]
    assert_nothing_leaks([ok, weak, expired], recorder, caplog)


# ---------------------------------------------------------------------------------------
# issuer hygiene, failing receivers, logging cost
# ---------------------------------------------------------------------------------------


def test_rejection_issuer_only_when_configured(recorder, rf):
    error = InvalidToken(Description.EXPIRED)
    error.issuer = FX_ISS
    signals.token_rejected(AUTH, rf.get("/"), error)
    error = InvalidToken(Description.EXPIRED)
    error.issuer = "https://attacker.example"
    signals.token_rejected(AUTH, rf.get("/"), error)
    signals.token_rejected(AUTH, rf.get("/"), InvalidToken(Description.EXPIRED), "https://attacker.example")
    assert [k["issuer"] for _, k in recorder.of(access_token_rejected)] == [FX_ISS, None, None]


def test_raising_rejected_receiver_does_not_change_the_rejection(api, make_token, recorder, caplog):
    def boom(sender, **kwargs):
        raise RuntimeError("receiver failure")

    access_token_rejected.connect(boom, weak=False, dispatch_uid="test-boom")
    try:
        token = make_token(claims={"exp": int(NOW) - 120})
        response = api.get("/orders", token)
        scope_response = api.post("/orders", make_token(claims={"scope": "orders:read"}))
    finally:
        access_token_rejected.disconnect(dispatch_uid="test-boom")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == bearer("invalid_token", "The access token expired")
    assert json_body(response) == {"detail": "The access token expired", "error": "invalid_token"}
    assert scope_response.status_code == 403
    assert [k["reason"] for _, k in recorder.of(access_token_rejected)] == ["expired", "insufficient_scope"]
    assert any(r.name == "django.dispatch" and r.levelno == logging.ERROR for r in caplog.get_records("call"))


@pytest.mark.parametrize("url", ["/orders", "/plain-orders"], ids=["drf", "plain"])
def test_raising_validated_receiver_fails_closed(api, make_token, url):
    def boom(sender, **kwargs):
        raise RuntimeError("audit store down")

    access_token_validated.connect(boom, weak=False, dispatch_uid="test-boom")
    try:
        with pytest.raises(RuntimeError, match="audit store down"):
            api.get(url, make_token())
    finally:
        access_token_validated.disconnect(dispatch_uid="test-boom")


def test_no_logging_work_when_the_level_is_off(api, make_token, monkeypatch):
    logger = logging.getLogger("django_jwt_at")
    monkeypatch.setattr(logger, "level", logging.ERROR)
    logger.manager._clear_cache()

    def forbidden(*args, **kwargs):
        raise AssertionError("log call while the level is off")

    monkeypatch.setattr(signals.logger, "info", forbidden)
    monkeypatch.setattr(signals.logger, "log", forbidden)
    try:
        assert api.get("/orders", make_token()).status_code == 200
        assert api.get("/orders", make_token(claims={"exp": int(NOW) - 120})).status_code == 401
    finally:
        logger.manager._clear_cache()
