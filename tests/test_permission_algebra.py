"""``&``, ``|`` and ``~`` grant exactly what DRF's ``AND``, ``OR`` and ``NOT`` grant, at the
request level and at the object level.

The properties build random expression trees (up to four operator levels) over this
package's permissions and DRF's, put each tree in ``permission_classes`` of a real DRF view
whose ``get`` calls ``check_object_permissions``, and send real signed tokens through the
package's authentication. A reference evaluator written from DRF's rules (DRF 3.14+:
``OR`` grants an object only through an operand that grants both the request and the
object; ``AND`` needs all of both; ``NOT`` negates each level) says what DRF would decide
from the booleans of each leaf.

* With this package's operators (``AllOf``/``AnyOf``/``Not`` or ``& | ~`` where they build
  ours), every request with a token gets exactly the reference's allow/deny.
* With DRF's operators as inner nodes or at the root, the package never grants what the
  reference refuses: our permissions raise their challenge instead of returning False, so
  a DRF ``|`` or ``~`` around them is cut short (fail closed, documented). Requests without
  a token are covered here too, since ``~`` never grants them (documented).

The tokens are signed once per test; an example varies the tree, the token, the method
and the object. ``HYPOTHESIS_PROFILE=ci`` runs 2,000 examples per property, derandomized;
the default runs 200.
"""

from __future__ import annotations

import functools
import operator
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from itertools import product
from typing import Any

import pytest
from django.urls import path
from hypothesis import HealthCheck, event, example, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from rest_framework.permissions import (
    AND,
    NOT,
    OR,
    AllowAny,
    BasePermission,
    IsAdminUser,
    IsAuthenticated,
    OperandHolder,
    SingleOperandHolder,
)
from rest_framework.response import Response
from rest_framework.test import APIRequestFactory
from rest_framework.views import APIView

from django_jwt_at.permissions import (
    AccessTokenPermission,
    AllOf,
    AnyOf,
    HasAnyScope,
    HasRole,
    HasScope,
    HasScopeForMethod,
    Not,
    StepUpRequired,
    _Composite,
)
from django_jwt_at.tokens import AccessToken

from .conftest import NOW
from .helpers import MFA, NO_CREDENTIALS, PWD, challenge_problems, insufficient_scope, json_body

pytestmark = pytest.mark.urls(__name__)

_CI = os.environ.get("HYPOTHESIS_PROFILE") == "ci"
EXAMPLES = 2_000 if _CI else 200
PROPERTY = hsettings(
    max_examples=EXAMPLES,
    derandomize=_CI,
    deadline=None,
    # The fixtures (keys, JWKS server, settings, tokens) are shared by every example on purpose.
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

ALICE = "user-123"
BOB = "user-456"
DRF_DENIED = {"detail": "You do not have permission to perform this action."}


@dataclass(frozen=True)
class Document:
    owner: str


class IsOwner(BasePermission):
    """Any request; an object only for the token's subject (DRF's usual owner rule)."""

    def has_object_permission(self, request: Any, view: Any, obj: Any) -> bool:
        token = request.auth
        return isinstance(token, AccessToken) and obj.owner == token.subject


class AdminScope(HasScope):
    """One of ours listed as a class, so that ``|`` between classes builds ours too."""

    scopes = ["orders:admin"]


class ReadOwnOrders(HasScope):
    """A permission of ours with its own object rule, inside an operator of ours."""

    scopes = ["orders:read"]

    def has_object_permission(self, request: Any, view: Any, obj: Any) -> bool:
        return bool(obj.owner == request.auth.subject)


class DocumentView(APIView):
    """``GET/POST /<route>`` checks the request; ``/<route>/<owner>`` also the object."""

    required_scopes = {"read": ["orders:read"], "POST": ["orders:admin"]}  # for HasScopeForMethod()

    def get(self, request: Any, owner: str | None = None) -> Response:
        if owner is not None:
            self.check_object_permissions(request, Document(owner))
        return Response({"ok": True})

    post = get


def _routes(name: str, permission: Any) -> list[Any]:
    view = DocumentView.as_view(permission_classes=[permission])
    return [path(name, view), path(f"{name}/<str:owner>", view)]


urlpatterns = [
    *_routes("admin-or-owner", HasScope("orders:admin") | IsOwner),
    *_routes("owner-or-admin", AnyOf(IsOwner, HasScope("orders:admin"))),
    *_routes("read-and-owner", HasScope("orders:read") & IsOwner),
    *_routes("not-admin-owner", ~(HasScope("orders:admin") & IsOwner)),
    *_routes("not-write", ~HasScope("orders:write")),
    *_routes("own-or-admin", ReadOwnOrders() | HasScope("orders:admin")),
]


# --- examples -----------------------------------------------------------------------------


def _answer(response: Any) -> tuple[int, str | None]:
    return response.status_code, response.get("WWW-Authenticate")


def test_or_refuses_another_users_object_to_a_token_without_the_scope(api, make_token):
    # DRF's OR: IsOwner grants the request but not Bob's object; HasScope grants neither.
    token = make_token(claims={"scope": "orders:read"})
    response = api.get(f"/admin-or-owner/{BOB}", token)
    assert _answer(response) == (403, insufficient_scope("orders:admin"))
    assert json_body(response) == {
        "detail": "The request requires higher privileges than provided by the access token",
        "error": "insufficient_scope",
    }


def test_or_grants_the_owner_and_the_admin_scope(api, make_token):
    assert api.get(f"/admin-or-owner/{ALICE}", make_token(claims={"scope": "orders:read"})).status_code == 200
    assert api.get(f"/admin-or-owner/{BOB}", make_token(claims={"scope": "orders:admin"})).status_code == 200
    assert api.get("/admin-or-owner", make_token(claims={"scope": "orders:read"})).status_code == 200


def test_or_without_token_on_an_object_gets_the_bearer_challenge(api):
    # The request passes (IsOwner grants every request); no object is anyone's without a token.
    assert _answer(api.get(f"/admin-or-owner/{ALICE}")) == (401, NO_CREDENTIALS)


def test_or_whose_first_operand_granted_the_request_refuses_an_object_as_drf_does(api, make_token):
    response = api.get(f"/owner-or-admin/{BOB}", make_token(claims={"scope": "orders:read"}))
    assert _answer(response) == (403, None)
    assert json_body(response) == DRF_DENIED
    assert api.get(f"/owner-or-admin/{BOB}", make_token(claims={"scope": "orders:admin"})).status_code == 200


def test_and_needs_every_operand_on_the_object(api, make_token):
    assert api.get(f"/read-and-owner/{ALICE}", make_token()).status_code == 200
    response = api.get(f"/read-and-owner/{BOB}", make_token())
    assert _answer(response) == (403, None)
    assert json_body(response) == DRF_DENIED


def test_not_negates_the_request_check_and_the_object_check_separately(api, make_token):
    # DRF's NOT: the request passes when the operand refuses it (no orders:admin), and an
    # object passes when the operand's object check refuses it (HasScope: True, IsOwner: not Bob's).
    token = make_token(claims={"scope": "orders:read"})
    assert api.get(f"/not-admin-owner/{BOB}", token).status_code == 200
    response = api.get(f"/not-admin-owner/{ALICE}", token)
    assert _answer(response) == (403, None)
    assert json_body(response) == DRF_DENIED
    response = api.get(f"/not-admin-owner/{BOB}", make_token(claims={"scope": "orders:admin"}))
    assert _answer(response) == (403, insufficient_scope())


def test_not_of_a_permission_without_object_rule_refuses_every_object(api, make_token):
    # DRF's NOT: HasScope grants every object, so ~HasScope grants none (the documented pitfall).
    token = make_token(claims={"scope": "orders:read"})
    assert api.get("/not-write", token).status_code == 200
    for owner in (ALICE, BOB):
        response = api.get(f"/not-write/{owner}", token)
        assert _answer(response) == (403, None)
        assert json_body(response) == DRF_DENIED


def test_a_subclass_object_rule_is_honoured_inside_an_operator(api, make_token):
    token = make_token(claims={"scope": "orders:read"})
    assert api.get(f"/own-or-admin/{ALICE}", token).status_code == 200
    response = api.get(f"/own-or-admin/{BOB}", token)
    assert _answer(response) == (403, None)
    assert json_body(response) == DRF_DENIED
    assert api.get(f"/own-or-admin/{BOB}", make_token(claims={"scope": "orders:admin"})).status_code == 200


# --- the properties -----------------------------------------------------------------------


@dataclass(frozen=True)
class Facts:
    """What a leaf's decision depends on; ``token`` None is a request without a token."""

    token: Claims | None
    method: str
    owner: str


@dataclass(frozen=True)
class Claims:
    scopes: frozenset[str]
    admin_role: bool
    mfa_recently: bool  # acr MFA and auth_time a minute ago, else acr PWD an hour ago
    subject: str


@dataclass(frozen=True)
class Leaf:
    """A permission and, from DRF's rules, whether it grants the request and the object."""

    name: str
    build: Callable[[], Any]
    grants: Callable[[Facts], bool]
    grants_object: Callable[[Facts], bool] = lambda facts: True  # DRF's BasePermission default


def _scoped(*needed: str, any_of: bool = False) -> Callable[[Facts], bool]:
    def grants(facts: Facts) -> bool:
        if facts.token is None:
            return False
        held = [scope in facts.token.scopes for scope in needed]
        return any(held) if any_of else all(held)

    return grants


def _with_token(rule: Callable[[Claims], bool]) -> Callable[[Facts], bool]:
    return lambda facts: facts.token is not None and rule(facts.token)


def _by_method(read: str, write: str) -> Callable[[Facts], bool]:
    return lambda facts: _scoped(read if facts.method == "GET" else write)(facts)


LEAVES = (
    Leaf("HasScope(read)", lambda: HasScope("orders:read"), _scoped("orders:read")),
    Leaf(
        "HasScope(read, write)", lambda: HasScope("orders:read", "orders:write"), _scoped("orders:read", "orders:write")
    ),
    Leaf(
        "HasAnyScope(write, admin)",
        lambda: HasAnyScope("orders:write", "orders:admin"),
        _scoped("orders:write", "orders:admin", any_of=True),
    ),
    Leaf("AdminScope", lambda: AdminScope, _scoped("orders:admin")),
    Leaf("HasRole(admin)", lambda: HasRole("admin"), _with_token(lambda t: t.admin_role)),
    Leaf("StepUp(acr)", lambda: StepUpRequired(acr_values=[MFA]), _with_token(lambda t: t.mfa_recently)),
    Leaf("StepUp(max_age)", lambda: StepUpRequired(max_age=300), _with_token(lambda t: t.mfa_recently)),
    Leaf(
        "HasScopeForMethod({...})",
        lambda: HasScopeForMethod({"read": ["orders:read"], "write": ["orders:write"]}),
        _by_method("orders:read", "orders:write"),
    ),
    Leaf("HasScopeForMethod", lambda: HasScopeForMethod, _by_method("orders:read", "orders:admin")),
    Leaf("IsAuthenticated", lambda: IsAuthenticated, lambda facts: facts.token is not None),
    Leaf("AllowAny", lambda: AllowAny, lambda facts: True),
    Leaf("IsAdminUser", lambda: IsAdminUser, lambda facts: False),  # a token user is never staff
    Leaf(
        "IsOwner",
        lambda: IsOwner,
        lambda facts: True,
        lambda facts: facts.token is not None and facts.owner == facts.token.subject,
    ),
)

#: A tree: ("leaf", index) | (operator, (children...), form), form "call" or "op".
Tree = tuple[Any, ...]
OURS = ("all", "any", "not")
DRFS = ("drf_and", "drf_or", "drf_not")


def leaf(name: str) -> Tree:
    return ("leaf", next(i for i, candidate in enumerate(LEAVES) if candidate.name == name))


def trees(depth: int, operators: tuple[str, ...]) -> st.SearchStrategy[Tree]:
    """Trees with at most ``depth`` operator levels. ``not`` has one operand, DRF's binary
    operators two, ``AllOf``/``AnyOf`` two or three."""
    # IsOwner is the only leaf with an object rule: drawn more often, so that many trees
    # have objects the request-level check alone does not decide.
    indices = [*range(len(LEAVES)), *[leaf("IsOwner")[1]] * 3]
    leaves = st.tuples(st.just("leaf"), st.sampled_from(indices))
    if depth == 0:
        return leaves
    sub = trees(depth - 1, operators)
    forms = st.sampled_from(("call", "op"))

    def node(kind: str) -> st.SearchStrategy[Tree]:
        arity = (1, 1) if kind.endswith("not") else (2, 2) if kind.startswith("drf") else (2, 3)
        return st.tuples(st.just(kind), st.lists(sub, min_size=arity[0], max_size=arity[1]).map(tuple), forms)

    # A leaf half of the time keeps trees of every depth up to ``depth`` and of modest size.
    return st.one_of(leaves, st.one_of([node(kind) for kind in operators]))


def depth(tree: Tree) -> int:
    return 0 if tree[0] == "leaf" else 1 + max(depth(child) for child in tree[1])


def _ours(permission: Any) -> bool:
    return isinstance(permission, AccessTokenPermission) or (
        isinstance(permission, type) and issubclass(permission, AccessTokenPermission)
    )


def _our_operator(constructor: Callable[..., Any], symbol: Callable[..., Any], children: list[Any], form: str) -> Any:
    """``AllOf(*children)``, or ``a & b & c`` where that builds ours (ours on the left, or
    our class on the right of a DRF class); otherwise the constructor."""
    if form == "op":
        built = functools.reduce(symbol, children)
        if isinstance(built, _Composite):
            return built
    return constructor(*children)


def build(tree: Tree) -> Any:
    """The permission_classes entry for ``tree``."""
    if tree[0] == "leaf":
        return LEAVES[tree[1]].build()
    kind, children, form = tree
    parts = [build(child) for child in children]
    if kind == "all":
        return _our_operator(AllOf, operator.and_, parts, form)
    if kind == "any":
        return _our_operator(AnyOf, operator.or_, parts, form)
    if kind == "not":
        return ~parts[0] if form == "op" and _ours(parts[0]) else Not(parts[0])
    # DRF's own operators, whatever the operands are (as written with a DRF class first).
    if kind == "drf_not":
        return SingleOperandHolder(NOT, parts[0])
    return OperandHolder(AND if kind == "drf_and" else OR, *parts)


def reference(tree: Tree, facts: Facts) -> tuple[bool, bool]:
    """(has_permission, has_object_permission) by DRF's rules for AND, OR and NOT."""
    if tree[0] == "leaf":
        leaf = LEAVES[tree[1]]
        return leaf.grants(facts), leaf.grants_object(facts)
    kind, children, _ = tree
    parts = [reference(child, facts) for child in children]
    if kind in ("all", "drf_and"):
        return all(p for p, _ in parts), all(o for _, o in parts)
    if kind in ("any", "drf_or"):
        return any(p for p, _ in parts), any(p and o for p, o in parts)
    (p, o) = parts[0]
    return not p, not o


def describe(tree: Tree) -> str:
    if tree[0] == "leaf":
        return LEAVES[tree[1]].name
    kind, children, form = tree
    return f"{kind}[{form}](" + ", ".join(describe(child) for child in children) + ")"


SCOPES = ("orders:read", "orders:write", "orders:admin")
CLAIMS = [
    Claims(frozenset(scope for scope, on in zip(SCOPES, held) if on), admin, mfa, subject)
    for held in product((False, True), repeat=len(SCOPES))
    for admin, mfa, subject in product((False, True), (False, True), (ALICE, BOB))
]


class Harness:
    """Sends requests for one tree through a real DRF view with the package's authentication."""

    def __init__(self, make_token: Any) -> None:
        self.tokens = {claims: make_token(claims=self._claims(claims)) for claims in CLAIMS}
        self.factory = APIRequestFactory()

    @staticmethod
    def _claims(claims: Claims) -> dict[str, Any]:
        return {
            "sub": claims.subject,
            "scope": " ".join(["profile", *sorted(claims.scopes)]),
            "roles": ["admin"] if claims.admin_role else ["user"],
            "acr": MFA if claims.mfa_recently else PWD,
            "auth_time": int(NOW) - (60 if claims.mfa_recently else 3600),
        }

    def granted(self, tree: Tree, claims: Claims | None, method: str, owner: str | None) -> bool:
        """Whether the view answers 200; a refusal must be a well-formed 401 or 403."""
        view = DocumentView.as_view(permission_classes=[build(tree)])
        headers = {} if claims is None else {"HTTP_AUTHORIZATION": f"Bearer {self.tokens[claims]}"}
        request = self.factory.generic(method, "/doc", **headers)
        response = view(request) if owner is None else view(request, owner=owner)
        if response.status_code == 200:
            return True
        assert response.status_code in (401, 403), (describe(tree), response.status_code)
        assert not challenge_problems(response.get("WWW-Authenticate"), response.status_code)
        return False

    def outcomes(self, tree: Tree, facts: Facts) -> Iterator[tuple[str, bool, bool]]:
        """(what, package grants, reference grants) for the request and for both objects."""
        claims = facts.token
        request_granted, _ = reference(tree, facts)
        yield "request", self.granted(tree, claims, facts.method, None), request_granted
        objects = []
        for owner in (ALICE, BOB):
            grants, grants_object = reference(tree, Facts(claims, facts.method, owner))
            objects.append(grants and grants_object)
            yield f"object of {owner}", self.granted(tree, claims, facts.method, owner), objects[-1]
        # Shown by --hypothesis-show-statistics: the examples reach every kind of outcome.
        event(f"depth {depth(tree)}")
        event(f"request granted, objects granted: {sum(objects)} of 2" if request_granted else "request refused")


@pytest.fixture
def harness(make_token: Any) -> Harness:
    return Harness(make_token)


METHODS = st.sampled_from(("GET", "POST"))


WITHOUT_ADMIN = next(c for c in CLAIMS if c.scopes == {"orders:read"} and c.subject == ALICE and not c.admin_role)


@PROPERTY
@given(tree=trees(4, OURS), claims=st.sampled_from(CLAIMS), method=METHODS)
# The regressions this property was written for, checked on every run:
@example(tree=("any", (leaf("AdminScope"), leaf("IsOwner")), "op"), claims=WITHOUT_ADMIN, method="GET")
@example(tree=("not", (leaf("HasScope(read, write)"),), "op"), claims=WITHOUT_ADMIN, method="GET")
def test_our_operators_decide_exactly_as_drf(harness: Harness, tree: Tree, claims: Claims, method: str) -> None:
    for what, ours, drf in harness.outcomes(tree, Facts(claims, method, ALICE)):
        assert ours == drf, f"{what}: {describe(tree)} with {claims} {method}: package {ours}, DRF {drf}"


@PROPERTY
@given(tree=trees(4, OURS + DRFS), claims=st.none() | st.sampled_from(CLAIMS), method=METHODS)
def test_with_drf_operators_inside_the_package_never_grants_more_than_drf(
    harness: Harness, tree: Tree, claims: Claims | None, method: str
) -> None:
    for what, ours, drf in harness.outcomes(tree, Facts(claims, method, ALICE)):
        assert drf or not ours, f"{what}: {describe(tree)} with {claims} {method}: package grants, DRF refuses"
