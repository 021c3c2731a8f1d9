"""Who a validated access token stands for: ``request.user``.

A :class:`UserMapping` turns an :class:`~django_jwt_at.tokens.AccessToken` into the
principal a view sees. Two come with the package:

* :class:`StatelessUserMapping` (the default): an :class:`AccessTokenUser` built from the
  token alone, no database query;
* :class:`ModelUserMapping`: the Django user linked to the token's (issuer, subject)
  through :class:`~django_jwt_at.models.TokenSubject`, optionally created on first sight,
  seen through a :class:`DemotedUser`.

Both map client-credentials tokens (no end user: ``sub`` is the client, RFC 9068 §2.2) to
an :class:`AccessTokenClient`, never to a user row. No mapping lets a token make a request
act as staff or superuser, and no mapping changes a user's row to make it so.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import logging
from collections.abc import Iterable
from datetime import datetime, timedelta, timezone
from typing import Any, ClassVar

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import IntegrityError, transaction

from . import clock
from .errors import Description, InvalidToken
from .tokens import AccessToken

logger = logging.getLogger(__name__)

#: Longest issuer identifier and subject the TokenSubject table stores.
ISSUER_MAX_LENGTH = 255
SUBJECT_MAX_LENGTH = 255

#: Fields a mapping never lets claims or a sync hook change (they would grant privileges).
PROTECTED_FIELDS = ("is_staff", "is_superuser")

#: The slots of DemotedUser (mangled names): never looked up on the wrapped user.
_WRAPPER_SLOTS = frozenset({"_DemotedUser__user", "_DemotedUser__own"})


class _StatelessPrincipal:
    """Common part of the principals that have no database row: authenticated, active,
    never staff or superuser, no Django permissions."""

    is_active = True
    is_staff = False
    is_superuser = False
    is_anonymous = False
    is_authenticated = True
    username: str

    def __init__(self, token: AccessToken) -> None:
        self.token = token
        self.issuer = token.issuer

    def __str__(self) -> str:
        return self.username

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
        raise NotImplementedError(f"an {type(self).__name__} has no database row")

    def delete(self, *args: object, **kwargs: object) -> None:
        raise NotImplementedError(f"an {type(self).__name__} has no database row")


class AccessTokenUser(_StatelessPrincipal):
    """A user built from an access token alone: no database query, no row.

    ``is_authenticated`` is True; the user is never staff or superuser and has no Django
    permissions, whatever the token says. ``pk``/``id``/``username`` are the ``sub`` claim,
    which is unique only within its issuer (RFC 9068 §2.2): compare users with ``==``,
    which takes the issuer into account.
    """

    def __init__(self, token: AccessToken) -> None:
        # What _StatelessPrincipal.__init__ sets, inlined: built on every request.
        self.token = token
        self.issuer = token.issuer
        self.pk = self.id = self.username = token.subject

    def __repr__(self) -> str:
        return f"<AccessTokenUser iss={self.issuer!r} sub={self.username!r}>"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, AccessTokenUser):
            return NotImplemented
        return (self.issuer, self.username) == (other.issuer, other.username)

    def __hash__(self) -> int:
        return hash((self.issuer, self.username))


class AccessTokenClient(_StatelessPrincipal):
    """The principal of a token that has no end user (client credentials grant): the
    client application itself (RFC 9068 §2.2: ``sub`` then identifies the client).

    ``is_authenticated`` is True; never staff or superuser, no Django permissions, no
    database row. ``pk``/``id``/``username``/``client_id`` are the ``client_id`` claim,
    unique within its issuer: ``==`` compares issuer and client. An AccessTokenClient
    never equals an :class:`AccessTokenUser`, so code that expects a person can tell.
    """

    def __init__(self, token: AccessToken) -> None:
        # What _StatelessPrincipal.__init__ sets, inlined: built on every request.
        self.token = token
        self.issuer = token.issuer
        self.pk = self.id = self.username = self.client_id = token.subject  # equal to client_id here (RFC 9068 §2.2)

    def __repr__(self) -> str:
        return f"<AccessTokenClient iss={self.issuer!r} client_id={self.client_id!r}>"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, AccessTokenClient):
            return NotImplemented
        return (self.issuer, self.client_id) == (other.issuer, other.client_id)

    def __hash__(self) -> int:
        return hash((self.issuer, self.client_id))


class DemotedUser:
    """A Django user as a request authenticated by an access token sees it: the same
    user, never staff or superuser. :class:`ModelUserMapping` returns one as
    ``request.user``; wrap the users of your own mappings the same way.

    * ``is_staff`` and ``is_superuser`` read False, whatever the row says.
    * The permission methods (:attr:`demoted_methods`: ``has_perm``, ``has_perms``,
      ``has_module_perms``, ``get_all_permissions``, ``get_user_permissions``,
      ``get_group_permissions`` and their ``a``-prefixed async twins) are the user
      model's own, run with the wrapper as ``self``: Django's superuser shortcut does not
      apply, and the authentication backends are given the wrapper. The permission
      caches Django's ``ModelBackend`` keeps on the user object
      (:attr:`own_attributes`) are held by the wrapper, so permissions computed for the
      user itself (for a superuser: all of them) never answer for the wrapper. A model
      without one of these methods has none through the wrapper either
      (``AttributeError``, ``hasattr`` False).
    * Everything else forwards to the user instance, as Django's ``SimpleLazyObject``
      (its ``request.user`` for sessions) does: attribute reads, writes and deletions,
      and methods, which are the instance's own. So ``save()``, with or without
      ``update_fields``, stores the row's own ``is_staff`` and ``is_superuser``;
      ``refresh_from_db()``, ``pk``, ``==``, ``hash()``, ``str()``, foreign keys,
      related managers, query filters and ``django.contrib.auth.login()`` work as with
      the user. ``isinstance(wrapper, get_user_model())`` is True (``__class__`` is the
      model's); ``type(wrapper)`` is DemotedUser.
    * Assigning ``is_staff`` or ``is_superuser`` through the wrapper writes the
      instance, so a later ``save()`` stores it; reads through the wrapper stay False.
    * Other methods of the user model run on the instance and see the row's own
      ``is_staff`` and ``is_superuser``: decide on privileges through the attributes and
      permission methods above, or list such a method in :attr:`demoted_methods` of a
      subclass.
    * Pickling and copying give a DemotedUser of (a copy of) the same user, without the
      permission caches. Wrapping a DemotedUser wraps its user.

    The wrapper never changes the user instance by itself.
    """

    __slots__ = ("__own", "__user", "__weakref__")

    #: Methods looked up on the user's class and bound to the wrapper (Django's
    #: PermissionsMixin API, sync and async).
    demoted_methods: ClassVar[frozenset[str]] = frozenset(
        {
            "has_perm",
            "has_perms",
            "has_module_perms",
            "get_all_permissions",
            "get_user_permissions",
            "get_group_permissions",
            "ahas_perm",
            "ahas_perms",
            "ahas_module_perms",
            "aget_all_permissions",
            "aget_user_permissions",
            "aget_group_permissions",
        }
    )
    #: Attributes the wrapper holds itself instead of the user: what the authentication
    #: backends derive from the demoted view (Django's ModelBackend permission caches).
    own_attributes: ClassVar[frozenset[str]] = frozenset({"_perm_cache", "_user_perm_cache", "_group_perm_cache"})

    def __init__(self, user: Any) -> None:
        if isinstance(user, DemotedUser):
            user = user.__user
        object.__setattr__(self, "_DemotedUser__user", user)
        object.__setattr__(self, "_DemotedUser__own", {})

    @property
    def is_staff(self) -> bool:
        """Always False."""
        return False

    @property
    def is_superuser(self) -> bool:
        """Always False."""
        return False

    # isinstance() and Django's model checks (foreign keys, filters, ==) read __class__,
    # as they do through SimpleLazyObject; type() still tells the wrapper apart.
    @property  # type: ignore[misc]
    def __class__(self) -> type[Any]:
        return type(self.__user)

    def __getattr__(self, name: str) -> Any:
        # Reached only for names the wrapper does not define itself.
        if name in _WRAPPER_SLOTS:  # unset slot: never ask the user (no recursion)
            raise AttributeError(self.__missing(name))
        if name in self.own_attributes:
            try:
                return self.__own[name]
            except KeyError:
                raise AttributeError(self.__missing(name)) from None
        user = self.__user
        if name in self.demoted_methods:
            return self.__bind(type(user), name)
        return getattr(user, name)

    def __bind(self, cls: type[Any], name: str) -> Any:
        """``cls``'s attribute ``name`` bound to the wrapper: its methods see the demoted
        view through ``self``. An attribute of the instance itself is ignored."""
        for klass in cls.__mro__:
            if name in vars(klass):
                attribute = vars(klass)[name]
                get = getattr(type(attribute), "__get__", None)
                return attribute if get is None else get(attribute, self, cls)
        raise AttributeError(f"{cls.__name__!r} object has no attribute {name!r}")

    def __missing(self, name: str) -> str:
        return f"{type(self).__name__!r} object has no attribute {name!r}"

    def __setattr__(self, name: str, value: Any) -> None:
        if name in self.own_attributes:
            self.__own[name] = value
        else:
            setattr(self.__user, name, value)

    def __delattr__(self, name: str) -> None:
        if name in self.own_attributes:
            try:
                del self.__own[name]
            except KeyError:
                raise AttributeError(self.__missing(name)) from None
        else:
            delattr(self.__user, name)

    def __eq__(self, other: object) -> bool:
        result: bool = self.__user.__eq__(other)
        return result

    def __hash__(self) -> int:
        return hash(self.__user)

    def __str__(self) -> str:
        return str(self.__user)

    def __repr__(self) -> str:
        return f"<{type(self).__name__}: {self.__user!r}>"

    def __dir__(self) -> list[str]:
        return sorted({*dir(type(self)), *dir(self.__user)})

    # Explicit, so that neither the copy module nor pickle can find the user's own
    # protocol methods through __getattr__ and return an undemoted user.
    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.__user,))

    def __copy__(self) -> DemotedUser:
        return type(self)(self.__user)

    def __deepcopy__(self, memo: dict[int, Any]) -> DemotedUser:
        return type(self)(copy.deepcopy(self.__user, memo))


class UserMapping:
    """Maps a validated access token to ``request.user``.

    :meth:`get_user` sends client-credentials tokens (:meth:`is_client`) to
    :meth:`get_client` and every other token to :meth:`get_end_user`. A method that finds
    no acceptable principal raises :class:`~django_jwt_at.errors.InvalidToken`, which the
    client gets as a 401 ``invalid_token`` (RFC 6750 §3.1). Instances are created per
    request; subclasses configure themselves with class attributes.
    """

    def get_user(self, token: AccessToken) -> Any:
        if self.is_client(token):
            return self.get_client(token)
        return self.get_end_user(token)

    def is_client(self, token: AccessToken) -> bool:
        """True when the token has no end user: ``sub`` equals ``client_id`` (RFC 9068
        §2.2, client credentials grant)."""
        return token.subject == token.client_id

    def get_client(self, token: AccessToken) -> Any:
        """The principal of a client-credentials token: an :class:`AccessTokenClient`."""
        return AccessTokenClient(token)

    def get_end_user(self, token: AccessToken) -> Any:
        """The principal of a token issued to an end user."""
        raise NotImplementedError


class StatelessUserMapping(UserMapping):
    """The default: an :class:`AccessTokenUser` (or :class:`AccessTokenClient`), no
    database query."""

    def get_end_user(self, token: AccessToken) -> Any:
        return AccessTokenUser(token)


def stateless_principal(token: AccessToken) -> AccessTokenUser | AccessTokenClient:
    """What ``StatelessUserMapping().get_user(token)`` returns, without creating the
    mapping: a new :class:`AccessTokenClient` for a client-credentials token, else a new
    :class:`AccessTokenUser`. A new object per call: principals have attributes a view
    may set, so one is never shared between requests, even for a cached token."""
    if token.subject == token.client_id:
        return AccessTokenClient(token)
    return AccessTokenUser(token)


def _now() -> datetime:
    moment = datetime.fromtimestamp(clock.now(), tz=timezone.utc)
    if settings.USE_TZ:
        return moment
    from django.utils.timezone import make_naive

    return make_naive(moment)


class ModelUserMapping(UserMapping):
    """The Django user linked to the token's (issuer, ``sub``) by a
    :class:`~django_jwt_at.models.TokenSubject` row.

    A subject is unique only within its issuer (RFC 9068 §2.2), so the link is keyed by
    both: the same ``sub`` from two issuers is two users. Unknown subjects are refused
    with 401 ``invalid_token`` ("The user of the access token is not known") unless
    :attr:`create_users` (or ``JWT_AT_CREATE_USERS``) is set, in which case a new user is
    created with the name :meth:`make_username` gives; an existing user is never linked
    by name. A linked user whose ``is_active`` is False is refused with 401
    ``invalid_token`` ("The user of the access token is disabled").

    :meth:`sync_user` copies claims into the user on every request (the default copies
    nothing); changed fields are saved. The ``is_staff`` and ``is_superuser`` fields are
    never written by the mapping, whatever the hook sets.

    The user is returned as a :class:`DemotedUser` (:attr:`demoted_user_class`): a
    request authenticated by an access token never acts as staff or superuser, while the
    row keeps its flags, even when the view saves ``request.user``.

    Costs one query per request (the link and the user, joined), plus an update of
    ``last_seen`` at most every :attr:`last_seen_interval` seconds. The ORM is
    synchronous: call it from sync code (DRF views are) or through ``sync_to_async``.
    """

    #: Create a user on first sight of a subject; None means ``JWT_AT_CREATE_USERS``.
    create_users: ClassVar[bool | None] = None
    #: ``last_seen`` is written when it is at least this many seconds old.
    last_seen_interval: ClassVar[int] = 60
    #: Prefix of the user names :meth:`make_username` generates.
    username_prefix: ClassVar[str] = "jwt."
    #: The wrapper the user is returned in; a subclass may demote more methods.
    demoted_user_class: ClassVar[type[DemotedUser]] = DemotedUser

    def get_end_user(self, token: AccessToken) -> Any:
        from .models import TokenSubject

        if len(token.issuer) > ISSUER_MAX_LENGTH:
            raise ImproperlyConfigured(
                f"django_jwt_at.E052: issuer identifiers longer than {ISSUER_MAX_LENGTH} characters "
                "cannot be stored by ModelUserMapping"
            )
        if len(token.subject) > SUBJECT_MAX_LENGTH or not token.subject:
            raise InvalidToken(Description.USER_UNKNOWN)
        now = _now()
        link = self._find_link(token)
        if link is None:
            if not self._creates_users():
                raise InvalidToken(Description.USER_UNKNOWN)
            user = self._create(token, now)
            if user is not None:
                return self.demoted_user_class(user)
            # Lost a race with a concurrent first request: use the row it created.
            link = self._find_link(token)
            if link is None:
                raise InvalidToken(Description.USER_UNKNOWN)
        user = link.user
        if not getattr(user, "is_active", True):
            raise InvalidToken(Description.USER_DISABLED)
        if now - link.last_seen >= timedelta(seconds=self.last_seen_interval):
            TokenSubject.objects.filter(pk=link.pk).update(last_seen=now)
            link.last_seen = now
        self._sync_existing(user, token)
        return self.demoted_user_class(user)

    def make_username(self, token: AccessToken) -> str:
        """The user name of a new user: :attr:`username_prefix` and 32 base32 characters
        of SHA-256 over the length-prefixed issuer and subject. It cannot collide across
        issuers (the issuer is part of the hashed input) and holds no claim text."""
        data = f"{len(token.issuer)}:{token.issuer}{token.subject}".encode()
        digest = base64.b32encode(hashlib.sha256(data).digest()).decode("ascii").lower()
        return self.username_prefix + digest[:32]

    def new_user(self, token: AccessToken) -> Any:
        """An unsaved user for a subject seen for the first time, with an unusable
        password (the user signs in at the authorization server, never here)."""
        from django.contrib.auth import get_user_model

        model = get_user_model()
        user = model(**{model.USERNAME_FIELD: self.make_username(token)})
        user.set_unusable_password()
        return user

    def sync_user(self, user: Any, token: AccessToken, *, created: bool) -> None:
        """Copy claims into ``user``, the model instance itself (unsaved changes; the
        mapping saves the fields that changed). Called on every request, ``created``
        True on first sight. The default does nothing. Changes to the ``is_staff`` and
        ``is_superuser`` fields are discarded."""

    def _find_link(self, token: AccessToken) -> Any:
        from .models import TokenSubject

        return TokenSubject.objects.select_related("user").filter(issuer=token.issuer, subject=token.subject).first()

    def _creates_users(self) -> bool:
        if self.create_users is not None:
            return self.create_users
        from .conf import get_config

        return get_config().create_users

    def _create(self, token: AccessToken, now: datetime) -> Any:
        """Create the user and its link in one transaction; None when a concurrent request
        (or an existing user with the generated name) got there first."""
        from .models import TokenSubject

        user = self.new_user(token)
        self.sync_user(user, token, created=True)
        for attname in _protected_attnames(user):
            setattr(user, attname, False)
        try:
            with transaction.atomic():
                user.save()
                TokenSubject.objects.create(
                    issuer=token.issuer, subject=token.subject, user=user, created=now, last_seen=now
                )
        except IntegrityError:
            logger.warning(
                "Could not create a user for a new token subject (concurrent creation or user name taken)",
                extra={"reason": "user_create_conflict", "issuer": token.issuer},
            )
            return None
        if not getattr(user, "is_active", True):
            raise InvalidToken(Description.USER_DISABLED)
        return user

    def _sync_existing(self, user: Any, token: AccessToken) -> None:
        fields = [f for f in user._meta.concrete_fields if not f.primary_key]
        before = {f.attname: getattr(user, f.attname) for f in fields}
        self.sync_user(user, token, created=False)
        for attname in _protected_attnames(user):
            setattr(user, attname, before[attname])
        changed = [f.name for f in fields if getattr(user, f.attname) != before[f.attname]]
        if changed:
            user.save(update_fields=changed)
        if not getattr(user, "is_active", True):
            raise InvalidToken(Description.USER_DISABLED)


def _protected_attnames(user: Any) -> list[str]:
    """The attnames of ``user``'s concrete fields named in PROTECTED_FIELDS. A custom
    model may lack them or define them as properties, which hold no row value to
    protect (and may have no setter)."""
    return [f.attname for f in user._meta.concrete_fields if f.name in PROTECTED_FIELDS and not f.primary_key]
