"""A token-authenticated request never acts as staff or superuser, and never changes the
user's row to make it so.

``ModelUserMapping`` returns the linked Django user seen through a ``DemotedUser``:
``is_staff``/``is_superuser`` read False and the permission methods run with that view,
while everything else (``save()``, ``==``, ``isinstance``, foreign keys, ``login()``)
behaves as for the user itself. Views live in this module (``pytest.mark.urls``); the
tokens are real signed tokens from the suite's fixtures.
"""

from __future__ import annotations

import copy
import pickle
from datetime import datetime, timezone

import pytest
from asgiref.sync import async_to_sync
from django.contrib.auth import get_user_model, login
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import Group, Permission
from django.db import models
from django.urls import path
from rest_framework.permissions import IsAdminUser
from rest_framework.response import Response
from rest_framework.views import APIView

from django_jwt_at.authentication import JWTAccessTokenAuthentication, ModelBackedJWTAccessTokenAuthentication
from django_jwt_at.models import TokenSubject
from django_jwt_at.users import DemotedUser, ModelUserMapping

from .conftest import NOW
from .helpers import FX_ISS, json_body

pytestmark = [pytest.mark.urls(__name__), pytest.mark.django_db]

NOW_DT = datetime.fromtimestamp(NOW, tz=timezone.utc)
GRANTED = "auth.change_group"  # given to the user directly
FROM_GROUP = "auth.view_permission"  # given through a group
NOT_GRANTED = "app.any_perm"  # no such permission: only the superuser shortcut grants it
EXISTING = "auth.delete_user"  # exists, not granted: a superuser's permission caches hold it


# ---------------------------------------------------------------------------------------
# views
# ---------------------------------------------------------------------------------------


def observe(user):
    """What permission code sees of ``user``: the attributes, every permission method
    (sync and async) and DRF's IsAdminUser."""
    ahas_perm = async_to_sync(user.ahas_perm)
    return {
        "is_staff": user.is_staff,
        "is_superuser": user.is_superuser,
        "has_perm": [user.has_perm(p) for p in (NOT_GRANTED, EXISTING, GRANTED, FROM_GROUP)],
        "has_perms": [user.has_perms([GRANTED, FROM_GROUP]), user.has_perms([GRANTED, NOT_GRANTED])],
        "has_module_perms": [user.has_module_perms("auth"), user.has_module_perms("app")],
        "all": sorted(user.get_all_permissions()),
        "user": sorted(user.get_user_permissions()),
        "group": sorted(user.get_group_permissions()),
        "ahas_perm": [ahas_perm(NOT_GRANTED), ahas_perm(GRANTED)],
        "ahas_perms": async_to_sync(user.ahas_perms)([GRANTED, NOT_GRANTED]),
        "ahas_module_perms": async_to_sync(user.ahas_module_perms)("app"),
        "aget_all_permissions": sorted(async_to_sync(user.aget_all_permissions)()),
    }


DEMOTED = {
    "is_staff": False,
    "is_superuser": False,
    "has_perm": [False, False, True, True],
    "has_perms": [True, False],
    "has_module_perms": [True, False],
    "all": [GRANTED, FROM_GROUP],
    "user": [GRANTED],
    "group": [FROM_GROUP],
    "ahas_perm": [False, True],
    "ahas_perms": False,
    "ahas_module_perms": False,
    "aget_all_permissions": [GRANTED, FROM_GROUP],
}


class Model(APIView):
    authentication_classes = [ModelBackedJWTAccessTokenAuthentication]


class InspectAndSave(Model):
    """Observes the user, then saves it the way the URL says."""

    def get(self, request, how):
        seen = observe(request.user)
        seen["is_admin_user"] = IsAdminUser().has_permission(request, self)
        if how == "save":
            request.user.save()
        else:
            request.user.save(update_fields=["is_staff", "is_superuser"])
        request.user.refresh_from_db()
        seen["after_refresh"] = [request.user.is_staff, request.user.is_superuser]
        return Response(seen)


class AdminOnly(Model):
    permission_classes = [IsAdminUser]

    def get(self, request):
        return Response({"admin": True})


class OrmAndLogin(Model):
    """Uses request.user where Django expects a user instance, then saves a profile change."""

    def get(self, request):
        User = get_user_model()
        user = request.user
        same = User.objects.get(pk=user.pk)
        seen = {
            "isinstance": isinstance(user, User),
            "eq": [user == same, same == user, user != same, user == user],
            "hash": hash(user) == hash(same),
            "in_set": same in {user},
            "str": str(user),
            "pk": user.pk,
            "username": user.get_username(),
        }
        Group.objects.create(name="editors").user_set.add(user)
        TokenSubject.objects.create(
            issuer="https://other.example", subject="alt", user=user, created=NOW_DT, last_seen=NOW_DT
        )
        login(request._request, user, backend="django.contrib.auth.backends.ModelBackend")
        user.first_name = "Ada"
        user.save()
        return Response(seen)


class SetFlags(Model):
    """Assigns is_staff through request.user: the row changes only when the view saves it."""

    def get(self, request):
        request.user.is_staff = True
        seen = {
            "is_staff": request.user.is_staff,
            "is_admin_user": IsAdminUser().has_permission(request, self),
        }
        request.user.save(update_fields=["is_staff"])
        return Response(seen)


class RenamingMapping(ModelUserMapping):
    """Copies given_name; tries to flip the staff flags; may consult permissions."""

    def sync_user(self, user, token, *, created):
        if token.claims.get("check_perm"):
            # Runs on the row's own instance (a superuser): fills Django's permission
            # caches on it with every permission.
            user.get_all_permissions()
        user.first_name = token.claims.get("given_name", "")
        user.is_staff = not user.is_staff
        user.is_superuser = not user.is_superuser


class RenamingAuthentication(JWTAccessTokenAuthentication):
    user_mapping_class = RenamingMapping


class SyncedSave(APIView):
    authentication_classes = [RenamingAuthentication]

    def get(self, request):
        user = request.user
        seen = {
            "first_name": user.first_name,
            "flags": [user.is_staff, user.is_superuser],
            "has_perm": [user.has_perm(NOT_GRANTED), user.has_perm(EXISTING), user.has_perm(GRANTED)],
            "all": sorted(user.get_all_permissions()),
        }
        user.save()
        return Response(seen)


class ModeratorDemotedUser(DemotedUser):
    __slots__ = ()
    demoted_methods = DemotedUser.demoted_methods | {"can_moderate"}


class ModeratorMapping(ModelUserMapping):
    demoted_user_class = ModeratorDemotedUser


class ModeratorAuthentication(JWTAccessTokenAuthentication):
    user_mapping_class = ModeratorMapping


class CanModerate(APIView):
    def get(self, request):
        return Response({"type": type(request.user).__name__, "can_moderate": request.user.can_moderate()})


class DefaultCanModerate(CanModerate):
    authentication_classes = [ModelBackedJWTAccessTokenAuthentication]


class DemotedCanModerate(CanModerate):
    authentication_classes = [ModeratorAuthentication]


urlpatterns = [
    path("inspect/<str:how>", InspectAndSave.as_view()),
    path("admin-only", AdminOnly.as_view()),
    path("orm-and-login", OrmAndLogin.as_view()),
    path("set-flags", SetFlags.as_view()),
    path("synced-save", SyncedSave.as_view()),
    path("can-moderate/default", DefaultCanModerate.as_view()),
    path("can-moderate/demoted", DemotedCanModerate.as_view()),
]


# ---------------------------------------------------------------------------------------
# fixtures
# ---------------------------------------------------------------------------------------


@pytest.fixture
def admin():
    """A superuser row linked to the default token's (issuer, sub), with one permission
    of its own and one through a group."""
    user = get_user_model().objects.create_superuser("root", "root@example.com", "x")
    user.user_permissions.add(Permission.objects.get(content_type__app_label="auth", codename="change_group"))
    group = Group.objects.create(name="readers")
    group.permissions.add(Permission.objects.get(content_type__app_label="auth", codename="view_permission"))
    group.user_set.add(user)
    TokenSubject.objects.create(issuer=FX_ISS, subject="user-123", user=user, created=NOW_DT, last_seen=NOW_DT)
    return user


def flags(user):
    user.refresh_from_db()
    return (user.is_staff, user.is_superuser)


# ---------------------------------------------------------------------------------------
# in the view: never staff or superuser; in the database: never demoted
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("how", ["save", "update-fields"], ids=["save", "save-update-fields"])
def test_admin_row_never_acts_as_admin_and_saving_request_user_keeps_its_flags(api, make_token, admin, how):
    response = api.get(f"/inspect/{how}", make_token())
    assert response.status_code == 200, response.content
    assert json_body(response) == {**DEMOTED, "is_admin_user": False, "after_refresh": [False, False]}
    assert flags(admin) == (True, True)


def test_is_admin_user_refuses_a_token_for_an_admin_row(api, make_token, admin):
    response = api.get("/admin-only", make_token())
    assert response.status_code == 403
    assert json_body(response) == {"detail": "You do not have permission to perform this action."}
    # Asking did not demote the row either.
    assert api.get("/inspect/save", make_token()).status_code == 200
    assert flags(admin) == (True, True)


def test_request_user_works_where_django_expects_the_user(api, make_token, admin):
    response = api.get("/orm-and-login", make_token())
    assert response.status_code == 200, response.content
    assert json_body(response) == {
        "isinstance": True,
        "eq": [True, True, False, True],
        "hash": True,
        "in_set": True,
        "str": "root",
        "pk": admin.pk,
        "username": "root",
    }
    assert list(Group.objects.get(name="editors").user_set.all()) == [admin]
    assert TokenSubject.objects.get(subject="alt").user_id == admin.pk
    admin.refresh_from_db()
    assert admin.first_name == "Ada"
    assert admin.last_login is not None  # login() saved it through request.user
    assert (admin.is_staff, admin.is_superuser) == (True, True)


def test_assigning_is_staff_through_request_user_is_never_read_back(api, make_token):
    user = get_user_model().objects.create_user("bob")
    TokenSubject.objects.create(issuer=FX_ISS, subject="user-123", user=user, created=NOW_DT, last_seen=NOW_DT)
    response = api.get("/set-flags", make_token())
    assert response.status_code == 200, response.content
    assert json_body(response) == {"is_staff": False, "is_admin_user": False}
    # The view wrote the attribute and saved it: that is the view's own decision.
    assert flags(user) == (True, False)
    # The next request still does not act as staff.
    assert api.get("/admin-only", make_token()).status_code == 403


# ---------------------------------------------------------------------------------------
# the sync hook
# ---------------------------------------------------------------------------------------


def test_sync_hook_changes_are_saved_but_its_staff_changes_are_discarded(api, make_token, admin):
    response = api.get("/synced-save", make_token(claims={"given_name": "Ada"}))
    assert response.status_code == 200, response.content
    assert json_body(response) == {
        "first_name": "Ada",
        "flags": [False, False],
        "has_perm": [False, False, True],
        "all": [GRANTED, FROM_GROUP],
    }
    admin.refresh_from_db()
    assert admin.first_name == "Ada"
    assert (admin.is_staff, admin.is_superuser) == (True, True)


def test_permissions_the_sync_hook_computed_for_the_row_do_not_reach_the_request(api, make_token, admin):
    response = api.get("/synced-save", make_token(claims={"given_name": "Ada", "check_perm": True}))
    assert response.status_code == 200, response.content
    body = json_body(response)
    assert body["has_perm"] == [False, False, True]
    assert body["all"] == [GRANTED, FROM_GROUP]


# ---------------------------------------------------------------------------------------
# the wrapper itself
# ---------------------------------------------------------------------------------------


class BareUser(AbstractBaseUser):
    """A custom user model without PermissionsMixin and without is_staff/is_superuser
    (no table: only instances in memory are used)."""

    username = models.CharField(max_length=30, unique=True)
    USERNAME_FIELD = "username"

    class Meta:
        app_label = "tests"
        managed = False


def test_wrapper_of_a_model_without_permission_methods():
    real = BareUser(pk=7, username="bare")
    user = DemotedUser(real)
    assert (user.is_staff, user.is_superuser) == (False, False)
    assert isinstance(user, BareUser) and isinstance(user, DemotedUser)
    assert user.get_username() == "bare" and user == real and user.is_authenticated
    for name in ("has_perm", "has_perms", "has_module_perms", "get_all_permissions", "ahas_perm"):
        assert not hasattr(user, name), name
    with pytest.raises(AttributeError, match="'BareUser' object has no attribute 'has_perm'"):
        user.has_perm("auth.view_user")
    user.is_staff = True  # written to the instance, never read back through the wrapper
    assert real.is_staff is True and user.is_staff is False


def test_wrapper_pickles_and_copies_as_a_demoted_user(admin):
    user = DemotedUser(admin)
    assert user.has_perm(GRANTED) and not user.has_perm(NOT_GRANTED)  # fills the caches
    for other in (pickle.loads(pickle.dumps(user)), copy.copy(user), copy.deepcopy(user)):
        assert type(other) is DemotedUser
        assert other == admin and other.pk == admin.pk
        assert (other.is_staff, other.is_superuser) == (False, False)
        assert not other.has_perm(NOT_GRANTED)
    assert DemotedUser(user) == admin
    assert (DemotedUser(user).is_staff, admin.is_staff) == (False, True)
    assert repr(user) == "<DemotedUser: <User: root>>"
    assert not hasattr(admin, "_perm_cache")  # the wrapper's caches are its own


def test_a_mapping_can_demote_a_method_of_the_user_model(api, make_token, admin, monkeypatch):
    monkeypatch.setattr(get_user_model(), "can_moderate", lambda self: self.is_staff, raising=False)
    # Not listed: the method runs on the instance and sees the row (documented).
    response = api.get("/can-moderate/default", make_token())
    assert json_body(response) == {"type": "DemotedUser", "can_moderate": True}
    response = api.get("/can-moderate/demoted", make_token())
    assert json_body(response) == {"type": "ModeratorDemotedUser", "can_moderate": False}
    assert flags(admin) == (True, True)
