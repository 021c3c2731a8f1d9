"""The stateless user behind a validated access token."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from .tokens import AccessToken


class AccessTokenUser:
    """A user built from an access token alone: no database query, no row.

    ``is_authenticated`` is True; the user is never staff or superuser and has no Django
    permissions, whatever the token says. ``pk``/``id``/``username`` are the ``sub`` claim,
    which is unique only within its issuer (RFC 9068 §2.2): compare users with ``==``,
    which takes the issuer into account.
    """

    is_active = True
    is_staff = False
    is_superuser = False
    is_anonymous = False
    is_authenticated = True

    def __init__(self, token: AccessToken) -> None:
        self.token = token
        self.issuer = token.issuer
        self.pk = self.id = self.username = token.subject

    def __str__(self) -> str:
        return self.username

    def __repr__(self) -> str:
        return f"<AccessTokenUser iss={self.issuer!r} sub={self.username!r}>"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, AccessTokenUser):
            return NotImplemented
        return (self.issuer, self.username) == (other.issuer, other.username)

    def __hash__(self) -> int:
        return hash((self.issuer, self.username))

    def get_username(self) -> str:
        return self.username

    @property
    def groups(self) -> Any:
        """An empty manager, as for ``AnonymousUser``."""
        from django.contrib.auth.models import AnonymousUser

        return AnonymousUser().groups

    @property
    def user_permissions(self) -> Any:
        """An empty manager, as for ``AnonymousUser``."""
        from django.contrib.auth.models import AnonymousUser

        return AnonymousUser().user_permissions

    def get_user_permissions(self, obj: object = None) -> set[str]:
        return set()

    def get_group_permissions(self, obj: object = None) -> set[str]:
        return set()

    def get_all_permissions(self, obj: object = None) -> set[str]:
        return set()

    def has_perm(self, perm: str, obj: object = None) -> bool:
        return False

    def has_perms(self, perm_list: Iterable[str], obj: object = None) -> bool:
        return all(self.has_perm(perm, obj) for perm in perm_list)  # True for none, as Django's

    def has_module_perms(self, module: str) -> bool:
        return False

    def save(self, *args: object, **kwargs: object) -> None:
        raise NotImplementedError("an AccessTokenUser has no database row")

    def delete(self, *args: object, **kwargs: object) -> None:
        raise NotImplementedError("an AccessTokenUser has no database row")
