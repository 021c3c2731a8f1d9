"""Issue 8, part 2: user mapping. The stateless default and the model-backed mapping
(TokenSubject rows linking (issuer, sub) to Django users), the client principal of
client-credentials tokens, disabled users, and the rule that claims never grant staff or
superuser. Views live in this module (``pytest.mark.urls``)."""

from __future__ import annotations

import base64
import hashlib
import io
from datetime import datetime, timezone

import pytest
from django.contrib.auth import get_user_model
from django.core.checks import run_checks
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.http import JsonResponse
from django.urls import path
from rest_framework.permissions import IsAdminUser
from rest_framework.response import Response
from rest_framework.views import APIView

from django_jwt_at.authentication import JWTAccessTokenAuthentication, ModelBackedJWTAccessTokenAuthentication
from django_jwt_at.conf import get_config
from django_jwt_at.decorators import access_token_required
from django_jwt_at.models import TokenSubject
from django_jwt_at.users import AccessTokenClient, AccessTokenUser, ModelUserMapping, StatelessUserMapping

from .conftest import NOW
from .helpers import FX_ISS, FX_ISS2, bearer, json_body

pytestmark = [pytest.mark.urls(__name__), pytest.mark.django_db]

UNKNOWN = bearer("invalid_token", "The user of the access token is not known")
DISABLED = bearer("invalid_token", "The user of the access token is disabled")
NOW_DT = datetime.fromtimestamp(NOW, tz=timezone.utc)


def expected_username(issuer: str, subject: str) -> str:
    """The documented scheme, computed independently of the library."""
    data = (str(len(issuer)) + ":" + issuer + subject).encode("utf-8")
    return "jwt." + base64.b32encode(hashlib.sha256(data).digest()).decode().lower()[:32]


# ---------------------------------------------------------------------------------------
# views
# ---------------------------------------------------------------------------------------


def describe(user):
    return {
        "class": type(user).__name__,
        "pk": user.pk,
        "username": user.get_username(),
        "is_authenticated": user.is_authenticated,
        "is_staff": user.is_staff,
        "is_superuser": user.is_superuser,
        "has_perm": user.has_perm("auth.add_user"),
    }


class Who(APIView):
    def get(self, request):
        return Response(describe(request.user))


class ClaimsSyncMapping(ModelUserMapping):
    """Copies email and the (hostile) staff flags from claims."""

    create_users = True

    def sync_user(self, user, token, *, created):
        user.email = token.claims.get("email", "")
        user.is_staff = bool(token.claims.get("is_staff"))
        user.is_superuser = bool(token.claims.get("is_superuser"))
        if token.claims.get("disabled"):
            user.is_active = False


class SyncAuthentication(JWTAccessTokenAuthentication):
    user_mapping_class = ClaimsSyncMapping


class CreatingMapping(ModelUserMapping):
    create_users = True


class CreatingAuthentication(JWTAccessTokenAuthentication):
    user_mapping_class = CreatingMapping


class ModelWho(Who):
    authentication_classes = [ModelBackedJWTAccessTokenAuthentication]


class SyncWho(Who):
    authentication_classes = [SyncAuthentication]


class CreatingWho(Who):
    authentication_classes = [CreatingAuthentication]


class ModelPk(APIView):
    """No permission lookups in the view: query counts are the mapping's own."""

    authentication_classes = [ModelBackedJWTAccessTokenAuthentication]

    def get(self, request):
        return Response({"pk": request.user.pk, "email": request.user.email})


class SyncPk(ModelPk):
    authentication_classes = [SyncAuthentication]


class SyncAdminOnly(APIView):
    authentication_classes = [SyncAuthentication]
    permission_classes = [IsAdminUser]

    def get(self, request):
        return Response({"admin": True})


@access_token_required
def plain_who(request):
    return JsonResponse(describe(request.user))


@access_token_required
async def plain_async_who(request):
    # No has_perm here: on a model user it queries the database, which an async view
    # must do through sync_to_async (documented caveat).
    return JsonResponse({"username": request.user.get_username()})


urlpatterns = [
    path("who", Who.as_view()),
    path("model-who", ModelWho.as_view()),
    path("sync-who", SyncWho.as_view()),
    path("creating-who", CreatingWho.as_view()),
    path("sync-admin", SyncAdminOnly.as_view()),
    path("model-pk", ModelPk.as_view()),
    path("sync-pk", SyncPk.as_view()),
    path("plain-who", plain_who),
    path("plain-async-who", plain_async_who),
]


def users():
    return get_user_model().objects.order_by("pk")


# ---------------------------------------------------------------------------------------
# stateless default
# ---------------------------------------------------------------------------------------


def test_default_mapping_is_stateless_and_queries_nothing(api, make_token, django_assert_num_queries):
    assert get_config().user_mapping_class is StatelessUserMapping
    with django_assert_num_queries(0):
        response = api.get("/who", make_token())
    assert response.status_code == 200
    assert json_body(response) == {
        "class": "AccessTokenUser",
        "pk": "user-123",
        "username": "user-123",
        "is_authenticated": True,
        "is_staff": False,
        "is_superuser": False,
        "has_perm": False,
    }


def test_stateless_client_credentials_token_is_a_client_principal(api, make_token, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = api.get("/who", make_token(claims={"sub": "client-abc", "is_staff": True}))
    assert response.status_code == 200
    assert json_body(response) == {
        "class": "AccessTokenClient",
        "pk": "client-abc",
        "username": "client-abc",
        "is_authenticated": True,
        "is_staff": False,
        "is_superuser": False,
        "has_perm": False,
    }


def test_client_principal_equality_and_permissions(make_token):
    from django_jwt_at.validation import validate_access_token

    def mapped(**claims):
        raw = make_token(claims=claims)
        from django_jwt_at.jwks import key_sets

        token = validate_access_token(raw, config=get_config(), key_sets=key_sets, now=NOW)
        return StatelessUserMapping().get_user(token)

    client = mapped(sub="client-abc")
    same = mapped(sub="client-abc", jti="other")
    user = mapped(sub="client-abc-user")
    assert isinstance(client, AccessTokenClient) and isinstance(user, AccessTokenUser)
    assert client == same and hash(client) == hash(same)
    assert client != user
    assert client.client_id == "client-abc" and client.issuer == FX_ISS
    assert client.get_all_permissions() == set() and not client.has_module_perms("auth")
    assert not client.is_staff and not client.is_superuser and client.is_active
    with pytest.raises(NotImplementedError):
        client.save()


# ---------------------------------------------------------------------------------------
# model-backed: first sight, repeat, issuers
# ---------------------------------------------------------------------------------------


def test_first_sight_refused_when_creation_is_off(api, make_token):
    assert get_config().create_users is False
    response = api.get("/model-who", make_token())
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == UNKNOWN
    assert json_body(response) == {"detail": "The user of the access token is not known", "error": "invalid_token"}
    assert not users().exists()
    assert not TokenSubject.objects.exists()


def test_first_sight_creates_user_and_link_when_enabled(api, make_token, settings):
    settings.JWT_AT_CREATE_USERS = True
    response = api.get("/model-who", make_token())
    assert response.status_code == 200, response.content
    (user,) = users()
    assert user.username == expected_username(FX_ISS, "user-123")
    assert len(user.username) == 36
    assert not user.has_usable_password()
    assert (user.is_staff, user.is_superuser, user.is_active) == (False, False, True)
    (link,) = TokenSubject.objects.all()
    assert (link.issuer, link.subject, link.user_id) == (FX_ISS, "user-123", user.pk)
    assert link.created == link.last_seen == NOW_DT
    assert json_body(response) == {
        "class": "DemotedUser",  # the user, never staff or superuser (test_user_demotion)
        "pk": user.pk,
        "username": user.username,
        "is_authenticated": True,
        "is_staff": False,
        "is_superuser": False,
        "has_perm": False,
    }


def test_class_attribute_overrides_the_setting(api, make_token, settings):
    settings.JWT_AT_CREATE_USERS = False
    assert api.get("/creating-who", make_token()).status_code == 200
    assert users().count() == 1
    CreatingMapping.create_users = False
    try:
        response = api.get("/creating-who", make_token(claims={"sub": "user-456"}))
    finally:
        CreatingMapping.create_users = True
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == UNKNOWN
    assert users().count() == 1


def test_setting_selects_the_model_mapping_for_the_default_class(api, make_token, settings):
    settings.JWT_AT_USER_MAPPING = "django_jwt_at.users.ModelUserMapping"
    response = api.get("/who", make_token())
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == UNKNOWN
    settings.JWT_AT_CREATE_USERS = True
    response = api.get("/who", make_token())
    assert response.status_code == 200
    assert json_body(response)["username"] == expected_username(FX_ISS, "user-123")


def test_repeat_uses_the_same_row_and_updates_last_seen(api, make_token, settings, clock, django_assert_num_queries):
    settings.JWT_AT_CREATE_USERS = True
    first = json_body(api.get("/model-pk", make_token()))
    link = TokenSubject.objects.get()

    clock.advance(30)  # within last_seen_interval: one query, nothing written
    with django_assert_num_queries(1):
        again = api.get("/model-pk", make_token())
    assert json_body(again) == first
    link.refresh_from_db()
    assert link.last_seen == NOW_DT

    clock.advance(31)  # 61 s since the last write: last_seen is updated
    with django_assert_num_queries(2):
        later = api.get("/model-pk", make_token())
    assert json_body(later) == first
    link.refresh_from_db()
    assert link.created == NOW_DT
    assert link.last_seen == datetime.fromtimestamp(NOW + 61, tz=timezone.utc)
    assert users().count() == 1
    assert TokenSubject.objects.count() == 1


def test_same_sub_at_two_issuers_is_two_users(api, make_token, settings, fx):
    settings.JWT_AT_CREATE_USERS = True
    fx.add_iss2()
    one = json_body(api.get("/model-who", make_token()))
    two = json_body(api.get("/model-who", make_token(claims={"iss": FX_ISS2}, key="as2-1")))
    assert one["pk"] != two["pk"]
    assert one["username"] == expected_username(FX_ISS, "user-123")
    assert two["username"] == expected_username(FX_ISS2, "user-123")
    assert sorted(TokenSubject.objects.values_list("issuer", "subject")) == [
        (FX_ISS, "user-123"),
        (FX_ISS2, "user-123"),
    ]
    assert users().count() == 2


def test_username_cannot_collide_by_moving_text_between_issuer_and_subject():
    # The length prefix keeps ("https://a.example", "bc") apart from ("https://a.exampleb", "c").
    class T:
        def __init__(self, issuer, subject):
            self.issuer, self.subject = issuer, subject

    mapping = ModelUserMapping()
    a = mapping.make_username(T("https://a.example", "bc"))
    b = mapping.make_username(T("https://a.exampleb", "c"))
    assert a != b
    assert a == expected_username("https://a.example", "bc")


def test_existing_user_with_the_generated_name_is_never_linked(api, make_token, settings):
    """A local account named like the generated user name must not be taken over."""
    settings.JWT_AT_CREATE_USERS = True
    squatter = get_user_model().objects.create_user(expected_username(FX_ISS, "user-123"))
    response = api.get("/model-who", make_token())
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == UNKNOWN
    assert not TokenSubject.objects.exists()
    assert list(users()) == [squatter]


def test_concurrent_first_sight_uses_the_row_the_other_request_created(api, make_token):
    """The other request's user and link appear between our lookup and our insert."""

    class RacingMapping(ModelUserMapping):
        create_users = True

        def sync_user(self, user, token, *, created):
            if created and not TokenSubject.objects.exists():
                CreatingMapping().get_user(token)  # the "other request"

    class RacingAuthentication(JWTAccessTokenAuthentication):
        user_mapping_class = RacingMapping

    request_user = RacingAuthentication().get_user
    from django_jwt_at.jwks import key_sets
    from django_jwt_at.validation import validate_access_token

    token = validate_access_token(make_token(), config=get_config(), key_sets=key_sets, now=NOW)
    user = request_user(token)
    (only,) = users()
    assert user.pk == only.pk
    assert TokenSubject.objects.get().user_id == only.pk


def test_subject_too_long_to_store_is_refused(api, make_token, settings):
    settings.JWT_AT_CREATE_USERS = True
    response = api.get("/model-who", make_token(claims={"sub": "s" * 256}))
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == UNKNOWN
    assert not users().exists()


# ---------------------------------------------------------------------------------------
# client principal in model mode
# ---------------------------------------------------------------------------------------


def test_model_mode_client_credentials_token_is_a_client_principal(api, make_token, settings):
    settings.JWT_AT_CREATE_USERS = True
    response = api.get("/model-who", make_token(claims={"sub": "client-abc"}))
    assert response.status_code == 200
    assert json_body(response) == {
        "class": "AccessTokenClient",
        "pk": "client-abc",
        "username": "client-abc",
        "is_authenticated": True,
        "is_staff": False,
        "is_superuser": False,
        "has_perm": False,
    }
    assert not users().exists()
    assert not TokenSubject.objects.exists()


# ---------------------------------------------------------------------------------------
# disabled users
# ---------------------------------------------------------------------------------------


def link(user, subject="user-123", issuer=FX_ISS):
    return TokenSubject.objects.create(issuer=issuer, subject=subject, user=user, created=NOW_DT, last_seen=NOW_DT)


def test_disabled_linked_user_is_refused(api, make_token):
    user = get_user_model().objects.create_user("alice", is_active=False)
    link(user)
    response = api.get("/model-who", make_token())
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == DISABLED
    assert json_body(response) == {"detail": "The user of the access token is disabled", "error": "invalid_token"}


def test_disabled_user_is_not_reenabled_by_the_sync_hook(api, make_token):
    user = get_user_model().objects.create_user("alice", is_active=False)
    link(user)

    class Reenabling(ModelUserMapping):
        def sync_user(self, user, token, *, created):
            user.is_active = True

    class Auth(JWTAccessTokenAuthentication):
        user_mapping_class = Reenabling

    from django_jwt_at.errors import InvalidToken
    from django_jwt_at.jwks import key_sets
    from django_jwt_at.validation import validate_access_token

    token = validate_access_token(make_token(), config=get_config(), key_sets=key_sets, now=NOW)
    with pytest.raises(InvalidToken) as caught:
        Auth().get_user(token)
    assert caught.value.description.value == "The user of the access token is disabled"
    user.refresh_from_db()
    assert user.is_active is False


def test_sync_hook_disabling_the_user_is_saved_and_refused(api, make_token):
    assert api.get("/sync-who", make_token()).status_code == 200
    response = api.get("/sync-who", make_token(claims={"disabled": True}))
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == DISABLED
    assert users().get().is_active is False
    response = api.get("/sync-who", make_token())
    assert response["WWW-Authenticate"] == DISABLED


# ---------------------------------------------------------------------------------------
# staff / superuser never granted
# ---------------------------------------------------------------------------------------


def test_claims_and_sync_hook_never_grant_staff_or_superuser(api, make_token):
    hostile = {"is_staff": True, "is_superuser": True, "email": "a@example.com"}
    response = api.get("/sync-who", make_token(claims=hostile))
    assert response.status_code == 200
    body = json_body(response)
    assert (body["is_staff"], body["is_superuser"], body["has_perm"]) == (False, False, False)
    user = users().get()
    assert (user.is_staff, user.is_superuser, user.email) == (False, False, "a@example.com")
    # repeat: the hook tries again on an existing row
    response = api.get("/sync-who", make_token(claims=hostile))
    body = json_body(response)
    assert (body["is_staff"], body["is_superuser"]) == (False, False)
    user.refresh_from_db()
    assert (user.is_staff, user.is_superuser) == (False, False)
    response = api.get("/sync-admin", make_token(claims=hostile))
    assert response.status_code == 403


def test_staff_row_does_not_act_as_staff_and_is_not_demoted(api, make_token):
    admin = get_user_model().objects.create_superuser("root", "root@example.com", "x")
    link(admin)
    response = api.get("/sync-who", make_token())
    assert response.status_code == 200
    body = json_body(response)
    assert body["pk"] == admin.pk
    assert (body["is_staff"], body["is_superuser"], body["has_perm"]) == (False, False, False)
    assert api.get("/sync-admin", make_token()).status_code == 403
    admin.refresh_from_db()
    assert (admin.is_staff, admin.is_superuser) == (True, True)


# ---------------------------------------------------------------------------------------
# sync hook
# ---------------------------------------------------------------------------------------


def test_sync_hook_updates_changed_fields_only(api, make_token, django_assert_num_queries):
    api.get("/sync-who", make_token(claims={"email": "old@example.com"}))
    user = users().get()
    assert user.email == "old@example.com"
    with django_assert_num_queries(1):  # unchanged: no write
        response = api.get("/sync-pk", make_token(claims={"email": "old@example.com"}))
    assert json_body(response) == {"pk": user.pk, "email": "old@example.com"}
    with django_assert_num_queries(2):  # changed: one UPDATE
        response = api.get("/sync-pk", make_token(claims={"email": "new@example.com"}))
    assert json_body(response) == {"pk": user.pk, "email": "new@example.com"}
    user.refresh_from_db()
    assert user.email == "new@example.com"
    assert users().count() == 1


# ---------------------------------------------------------------------------------------
# plain Django views (decorators), sync and async
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("url", ["/plain-who", "/plain-async-who"], ids=["sync", "async"])
def test_decorated_plain_views_use_the_configured_mapping(api, make_token, settings, url):
    settings.JWT_AT_USER_MAPPING = "django_jwt_at.users.ModelUserMapping"
    response = api.get(url, make_token())
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == UNKNOWN
    settings.JWT_AT_CREATE_USERS = True
    response = api.get(url, make_token())
    assert response.status_code == 200
    assert json_body(response)["username"] == expected_username(FX_ISS, "user-123")


# ---------------------------------------------------------------------------------------
# settings, checks, migrations
# ---------------------------------------------------------------------------------------


def our_errors():
    return sorted(m.id for m in run_checks() if m.id and m.id.startswith("django_jwt_at."))


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        ("django_jwt_at.users.StatelessUserMapping", True),
        ("django_jwt_at.users.ModelUserMapping", True),
        ("tests.test_user_mapping.ClaimsSyncMapping", True),
        ("django_jwt_at.users.AccessTokenUser", False),
        ("django_jwt_at.users.NoSuchMapping", False),
        ("no.such.module.Mapping", False),
        (None, False),
        (ModelUserMapping, False),
    ],
    ids=["stateless", "model", "subclass", "not-a-mapping", "missing-attr", "missing-module", "none", "class-object"],
)
def test_E050_user_mapping_setting(settings, value, ok):
    settings.JWT_AT_USER_MAPPING = value
    if ok:
        assert our_errors() == []
        assert get_config().user_mapping_class.__name__ == value.rsplit(".", 1)[1]
    else:
        assert our_errors() == ["django_jwt_at.E050"]
        with pytest.raises(ImproperlyConfigured, match="E050"):
            get_config()


@pytest.mark.parametrize("value", [1, 0, "yes", None], ids=["one", "zero", "string", "none"])
def test_E051_create_users_must_be_a_bool(settings, value):
    settings.JWT_AT_CREATE_USERS = value
    assert our_errors() == ["django_jwt_at.E051"]
    with pytest.raises(ImproperlyConfigured, match="E051"):
        get_config()


def test_E052_issuer_too_long_for_the_model(settings, fx):
    long_issuer = "https://as.example.com/" + "x" * 240
    settings.JWT_AT_ISSUERS = {long_issuer: fx.issuer_options()}
    assert our_errors() == []  # the stateless mapping stores nothing
    settings.JWT_AT_USER_MAPPING = "django_jwt_at.users.ModelUserMapping"
    assert our_errors() == ["django_jwt_at.E052"]
    with pytest.raises(ImproperlyConfigured, match="E052"):
        get_config()


def test_no_missing_migrations():
    out = io.StringIO()
    call_command("makemigrations", "django_jwt_at", "--check", "--dry-run", stdout=out)
    assert "No changes detected" in out.getvalue()


def test_migrations_created_the_table():
    from django.db import connection

    assert TokenSubject._meta.db_table in connection.introspection.table_names()


def test_works_without_time_zone_support(api, make_token, settings, clock):
    settings.USE_TZ = False
    settings.JWT_AT_CREATE_USERS = True
    assert api.get("/model-pk", make_token()).status_code == 200
    clock.advance(61)
    assert api.get("/model-pk", make_token()).status_code == 200
    link = TokenSubject.objects.get()
    assert link.last_seen.tzinfo is None
    assert (link.last_seen - link.created).total_seconds() == 61
