"""The view decorators on async views, through Django's ASGI handler (AsyncClient).

Validation runs on the event loop while the issuer's key set is in memory (no thread
hop); a key-set fetch, DPoP and form bodies go to a worker thread of their own, and a
user mapping that may query the database, and signal receivers, to the thread Django
runs sync code in. Every answer is the one the sync path gives. Views live in this
module (``pytest.mark.urls``)."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from django.http import JsonResponse
from django.test import AsyncClient, Client
from django.urls import path

import django_jwt_at.decorators
import django_jwt_at.request_auth
from django_jwt_at.authentication import JWTAccessTokenAuthentication, ModelBackedJWTAccessTokenAuthentication
from django_jwt_at.conf import get_config
from django_jwt_at.decorators import access_token_required
from django_jwt_at.jwks import key_sets
from django_jwt_at.request_auth import WouldBlock, authenticate_request
from django_jwt_at.signals import access_token_rejected, access_token_validated
from django_jwt_at.token_cache import verified_tokens
from django_jwt_at.users import (
    AccessTokenClient,
    AccessTokenUser,
    StatelessUserMapping,
    UserMapping,
    stateless_principal,
)

from .dpop_proofs import RS, make_proof, public_jwk, thumbprint
from .helpers import FX_AUD

pytestmark = pytest.mark.urls(__name__)

#: Thread ids seen by the views: the event loop's thread for async views.
VIEW_THREADS: list[int] = []


def _describe(request: Any) -> dict[str, Any]:
    user = request.user
    return {
        "claims": dict(request.auth.claims),
        "issuer": request.auth.issuer,
        "user_type": type(user).__name__,
        "user": [user.pk, user.username, user.issuer, user.is_authenticated, user.is_staff],
    }


@access_token_required(scopes=["orders:read"])
def sync_view(request: Any) -> JsonResponse:
    return JsonResponse(_describe(request))


@access_token_required(scopes=["orders:read"])
async def async_view(request: Any) -> JsonResponse:
    VIEW_THREADS.append(threading.get_ident())
    return JsonResponse(_describe(request))


@access_token_required(dpop="required")
async def async_dpop_view(request: Any) -> JsonResponse:
    return JsonResponse({"sub": request.auth.subject, "jkt": request.auth.jkt})


@access_token_required(authentication_class=ModelBackedJWTAccessTokenAuthentication)
async def async_model_view(request: Any) -> JsonResponse:
    return JsonResponse({"username": request.user.get_username()})


@access_token_required
async def async_mark_view(request: Any) -> JsonResponse:
    """Sets an attribute on its principal: the next request must not see it."""
    seen = getattr(request.user, "marked", None)
    request.user.marked = "by an earlier request"
    return JsonResponse({"seen": seen, "id": id(request.user)})


urlpatterns = [
    path("sync", sync_view),
    path("async", async_view),
    path("async-dpop", async_dpop_view),
    path("async-model", async_model_view),
    path("async-mark", async_mark_view),
]


@pytest.fixture(autouse=True)
def _clean() -> None:
    VIEW_THREADS.clear()


@pytest.fixture
def hops(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, bool]]:
    """Every sync_to_async the decorators make: (function name, thread_sensitive)."""
    calls: list[tuple[str, bool]] = []

    def recording(func: Any, *, thread_sensitive: bool = True, **kwargs: Any) -> Any:
        calls.append((getattr(func, "__name__", repr(func)), thread_sensitive))
        return sync_to_async(func, thread_sensitive=thread_sensitive, **kwargs)

    monkeypatch.setattr(django_jwt_at.decorators, "sync_to_async", recording)
    return calls


@pytest.fixture
def validation_threads(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The thread id of every validation authenticate_request runs."""
    threads: list[int] = []
    real = django_jwt_at.request_auth.validate_access_token

    def recording(*args: Any, **kwargs: Any) -> Any:
        threads.append(threading.get_ident())
        return real(*args, **kwargs)

    monkeypatch.setattr(django_jwt_at.request_auth, "validate_access_token", recording)
    return threads


def aget(path: str, authorization: str | None = None, **headers: str) -> Any:
    """GET through Django's ASGI handler; the event loop runs in another thread than the
    caller, which serves as the thread for sync code (``thread_sensitive=True``)."""
    if authorization is not None:
        headers["authorization"] = authorization
    return async_to_sync(AsyncClient().get)(path, headers=headers)


def sget(path: str, authorization: str | None = None, **headers: str) -> Any:
    if authorization is not None:
        headers["authorization"] = authorization
    return Client().get(path, headers=headers)


def answer(response: Any) -> tuple[int, str | None, bytes]:
    return response.status_code, response.get("WWW-Authenticate"), response.content


# --- where the work runs -----------------------------------------------------------------------


def test_held_key_set_validates_on_the_event_loop_without_a_thread_hop(
    make_token, hops, validation_threads, server
) -> None:
    assert aget("/async", f"Bearer {make_token()}").status_code == 200  # fetches the key set
    hops.clear()
    validation_threads.clear()
    fetches = server.count("/jwks")
    for token in (make_token(), make_token()):  # first-seen, then ...
        for _ in range(2):  # ... a cache hit
            assert aget("/async", f"Bearer {token}").status_code == 200
    assert hops == []
    assert len(validation_threads) == 4
    assert validation_threads == VIEW_THREADS[-4:]  # the event loop's own thread
    assert threading.get_ident() not in validation_threads
    assert server.count("/jwks") == fetches


def test_cold_key_set_is_fetched_in_a_worker_thread_of_its_own(make_token, hops, validation_threads, server) -> None:
    response = aget("/async", f"Bearer {make_token()}")
    assert response.status_code == 200, response.content
    assert server.count("/jwks") == 1
    assert hops == [("authenticate_request", False)]
    inline, in_thread = validation_threads
    assert inline == VIEW_THREADS[0]  # tried on the loop first, gave up before any I/O ...
    assert in_thread not in (VIEW_THREADS[0], threading.get_ident())  # ... then not the sync thread


def test_unknown_kid_goes_to_the_thread_where_the_registry_decides(make_token, keys, hops, server) -> None:
    from .conftest import fx_jwks

    assert aget("/async", f"Bearer {make_token()}").status_code == 200
    hops.clear()
    server.route("/jwks", fx_jwks(keys, keys["rsa-2"].public_jwk(alg="RS256")))  # a rotation
    assert aget("/async", f"Bearer {make_token(key='rsa-2')}").status_code == 200
    assert hops == [("authenticate_request", False)]
    assert server.count("/jwks") == 2


def test_expired_key_set_is_refreshed_in_a_thread(make_token, hops, server, clock) -> None:
    token = make_token(claims={"exp": int(clock.t) + 7200})
    assert aget("/async", f"Bearer {token}").status_code == 200
    clock.advance(3600 + 1)  # the key set's lifetime
    hops.clear()
    assert aget("/async", f"Bearer {token}").status_code == 200
    assert hops == [("authenticate_request", False)]
    assert server.count("/jwks") == 2


def test_unavailable_key_set_answers_as_the_sync_path(make_token, server) -> None:
    server.route("/jwks", {"error": "gone"}, status=500)
    token = make_token()
    async_answer = answer(aget("/async", f"Bearer {token}"))
    key_sets.clear()
    assert async_answer == answer(sget("/sync", f"Bearer {token}"))
    assert async_answer[0] == 503


@pytest.mark.django_db
def test_database_mapping_runs_in_the_sync_thread(make_token, hops, settings) -> None:
    settings.JWT_AT_CREATE_USERS = True
    response = aget("/async-model", f"Bearer {make_token()}")
    assert response.status_code == 200, response.content
    assert ("get_user", True) in hops


def test_signal_receivers_run_off_the_event_loop(make_token, hops) -> None:
    seen: list[tuple[str, bool]] = []

    def on_loop() -> bool:
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return False
        return True

    def validated(sender: Any, **kwargs: Any) -> None:
        seen.append(("validated", on_loop()))

    def rejected(sender: Any, **kwargs: Any) -> None:
        seen.append((kwargs["reason"], on_loop()))

    async def async_validated(sender: Any, **kwargs: Any) -> None:
        seen.append(("async validated", on_loop()))

    access_token_validated.connect(validated)
    access_token_validated.connect(async_validated)
    access_token_rejected.connect(rejected)
    try:
        assert aget("/async", f"Bearer {make_token()}").status_code == 200
        assert aget("/async", f"Bearer {make_token(claims={'aud': 'https://other.example'})}").status_code == 401
        assert aget("/async", f"Bearer {make_token(claims={'scope': 'x'})}").status_code == 403
    finally:
        access_token_validated.disconnect(validated)
        access_token_validated.disconnect(async_validated)
        access_token_rejected.disconnect(rejected)
    assert sorted(seen) == sorted(
        [
            ("validated", False),
            ("async validated", True),
            ("bad_audience", False),
            ("validated", False),  # the third token is valid ...
            ("async validated", True),
            ("insufficient_scope", False),  # ... and refused by the view's scope
        ]
    )


def test_raising_validated_receiver_fails_the_request_closed(make_token) -> None:
    def boom(sender: Any, **kwargs: Any) -> None:
        raise RuntimeError("audit store down")

    access_token_validated.connect(boom)
    try:
        with pytest.raises(RuntimeError, match="audit store down"):
            aget("/async", f"Bearer {make_token()}")
    finally:
        access_token_validated.disconnect(boom)


def test_dpop_on_an_async_view(make_token, hops, settings) -> None:
    from . import signing

    settings.JWT_AT_DPOP = "optional"
    settings.JWT_AT_RESOURCE_URL = RS
    kd = signing.ec_key("KD", "P-256")
    token = make_token(claims={"cnf": {"jkt": thumbprint(public_jwk(kd))}})
    proof = make_proof(kd, token=token, now=django_jwt_at.clock.now(), htu=RS + "/async-dpop")
    response = aget("/async-dpop", f"DPoP {token}", dpop=proof)
    assert response.status_code == 200, response.content
    assert response.json() == {"sub": "user-123", "jkt": thumbprint(public_jwk(kd))}
    assert hops == [("authenticate_request", False)]  # the replay store may be a network cache
    replayed = aget("/async-dpop", f"DPoP {token}", dpop=proof)
    assert replayed.status_code == 401


# --- the same answers as the sync path ---------------------------------------------------------


def test_valid_token_gives_the_same_request_as_the_sync_path(make_token) -> None:
    token = make_token(claims={"roles": ["a", "b"], "realm_access": {"roles": ["r"]}})
    sync_response = sget("/sync", f"Bearer {token}")
    async_first = aget("/async", f"Bearer {token}")  # a cache hit after the sync request
    verified_tokens.clear()
    async_cold = aget("/async", f"Bearer {token}")  # validated in full on the loop
    assert sync_response.status_code == async_first.status_code == async_cold.status_code == 200
    assert sync_response.json() == async_first.json() == async_cold.json()
    assert sync_response.json()["user_type"] == "AccessTokenUser"


def test_client_credentials_token_gives_the_same_principal(make_token) -> None:
    token = make_token(claims={"sub": "client-abc"})
    sync_body = sget("/sync", f"Bearer {token}").json()
    assert sync_body == aget("/async", f"Bearer {token}").json()
    assert sync_body["user_type"] == "AccessTokenClient"


@pytest.mark.parametrize(
    "case",
    [
        "none",
        "expired",
        "bad-signature",
        "wrong-audience",
        "no-scope",
        "malformed-header",
        "other-scheme",
        "dpop-bound-as-bearer",
        "bearer-with-dpop-proof",
        "unknown-kid",
        "lowercase-scheme",
    ],
)
def test_refusals_are_the_same_as_the_sync_path(case, make_token, settings, clock) -> None:
    settings.JWT_AT_DPOP = "optional"
    settings.JWT_AT_RESOURCE_URL = RS
    headers: dict[str, str] = {}
    authorization: str | None
    if case == "none":
        authorization = None
    elif case == "expired":
        authorization = f"Bearer {make_token(claims={'exp': int(clock.t) - 3600})}"
    elif case == "bad-signature":
        head, payload, signature = make_token().split(".")
        authorization = f"Bearer {head}.{payload}.{signature[::-1]}"
    elif case == "wrong-audience":
        authorization = f"Bearer {make_token(claims={'aud': 'https://other.example'})}"
    elif case == "no-scope":
        authorization = f"Bearer {make_token(claims={'scope': 'orders:write'})}"
    elif case == "malformed-header":
        authorization = f"Bearer {make_token()} trailing"
    elif case == "other-scheme":
        authorization = "Basic dXNlcjpwYXNz"
    elif case == "dpop-bound-as-bearer":
        authorization = f"Bearer {make_token(claims={'cnf': {'jkt': 'x' * 43}})}"
    elif case == "bearer-with-dpop-proof":
        authorization = f"Bearer {make_token()}"
        headers["dpop"] = "e30.e30.sig"
    elif case == "unknown-kid":
        authorization = f"Bearer {make_token(key='KX', header={'kid': 'unknown-kid'})}"
    else:
        authorization = f"bearer {make_token()}"
    sync_answer = answer(sget("/sync", authorization, **headers))
    key_sets.clear()
    verified_tokens.clear()
    cold = answer(aget("/async", authorization, **headers))
    warm = answer(aget("/async", authorization, **headers))
    assert cold == warm == sync_answer
    if case != "lowercase-scheme":
        assert sync_answer[0] in (400, 401, 403)


def test_cached_token_refused_with_a_disabled_header_method_as_the_sync_path(make_token, settings) -> None:
    token = make_token()
    assert aget("/async", f"Bearer {token}").status_code == 200  # now in the verified-token cache
    settings.JWT_AT_TOKEN_METHODS = ["query"]
    assert token not in verified_tokens  # a settings change empties the cache
    assert answer(aget("/async", f"Bearer {token}")) == answer(sget("/sync", f"Bearer {token}"))
    assert aget("/async", f"Bearer {token}").status_code == 401


def test_token_in_header_and_query_is_refused_even_when_cached(make_token, settings) -> None:
    settings.JWT_AT_TOKEN_METHODS = ["header", "query"]
    token = make_token()
    assert aget("/async", f"Bearer {token}").status_code == 200
    assert token in verified_tokens
    both = async_to_sync(AsyncClient().get)(
        f"/async?access_token={token}", headers={"authorization": f"Bearer {token}"}
    )
    sync_both = Client().get(f"/sync?access_token={token}", headers={"authorization": f"Bearer {token}"})
    assert answer(both) == answer(sync_both)
    assert both.status_code == 400


def test_form_body_token_on_an_async_view(make_token, settings, hops) -> None:
    settings.JWT_AT_TOKEN_METHODS = ["body"]
    token = make_token()

    @access_token_required
    async def view(request: Any) -> JsonResponse:
        return JsonResponse({"sub": request.auth.subject})

    from django.test import AsyncRequestFactory

    request = AsyncRequestFactory().post(
        "/x", data=f"access_token={token}", content_type="application/x-www-form-urlencoded"
    )
    response = async_to_sync(view)(request)
    assert response.status_code == 200, response.content
    assert hops == [("authenticate_request", False)]


# --- principals ---------------------------------------------------------------------------------


def test_principal_is_never_shared_between_requests(make_token) -> None:
    token = make_token()
    first = aget("/async-mark", f"Bearer {token}").json()
    second = aget("/async-mark", f"Bearer {token}").json()  # a cache hit
    assert first["seen"] is None and second["seen"] is None


def test_stateless_principal_is_what_the_default_mapping_returns(make_token) -> None:
    from django_jwt_at.validation import validate_access_token

    config = get_config()
    for claims, kind in (({}, AccessTokenUser), ({"sub": "client-abc"}, AccessTokenClient)):
        token = validate_access_token(
            make_token(claims=claims), config=config, key_sets=key_sets, now=django_jwt_at.clock.now()
        )
        fast, mapped = stateless_principal(token), StatelessUserMapping().get_user(token)
        assert type(fast) is type(mapped) is kind
        assert vars(fast) == vars(mapped)
        assert fast == mapped and fast is not stateless_principal(token)


class _Subclassed(StatelessUserMapping):
    def get_end_user(self, token: Any) -> Any:
        return "custom"


class _OwnGetUser(JWTAccessTokenAuthentication):
    def get_user(self, token: Any) -> Any:
        return super().get_user(token)


@pytest.mark.parametrize(
    ("authentication", "setting", "inline"),
    [
        (JWTAccessTokenAuthentication, None, True),
        (JWTAccessTokenAuthentication, "django_jwt_at.users.ModelUserMapping", False),
        (ModelBackedJWTAccessTokenAuthentication, None, False),
        (type("WithSubclass", (JWTAccessTokenAuthentication,), {"user_mapping_class": _Subclassed}), None, False),
        (type("WithBase", (JWTAccessTokenAuthentication,), {"user_mapping_class": UserMapping}), None, False),
        (_OwnGetUser, None, False),
    ],
    ids=["default", "model-setting", "model-class", "subclassed-mapping", "base-mapping", "own-get-user"],
)
def test_only_the_stateless_default_mapping_runs_on_the_loop(authentication, setting, inline, settings) -> None:
    if setting is not None:
        settings.JWT_AT_USER_MAPPING = setting
    assert authentication.maps_without_io() is inline


def test_subclassed_stateless_mapping_is_still_used(make_token) -> None:
    class Auth(JWTAccessTokenAuthentication):
        user_mapping_class = _Subclassed

    from django_jwt_at.validation import validate_access_token

    token = validate_access_token(make_token(), config=get_config(), key_sets=key_sets, now=django_jwt_at.clock.now())
    assert Auth().get_user(token) == "custom"


# --- authenticate_request(blocking=False) -----------------------------------------------------------


def _request(authorization: str) -> Any:
    from django.test import RequestFactory

    return RequestFactory().get("/x", HTTP_AUTHORIZATION=authorization)


def test_non_blocking_call_refuses_to_fetch(make_token, server) -> None:
    token = make_token()
    with pytest.raises(WouldBlock):
        authenticate_request(_request(f"Bearer {token}"), get_config(), blocking=False)
    assert server.count("/jwks") == 0
    blocking = authenticate_request(_request(f"Bearer {token}"), get_config())
    assert server.count("/jwks") == 1
    verified_tokens.clear()
    inline = authenticate_request(_request(f"Bearer {token}"), get_config(), blocking=False)
    assert inline is not None and blocking is not None
    assert dict(inline.claims) == dict(blocking.claims) and inline.issuer == blocking.issuer
    assert inline.audience == (FX_AUD,)


# --- issuers trusted at run time --------------------------------------------------------------------

TENANT_TEMPLATE = "https://login.example.com/{tenant}/v2.0"
#: (tenant, whether the TENANTS callable was called on an event loop)
TENANT_CALLS: list[tuple[str, bool]] = []


def trusted_tenant(tenant: str) -> bool:
    """A TENANTS callable: sync code that may query a database."""
    try:
        asyncio.get_running_loop()
        on_loop = True
    except RuntimeError:
        on_loop = False
    TENANT_CALLS.append((tenant, on_loop))
    return tenant == "alpha"


@pytest.fixture
def tenant_template(fx: Any, server: Any, keys: Any) -> Any:
    from django_jwt_at.tenants import dynamic_issuers

    server.route("/tenants/alpha/jwks", {"keys": [keys["rsa-1"].public_jwk(alg="RS256")]})
    fx.settings.JWT_AT_ISSUERS = {
        **fx.settings.JWT_AT_ISSUERS,
        TENANT_TEMPLATE: {
            "AUDIENCE": FX_AUD,
            "JWKS_URI": server.url("/tenants/{tenant}/jwks"),
            "ALGORITHMS": ["RS256"],
            "TENANTS": f"{__name__}.trusted_tenant",
        },
    }
    TENANT_CALLS.clear()
    dynamic_issuers.clear()
    yield
    dynamic_issuers.clear()


def test_issuers_trusted_at_run_time_are_decided_off_the_event_loop(make_token, hops, tenant_template) -> None:
    """A TENANTS callable (or a resolver) is sync code: with issuer templates or a
    resolver configured, async views authenticate in the worker thread, and answer as
    the sync path does."""
    trusted = make_token(claims={"iss": TENANT_TEMPLATE.replace("{tenant}", "alpha")})
    refused = make_token(claims={"iss": TENANT_TEMPLATE.replace("{tenant}", "beta")})
    exact = make_token()
    for token in (trusted, trusted, refused, exact, exact):
        async_answer = answer(aget("/async", f"Bearer {token}"))
        assert async_answer == answer(sget("/sync", f"Bearer {token}"))
    assert answer(aget("/async", f"Bearer {trusted}"))[0] == 200
    assert answer(aget("/async", f"Bearer {refused}"))[0] == 401
    assert hops and all(hop == ("authenticate_request", False) for hop in hops)
    assert TENANT_CALLS and not any(on_loop for _, on_loop in TENANT_CALLS)
