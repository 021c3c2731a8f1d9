"""The test issuer: keys, a JWK Set, RFC 9068 access tokens, and the settings that trust it."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from typing import TYPE_CHECKING, Any

from django.test import override_settings

from .. import clock
from ..jwks import key_sets
from .keys import TestKey
from .server import JWKSServer

if TYPE_CHECKING:
    from .dpop import DPoPKey


class _Omit:
    def __repr__(self) -> str:
        return "OMIT"


#: Use as a claim or header value in :meth:`TestIssuer.token` to leave that member out.
OMIT: Any = _Omit()


def _apply(base: dict[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    result = dict(base)
    for name, value in overrides.items():
        if value is OMIT:
            result.pop(name, None)
        else:
            result[name] = value
    return result


class TestIssuer:
    """An authorization server for tests: it generates one signing key per algorithm,
    publishes them as a JWK Set, and mints RFC 9068 access tokens.

    Its key set reaches django-jwt-at in one of two ways: :meth:`install` puts it into the
    process's key-set registry (no network at all), :meth:`serve` publishes it from a
    loopback HTTP server (the real fetch path). :func:`override_issuers` (or
    :meth:`configure`) does either and sets ``JWT_AT_ISSUERS`` to trust it.

    ``options`` are further ``JWT_AT_ISSUERS`` options for this issuer. Tokens are signed
    with ``cryptography`` (never with python-jose, which the package verifies with).
    """

    __test__ = False  # not a pytest test class

    def __init__(
        self,
        issuer: str = "https://issuer.test",
        audience: str = "https://api.test",
        *,
        algorithms: Iterable[str] = ("RS256",),
        subject: str = "test-user",
        client_id: str = "test-client",
        scope: str = "",
        lifetime: int = 300,
        options: Mapping[str, Any] | None = None,
    ) -> None:
        self.issuer = issuer
        self.audience = audience
        self.subject = subject
        self.client_id = client_id
        self.scope = scope
        self.lifetime = lifetime
        self.options = dict(options or {})
        #: The signing key of each algorithm, the first one being the default.
        self.keys: dict[str, TestKey] = {alg: TestKey(alg) for alg in algorithms}
        if not self.keys:
            raise ValueError("a TestIssuer needs at least one algorithm")
        self._server: JWKSServer | None = None

    @property
    def algorithms(self) -> list[str]:
        return list(self.keys)

    def key(self, alg: str | None = None) -> TestKey:
        """The signing key for ``alg`` (default: the first algorithm)."""
        if alg is None:
            return next(iter(self.keys.values()))
        try:
            return self.keys[alg]
        except KeyError:
            raise ValueError(f"this TestIssuer has no {alg} key; its algorithms are {self.algorithms}") from None

    def jwks(self) -> dict[str, Any]:
        """The public JWK Set (RFC 7517 §5) of every signing key."""
        return {"keys": [key.public_jwk() for key in self.keys.values()]}

    # --- tokens --------------------------------------------------------------------------

    def claims(
        self, claims: Mapping[str, Any] | None = None, *, now: float | None = None, **more: Any
    ) -> dict[str, Any]:
        """The claims :meth:`token` signs: the RFC 9068 §2.2 set (``iss``, ``sub``, ``aud``,
        ``client_id``, ``iat``, ``exp``, ``jti``, and ``scope`` when not empty), with
        ``claims`` and ``more`` applied on top (:data:`OMIT` removes a claim; a list or
        tuple ``scope`` is joined with spaces)."""
        issued = int(clock.now() if now is None else now)
        base: dict[str, Any] = {
            "iss": self.issuer,
            "sub": self.subject,
            "aud": self.audience,
            "client_id": self.client_id,
            "iat": issued,
            "exp": issued + self.lifetime,
            "jti": str(uuid.uuid4()),
        }
        if self.scope:
            base["scope"] = self.scope
        result = _apply(_apply(base, claims or {}), more)
        if isinstance(result.get("scope"), (list, tuple)):
            result["scope"] = " ".join(result["scope"])
        return result

    def token(
        self,
        claims: Mapping[str, Any] | None = None,
        *,
        header: Mapping[str, Any] | None = None,
        alg: str | None = None,
        now: float | None = None,
        dpop_key: DPoPKey | None = None,
        **more: Any,
    ) -> str:
        """Mint an access token: ``claims(claims, now=now, **more)`` under the header
        ``{"typ": "at+jwt", "alg": <alg>, "kid": <kid>}`` updated with ``header``.

        ``now`` defaults to :func:`django_jwt_at.clock.now`, the time the package
        validates with. The signature is always made with the key of ``alg``, so a
        ``header`` that announces another algorithm yields a token the package must refuse.
        ``dpop_key`` (a :class:`~django_jwt_at.testing.DPoPKey`) binds the token to that
        key: the claim ``cnf`` is ``{"jkt": dpop_key.jkt}`` (RFC 9449 §6.1), unless
        ``claims`` or ``more`` set ``cnf`` themselves::

            issuer.token(scope="orders:read")
            issuer.token({"https://example.com/roles": ["admin"]}, acr="urn:example:mfa")
            issuer.token(exp=0)                       # expired
            issuer.token(header={"typ": "JWT"})       # not an access token
            issuer.token(aud=OMIT)                    # no audience
            issuer.token(dpop_key=key)                # DPoP-bound
        """
        key = self.key(alg)
        head = _apply({"typ": "at+jwt", "alg": key.alg, "kid": key.kid}, header or {})
        if dpop_key is not None:
            claims = {"cnf": {"jkt": dpop_key.jkt}, **(claims or {})}
        return key.sign(head, self.claims(claims, now=now, **more))

    def sign(self, header: Mapping[str, Any], claims: Mapping[str, Any] | bytes, *, alg: str | None = None) -> str:
        """Sign ``header`` and ``claims`` exactly as given (no defaults added) with the key
        of ``alg`` (default: the first algorithm)."""
        return self.key(alg).sign(header, claims)

    # --- Django users (ModelUserMapping) --------------------------------------------------

    def link(self, user: Any, sub: str | None = None) -> str:
        """Link ``user`` to the subject ``sub`` of this issuer, as an administrator links
        an existing account, and return the subject: a
        :class:`~django_jwt_at.models.TokenSubject` row, created, or changed to point to
        ``user`` when ``sub`` was linked to another user. ``sub`` defaults to the user's
        user name (``user.get_username()``).

        :class:`~django_jwt_at.users.ModelUserMapping` then maps this issuer's tokens with
        that ``sub`` to ``user``. Needs database access (pytest-django's ``db`` fixture or
        ``django_db`` mark, or a ``TestCase``).
        """
        from ..models import TokenSubject
        from ..users import _now

        subject = user.get_username() if sub is None else sub
        moment = _now()
        TokenSubject.objects.update_or_create(
            issuer=self.issuer,
            subject=subject,
            defaults={"user": user},
            create_defaults={"user": user, "created": moment, "last_seen": moment},
        )
        return subject

    def token_for(
        self, user: Any, claims: Mapping[str, Any] | None = None, *, sub: str | None = None, **more: Any
    ) -> str:
        """:meth:`token` for ``user``: ``token(claims, sub=link(user, sub), **more)``.
        Needs database access, as :meth:`link` does::

            alice = User.objects.create_user("alice")
            authenticate(client, issuer.token_for(alice, scope="orders:read"))
        """
        return self.token(claims, sub=self.link(user, sub), **more)

    def linked_user(self, sub: str | None = None) -> Any:
        """The Django user that ``sub`` of this issuer (default: the ``subject`` it mints
        tokens for) is linked to, or None: the user :meth:`link` linked, or that
        :class:`~django_jwt_at.users.ModelUserMapping` created for a new subject (with
        ``JWT_AT_CREATE_USERS``). The model instance itself, read from the database."""
        from ..models import TokenSubject

        subject = self.subject if sub is None else sub
        link = TokenSubject.objects.select_related("user").filter(issuer=self.issuer, subject=subject).first()
        return None if link is None else link.user

    # --- making the package trust it --------------------------------------------------------

    def issuer_options(self) -> dict[str, Any]:
        """This issuer's ``JWT_AT_ISSUERS`` entry: ``AUDIENCE``, ``ALGORITHMS``, ``JWKS_URI``
        while serving, and ``options``."""
        options: dict[str, Any] = {"AUDIENCE": self.audience, "ALGORITHMS": self.algorithms}
        if self._server is not None:
            options["JWKS_URI"] = self._server.jwks_uri
        return {**options, **self.options}

    def install(self) -> None:
        """Put the key set into :data:`django_jwt_at.jwks.key_sets` (no network): see
        :meth:`~django_jwt_at.jwks.KeySetRegistry.install`."""
        key_sets.install(self.issuer, self.jwks())

    def uninstall(self) -> None:
        key_sets.uninstall(self.issuer)

    def serve(self) -> str:
        """Start publishing the key set on a loopback port (if not already); return its URL."""
        if self._server is None:
            self._server = JWKSServer(self.jwks)
        return self._server.jwks_uri

    def stop(self) -> None:
        """Stop the server started by :meth:`serve`."""
        if self._server is not None:
            self._server.close()
            self._server = None

    @property
    def jwks_uri(self) -> str | None:
        """The URL of the served key set, None when not serving."""
        return self._server.jwks_uri if self._server is not None else None

    @property
    def jwks_requests(self) -> int:
        """How many times the served key set was fetched."""
        return self._server.requests if self._server is not None else 0

    def configure(self, *, serve: bool = False, **settings: Any) -> Any:
        """``override_issuers(self, serve=serve, **settings)``."""
        return override_issuers(self, serve=serve, **settings)

    def __repr__(self) -> str:
        return f"<TestIssuer {self.issuer} {self.algorithms}>"


@contextmanager
def override_issuers(*issuers: TestIssuer, serve: bool = False, **settings: Any) -> Iterator[None]:
    """Trust exactly ``issuers`` while the block runs (a context manager and a decorator).

    ``JWT_AT_ISSUERS`` becomes their :meth:`~TestIssuer.issuer_options`, other settings
    (``JWT_AT_LEEWAY=0``, ...) are overridden as given, and each key set is installed in
    the process (``serve=False``, no network) or served from a loopback port
    (``serve=True``; a server started here is stopped at the end). Everything is
    restored on exit. Built on :func:`django.test.override_settings`.
    """
    with _trusted(issuers, serve=serve, apply=lambda values: override_settings(**values), **settings):
        yield


@contextmanager
def _trusted(
    issuers: Iterable[TestIssuer],
    *,
    serve: bool,
    apply: Callable[[dict[str, Any]], AbstractContextManager[Any]],
    **settings: Any,
) -> Iterator[None]:
    """:func:`override_issuers` with the settings changed by ``apply(values)``, a context
    manager (the pytest fixtures pass one that goes through pytest-django's ``settings``
    fixture, so that they are restored in order with the test's own changes)."""
    issuers = list(issuers)
    started = [issuer for issuer in issuers if serve and issuer.jwks_uri is None]
    for issuer in started:
        issuer.serve()
    try:
        with apply({"JWT_AT_ISSUERS": {i.issuer: i.issuer_options() for i in issuers}, **settings}):
            installed = [] if serve else issuers
            for issuer in installed:
                issuer.install()
            try:
                yield
            finally:
                for issuer in installed:
                    issuer.uninstall()
    finally:
        for issuer in started:
            issuer.stop()
