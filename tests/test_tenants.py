"""Multi-tenant issuers: issuer templates, TENANTS, JWT_AT_ISSUER_RESOLVER and their bounds.

Each tenant's JWK Set is served by the live loopback server at /tenants/<tenant>/jwks, so
a fetch is a real request that the server counts; time comes from the injected clock. The
template's issuer host is never contacted (JWKS_URI is set), and the ``outbound`` fixture
fails a test that resolves any non-loopback host.
"""

from __future__ import annotations

import logging
import uuid
from collections import Counter
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured

from django_jwt_at import providers
from django_jwt_at.conf import get_config
from django_jwt_at.jwks import KeySetRegistry, cache_key, key_sets
from django_jwt_at.signals import access_token_rejected, access_token_validated
from django_jwt_at.tenants import dynamic_issuers
from django_jwt_at.validation import validate_access_token

from .conftest import ABSENT, NOW
from .helpers import FX_AUD, FX_ISS, invalid_token, json_body, our_messages
from .redis_server import needs_redis, run_validate_workers

TEMPLATE = "https://login.example.com/{tenant}/v2.0"
ALPHA, BETA = "alpha", "beta"


def assert_unavailable(response: Any) -> int:
    """503 with Retry-After and the temporarily_unavailable body, never invalid_token."""
    assert response.status_code == 503, response.content
    assert "WWW-Authenticate" not in response
    assert json_body(response)["error"] == "temporarily_unavailable"
    return int(response["Retry-After"])


def iss(tenant: str) -> str:
    return TEMPLATE.replace("{tenant}", tenant)


def jwks_path(tenant: str) -> str:
    return f"/tenants/{tenant}/jwks"


# --- the callables named by the settings (dotted paths into this module) ----------------------

#: Tenants TENANTS says yes to, and every tenant it was asked about, in order.
TRUSTED: set[str] = set()
ASKED: list[str] = []
#: What the resolver returns per issuer (missing: None), and every issuer it was asked about.
RESOLVED: dict[str, Any] = {}
RESOLVER_ASKED: list[str] = []
FAIL = {"tenants": False, "resolver": False}


def known_tenant(tenant: str) -> bool:
    ASKED.append(tenant)
    if FAIL["tenants"]:
        raise RuntimeError("database unavailable")
    return tenant in TRUSTED


def tenant_by_name(tenant: str) -> Any:
    """Returns a model-like object instead of True: a mistake the package must refuse."""
    return object()


def resolve_issuer(issuer: str) -> Any:
    RESOLVER_ASKED.append(issuer)
    if FAIL["resolver"]:
        raise RuntimeError("database unavailable")
    return RESOLVED.get(issuer)


NOT_CALLABLE = 42


@pytest.fixture(autouse=True)
def _callables() -> Any:
    TRUSTED.clear()
    ASKED.clear()
    RESOLVED.clear()
    RESOLVER_ASKED.clear()
    FAIL.update(tenants=False, resolver=False)
    dynamic_issuers.clear()
    yield
    dynamic_issuers.clear()


# --- fixtures ------------------------------------------------------------------------------------


def template_options(server: Any, **overrides: Any) -> dict[str, Any]:
    options = {
        "AUDIENCE": FX_AUD,
        "JWKS_URI": server.url("/tenants/{tenant}/jwks"),
        "ALGORITHMS": ["RS256", "ES256"],
    }
    options.update(overrides)
    return options


@pytest.fixture
def tenants(fx: Any, server: Any, keys: Any) -> Any:
    """The template next to the fixture issuer; alpha publishes rsa-1, beta as2-1."""
    server.route(jwks_path(ALPHA), {"keys": [keys["rsa-1"].public_jwk(alg="RS256")]})
    server.route(jwks_path(BETA), {"keys": [keys["as2-1"].public_jwk(alg="RS256")]})

    def configure(**overrides: Any) -> None:
        fx.settings.JWT_AT_ISSUERS = {FX_ISS: fx.issuer_options(), TEMPLATE: template_options(server, **overrides)}

    configure()
    return configure


def tenant_token(make_token: Any, tenant: str, key: str | None = None, **claims: Any) -> str:
    return make_token(claims={"iss": iss(tenant), **claims}, key=key or {ALPHA: "rsa-1", BETA: "as2-1"}[tenant])


def tenant_fetches(server: Any) -> Counter[str]:
    return Counter(path.split("/")[2] for path in server.paths() if path.startswith("/tenants/"))


class Recorder:
    def __init__(self) -> None:
        self.calls: list[tuple[Any, dict[str, Any]]] = []

    def __call__(self, sender: Any, signal: Any, **kwargs: Any) -> None:
        self.calls.append((signal, kwargs))

    def of(self, signal: Any) -> list[dict[str, Any]]:
        return [kwargs for s, kwargs in self.calls if s is signal]


@pytest.fixture
def recorder() -> Any:
    recording = Recorder()
    access_token_validated.connect(recording, weak=False)
    access_token_rejected.connect(recording, weak=False)
    yield recording
    access_token_validated.disconnect(recording)
    access_token_rejected.disconnect(recording)


def errors_of(caplog: Any, logger: str = "django_jwt_at.tenants") -> list[logging.LogRecord]:
    return [r for r in caplog.get_records("call") if r.name == logger and r.levelno == logging.ERROR]


# --- templates: tenants with their own keys ------------------------------------------------------


def test_two_tenants_of_one_template_are_accepted_with_their_own_keys(api, make_token, server, tenants):
    for tenant in (ALPHA, BETA, ALPHA, BETA):
        response = api.get("/whoami", tenant_token(make_token, tenant))
        assert response.status_code == 200, response.content
        auth = json_body(response)["auth"]
        assert (auth["issuer"], auth["tenant"]) == (iss(tenant), tenant)
    assert tenant_fetches(server) == {ALPHA: 1, BETA: 1}  # each tenant's own JWKS, once


def test_fixed_issuer_next_to_a_template_has_no_tenant(api, make_token, tenants):
    response = api.get("/whoami", make_token())
    assert response.status_code == 200
    assert json_body(response)["auth"]["tenant"] is None


def test_a_token_of_tenant_a_signed_with_the_key_of_tenant_b_is_refused(api, make_token, server, tenants):
    assert api.get("/orders", tenant_token(make_token, BETA)).status_code == 200
    forged = tenant_token(make_token, ALPHA, key="as2-1")  # beta's key, alpha's iss
    response = api.get("/orders", forged)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == invalid_token("signature")
    assert json_body(response) == {"error": "invalid_token", "detail": "The access token signature is invalid"}
    # Alpha's own key set was fetched (and refetched once for the unknown kid), beta's
    # never consulted for alpha's token.
    assert tenant_fetches(server) == {BETA: 1, ALPHA: 2}


def test_exact_entry_wins_over_the_template(api, make_token, fx, server, tenants, keys):
    common = iss("common")
    fx.settings.JWT_AT_ISSUERS = {
        **fx.settings.JWT_AT_ISSUERS,
        common: {"AUDIENCE": FX_AUD, "JWKS_URI": server.url("/jwks"), "ALGORITHMS": ["ES256"]},
    }
    response = api.get("/whoami", make_token(claims={"iss": common}, key="ec-1"))
    assert response.status_code == 200
    assert json_body(response)["auth"]["tenant"] is None
    assert server.count("/jwks") == 1 and tenant_fetches(server) == {}


@pytest.mark.parametrize(
    "issuer",
    [
        "https://login.example.com/../v2.0",
        "https://login.example.com/./v2.0",
        "https://login.example.com/a/b/v2.0",
        "https://login.example.com//v2.0",
        "https://login.example.com/a%2Fb/v2.0",
        "https://login.example.com/alpha/v2.0/",
        "https://login.example.com/alpha/v2.1",
        "https://login.example.com/al pha/v2.0",
        "https://login.example.com/" + "a" * 129 + "/v2.0",
        "https://evil.example/alpha/v2.0",
        "https://login.example.com.evil.example/alpha/v2.0",
    ],
    ids=[
        "dot-dot",
        "dot",
        "two-segments",
        "empty",
        "encoded-slash",
        "trailing-slash",
        "other-suffix",
        "space",
        "too-long",
        "other-host",
        "host-suffix",
    ],
)
def test_iss_outside_the_template_is_untrusted_without_any_request(api, make_token, server, tenants, issuer):
    response = api.get("/orders", make_token(claims={"iss": issuer}))
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == invalid_token("iss")
    assert server.total() == 0


def test_tenant_pattern_uuid_narrows_the_tenants(api, make_token, server, tenants, keys):
    tenant = str(uuid.uuid4())
    server.route(jwks_path(tenant), {"keys": [keys["rsa-1"].public_jwk(alg="RS256")]})
    tenants(TENANT_PATTERN="uuid")
    assert api.get("/orders", tenant_token(make_token, ALPHA)).status_code == 401
    assert api.get("/orders", tenant_token(make_token, tenant.upper(), key="rsa-1")).status_code == 401
    response = api.get("/whoami", tenant_token(make_token, tenant, key="rsa-1"))
    assert response.status_code == 200
    assert json_body(response)["auth"]["tenant"] == tenant
    assert tenant_fetches(server) == {tenant: 1}


def test_tenant_pattern_regex_narrows_the_default_character_set(api, make_token, server, tenants):
    tenants(TENANT_PATTERN=r"al.*|.*")  # a permissive expression cannot widen the character set
    assert api.get("/orders", tenant_token(make_token, ALPHA)).status_code == 200
    assert api.get("/orders", make_token(claims={"iss": iss("a$b")})).status_code == 401
    tenants(TENANT_PATTERN=r"[a-z]{4}")
    assert api.get("/orders", tenant_token(make_token, ALPHA)).status_code == 401
    assert api.get("/orders", tenant_token(make_token, BETA)).status_code == 200


def test_discovery_per_tenant_without_jwks_uri(api, make_token, fx, server, keys):
    """A Keycloak-like template whose tenants publish RFC 8414 metadata of their own."""
    template = server.url("/realms/{tenant}")
    fx.settings.JWT_AT_ISSUERS = {template: {**providers.KEYCLOAK, "AUDIENCE": FX_AUD, "ALGORITHMS": ["RS256"]}}
    for tenant, key in ((ALPHA, "rsa-1"), (BETA, "as2-1")):
        issuer = server.url(f"/realms/{tenant}")
        server.route(
            f"/.well-known/oauth-authorization-server/realms/{tenant}",
            {"issuer": issuer, "jwks_uri": server.url(jwks_path(tenant))},
        )
        server.route(jwks_path(tenant), {"keys": [keys[key].public_jwk(alg="RS256")]})
        token = make_token(
            {"typ": "JWT"},
            {"iss": issuer, "azp": "shop", "typ": "Bearer", "jti": "j"},
            key=key,
        )
        response = api.get("/whoami", token)
        assert response.status_code == 200, response.content
        assert json_body(response)["auth"]["tenant"] == tenant
    # Beta's token signed with alpha's key fails: each realm has its own keys.
    token = make_token({"typ": "JWT"}, {"iss": server.url("/realms/beta"), "azp": "s", "typ": "Bearer"}, key="rsa-1")
    assert api.get("/orders", token).status_code == 401


# --- TENANTS -------------------------------------------------------------------------------------


def test_tenants_saying_no_costs_no_fetch_and_401(api, make_token, server, tenants, clock):
    tenants(TENANTS="tests.test_tenants.known_tenant")
    TRUSTED.add(ALPHA)
    assert api.get("/orders", tenant_token(make_token, ALPHA)).status_code == 200
    for _ in range(3):
        response = api.get("/orders", tenant_token(make_token, BETA))
        assert response.status_code == 401
        assert response["WWW-Authenticate"] == invalid_token("iss")
    assert tenant_fetches(server) == {ALPHA: 1}  # nothing for beta
    assert ASKED == [ALPHA, BETA]  # answers are remembered, refusals too
    clock.advance(61)  # JWT_AT_DYNAMIC_ISSUER_TTL (60 s) later, it is asked again
    TRUSTED.add(BETA)
    assert api.get("/orders", tenant_token(make_token, BETA)).status_code == 200
    assert ASKED == [ALPHA, BETA, BETA]


def test_a_tenant_no_longer_trusted_is_refused_after_the_ttl_even_for_a_remembered_token(
    api, make_token, server, tenants, clock, settings
):
    settings.JWT_AT_DYNAMIC_ISSUER_TTL = 30
    tenants(TENANTS="tests.test_tenants.known_tenant")
    TRUSTED.add(ALPHA)
    token = tenant_token(make_token, ALPHA)
    assert api.get("/orders", token).status_code == 200
    TRUSTED.discard(ALPHA)
    clock.advance(20)
    assert api.get("/orders", token).status_code == 200  # the answer is remembered for 30 s
    clock.advance(11)
    response = api.get("/orders", token)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == invalid_token("iss")
    assert ASKED == [ALPHA, ALPHA]


def test_tenants_raising_is_503_with_one_error_record(api, make_token, server, tenants, caplog):
    tenants(TENANTS="tests.test_tenants.known_tenant")
    FAIL["tenants"] = True
    for _ in range(3):
        response = api.get("/orders", tenant_token(make_token, ALPHA))
        assert assert_unavailable(response) == 5
    (record,) = errors_of(caplog)
    assert "TENANTS tests.test_tenants.known_tenant raised" in record.getMessage() and record.exc_info
    assert server.total() == 0
    FAIL["tenants"] = False
    TRUSTED.add(ALPHA)
    assert api.get("/orders", tenant_token(make_token, ALPHA)).status_code == 200


def test_tenants_returning_something_else_than_a_bool_refuses(api, make_token, server, tenants, caplog):
    tenants(TENANTS="tests.test_tenants.tenant_by_name")
    response = api.get("/orders", tenant_token(make_token, ALPHA))
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == invalid_token("iss")
    (record,) = errors_of(caplog)
    assert "returned a object for tenant alpha, not True or False" in record.getMessage()
    assert server.total() == 0


# --- JWT_AT_ISSUER_RESOLVER ----------------------------------------------------------------------


@pytest.fixture
def resolver(fx: Any, server: Any, keys: Any) -> str:
    """The resolver alone (JWT_AT_ISSUERS empty); it trusts nothing until RESOLVED says so."""
    fx.settings.JWT_AT_ISSUERS = {}
    fx.settings.JWT_AT_ISSUER_RESOLVER = "tests.test_tenants.resolve_issuer"
    server.route(jwks_path(ALPHA), {"keys": [keys["rsa-1"].public_jwk(alg="RS256")]})
    return "https://okta.example.com/oauth2/alpha"


def test_resolver_options_are_used(api, make_token, server, resolver, clock):
    RESOLVED[resolver] = {**providers.OKTA, "AUDIENCE": FX_AUD, "JWKS_URI": server.url(jwks_path(ALPHA))}
    token = make_token({"typ": ABSENT}, {"iss": resolver, "cid": "c", "scp": ["orders:read"]})
    response = api.get("/whoami", token)
    assert response.status_code == 200, response.content
    auth = json_body(response)["auth"]
    assert (auth["issuer"], auth["tenant"], auth["client_id"], auth["scopes"]) == (resolver, None, "c", ["orders:read"])
    assert api.get("/whoami", make_token({"typ": ABSENT}, {"iss": resolver, "cid": "c"})).status_code == 200
    assert RESOLVER_ASKED == [resolver]  # remembered for JWT_AT_DYNAMIC_ISSUER_TTL
    clock.advance(61)
    assert api.get("/whoami", make_token({"typ": ABSENT}, {"iss": resolver, "cid": "c"})).status_code == 200
    assert RESOLVER_ASKED == [resolver, resolver]


def test_resolver_returning_none_is_401_logged_without_any_request(api, make_token, server, resolver, caplog):
    response = api.get("/orders", make_token(claims={"iss": resolver}))
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == invalid_token("iss")
    assert server.total() == 0
    (record,) = [r for r in caplog.get_records("call") if r.name == "django_jwt_at" and r.levelno >= logging.INFO]
    assert (record.levelno, record.reason, record.issuer) == (logging.WARNING, "untrusted_issuer", None)
    assert errors_of(caplog) == []


@pytest.mark.parametrize(
    "options",
    [
        "https://as.example.com",
        {"JWKS_URI": "http://127.0.0.1:9/jwks"},
        {"AUDIENCE": FX_AUD, "ALGORITHMS": ["HS256"]},
        {"AUDIENCE": FX_AUD, "TENANTS": "tests.test_tenants.known_tenant"},
        {"AUDIENCE": FX_AUD, "TOKEN_TYPES": ["application/custom+jwt"]},
        {"AUDIENCE": FX_AUD, "UNKNOWN": 1},
    ],
    ids=["not-a-dict", "no-audience", "hmac", "template-option", "token-type", "unknown-option"],
)
def test_resolver_returning_bad_options_is_401_with_one_error_record(
    api, make_token, server, resolver, caplog, options
):
    RESOLVED[resolver] = options
    for _ in range(2):  # the refusal is remembered: one record
        response = api.get("/orders", make_token(claims={"iss": resolver}))
        assert response.status_code == 401
        assert response["WWW-Authenticate"] == invalid_token("iss")
    (record,) = errors_of(caplog)
    assert record.getMessage().startswith(
        f"JWT_AT_ISSUER_RESOLVER returned unusable options for issuer {resolver}, which is refused: "
    )
    assert server.total() == 0


def test_resolver_raising_is_503(api, make_token, server, resolver, caplog):
    FAIL["resolver"] = True
    assert_unavailable(api.get("/orders", make_token(claims={"iss": resolver})))
    assert len(errors_of(caplog)) == 1


def test_resolver_is_asked_only_about_issuer_identifiers(api, make_token, resolver):
    for value in ("not a url", "https://as.example.com/?q=1", "ftp://as.example.com", "https://as.example.com#x"):
        assert api.get("/orders", make_token(claims={"iss": value})).status_code == 401
    assert RESOLVER_ASKED == []


def test_templates_come_before_the_resolver(api, make_token, server, tenants, settings):
    settings.JWT_AT_ISSUER_RESOLVER = "tests.test_tenants.resolve_issuer"
    tenants(TENANTS="tests.test_tenants.known_tenant")
    assert api.get("/orders", tenant_token(make_token, ALPHA)).status_code == 401
    assert (ASKED, RESOLVER_ASKED) == ([ALPHA], [])  # the template decided


# --- bounds --------------------------------------------------------------------------------------


def test_1000_random_tenants_cost_at_most_the_configured_fetches(
    api, make_token, server, tenants, settings, clock, caplog
):
    settings.JWT_AT_NEW_ISSUERS_PER_MINUTE = 5
    assert api.get("/orders", tenant_token(make_token, ALPHA)).status_code == 200  # known before the flood
    statuses: Counter[int] = Counter()
    for i in range(1000):
        clock.advance(0.05)  # 1,000 tokens in 50 s: within one minute
        response = api.get("/orders", tenant_token(make_token, uuid.uuid4().hex, key="rsa-1"))
        statuses[response.status_code] += 1
        if response.status_code == 503:
            assert 1 <= assert_unavailable(response) <= 60
        if i % 100 == 0:  # a known tenant is unaffected
            assert api.get("/orders", tenant_token(make_token, ALPHA)).status_code == 200
    fetches = tenant_fetches(server)
    assert fetches[ALPHA] == 1
    assert sum(fetches.values()) == 5  # the admissions of the minute, alpha's included: no more
    assert statuses == {503: 1000}  # those admitted find no key set (404) and are 503 too
    (warning,) = [r for r in caplog.get_records("call") if r.name == "django_jwt_at.tenants"]
    assert warning.levelno == logging.WARNING
    assert warning.getMessage().startswith("More than 5 new issuers a minute (JWT_AT_NEW_ISSUERS_PER_MINUTE)")
    # A new, real tenant waits for the window like the flood; then it is served.
    response = api.get("/orders", tenant_token(make_token, BETA))
    assert response.status_code == 503
    clock.advance(int(response["Retry-After"]))
    assert api.get("/orders", tenant_token(make_token, BETA)).status_code == 200


def test_a_new_tenant_found_in_the_shared_cache_needs_no_admission(api, make_token, server, tenants, settings):
    settings.JWT_AT_NEW_ISSUERS_PER_MINUTE = 1
    assert api.get("/orders", tenant_token(make_token, ALPHA)).status_code == 200
    key_sets.clear()  # a new worker: the key set is in the shared cache, not in memory
    assert api.get("/orders", tenant_token(make_token, ALPHA)).status_code == 200
    assert api.get("/orders", tenant_token(make_token, BETA)).status_code == 200  # the one admission
    assert tenant_fetches(server) == {ALPHA: 1, BETA: 1}


def test_lru_bound_on_dynamic_key_sets(api, make_token, server, tenants, settings, keys):
    settings.JWT_AT_MAX_DYNAMIC_ISSUERS = 3
    names = [f"t{i}" for i in range(6)]
    for name in names:
        server.route(jwks_path(name), {"keys": [keys["rsa-1"].public_jwk(alg="RS256")]})
        assert api.get("/orders", tenant_token(make_token, name, key="rsa-1")).status_code == 200
        assert len(key_sets.dynamic_issuers()) <= 3
    assert key_sets.dynamic_issuers() == [iss(n) for n in names[3:]]
    # t3 used again: t4 is now the least recently used and leaves for t0.
    assert api.get("/orders", tenant_token(make_token, "t3", key="rsa-1")).status_code == 200
    assert api.get("/orders", tenant_token(make_token, "t0", key="rsa-1")).status_code == 200
    assert key_sets.dynamic_issuers() == [iss("t5"), iss("t3"), iss("t0")]
    assert tenant_fetches(server) == dict.fromkeys(names, 1)  # t0 came back from the shared cache
    assert len(dynamic_issuers._trusted) <= 3  # the remembered answers are bounded too


def test_key_sets_never_obtained_leave_first(api, make_token, server, tenants, settings, keys):
    settings.JWT_AT_MAX_DYNAMIC_ISSUERS = 2
    assert api.get("/orders", tenant_token(make_token, ALPHA)).status_code == 200
    assert api.get("/orders", tenant_token(make_token, "missing", key="rsa-1")).status_code == 503  # 404
    assert api.get("/orders", tenant_token(make_token, BETA)).status_code == 200
    assert key_sets.dynamic_issuers() == [iss(ALPHA), iss(BETA)]


# --- signals and logs ----------------------------------------------------------------------------


def test_signals_and_records_carry_the_tenant(api, make_token, server, tenants, recorder, caplog):
    tenants(TENANTS="tests.test_tenants.known_tenant")
    TRUSTED.add(ALPHA)
    assert api.get("/orders", tenant_token(make_token, ALPHA)).status_code == 200
    assert api.get("/orders", tenant_token(make_token, ALPHA, exp=int(NOW) - 3600)).status_code == 401
    assert api.post("/orders", tenant_token(make_token, ALPHA, scope="orders:read")).status_code == 403
    assert api.get("/orders", tenant_token(make_token, BETA)).status_code == 401  # TENANTS says no
    (validated, *_) = recorder.of(access_token_validated)
    assert (validated["issuer"], validated["tenant"], validated["token"].tenant) == (iss(ALPHA), ALPHA, ALPHA)
    rejected = [(k["reason"], k["issuer"], k["tenant"]) for k in recorder.of(access_token_rejected)]
    assert rejected == [
        ("expired", iss(ALPHA), ALPHA),
        ("insufficient_scope", iss(ALPHA), ALPHA),
        ("untrusted_issuer", None, None),
    ]
    audit = [r for r in caplog.get_records("call") if r.name == "django_jwt_at"]
    assert [(r.reason, r.issuer, r.tenant) for r in audit] == [
        ("validated", iss(ALPHA), ALPHA),
        ("expired", iss(ALPHA), ALPHA),
        ("validated", iss(ALPHA), ALPHA),
        ("insufficient_scope", iss(ALPHA), ALPHA),
        ("untrusted_issuer", None, None),
    ]


# --- configuration -------------------------------------------------------------------------------


def check_ids(settings: Any, issuers: Any, **more: Any) -> list[str]:
    settings.JWT_AT_ISSUERS = issuers
    for name, value in more.items():
        setattr(settings, name, value)
    ids = sorted({m.id for m in our_messages()})
    if any(i.startswith("django_jwt_at.E") for i in ids):
        with pytest.raises(ImproperlyConfigured):
            get_config()
    return ids


A = {"AUDIENCE": FX_AUD}


@pytest.mark.parametrize(
    ("key", "options"),
    [
        ("https://{tenant}.example.com/v2.0", A),
        ("https://login.example.com:{tenant}/v2.0", A),
        ("https://login.example.com/t-{tenant}/v2.0", A),
        ("https://login.example.com/{tenant}x", A),
        ("https://login.example.com/{tenant}/{tenant}", A),
        ("https://login.example.com/{tenant}/{realm}", A),
        ("https://login.example.com/{realm}", A),
        ("https://login.example.com/{tenant}/v2.0", {**A, "JWKS_URI": "https://{tenant}.example.com/keys"}),
        ("https://login.example.com/{tenant}/v2.0", {**A, "JWKS_URI": "https://k.example.com/{tenant}/{x}"}),
        ("https://login.example.com/{tenant}/v2.0", {**A, "TENANT_PATTERN": "[a-z"}),
        ("https://login.example.com/{tenant}/v2.0", {**A, "TENANT_PATTERN": ""}),
        ("https://login.example.com/{tenant}/v2.0", {**A, "TENANT_PATTERN": 3}),
        ("https://as.example.com", {**A, "TENANT_PATTERN": "uuid"}),
        ("https://as.example.com", {**A, "TENANTS": "tests.test_tenants.known_tenant"}),
    ],
    ids=[
        "host",
        "port",
        "part-of-a-segment",
        "segment-suffix",
        "twice",
        "other-placeholder",
        "unknown-placeholder",
        "jwks-uri-host",
        "jwks-uri-other-brace",
        "bad-regex",
        "empty-pattern",
        "pattern-not-a-string",
        "pattern-on-exact-issuer",
        "tenants-on-exact-issuer",
    ],
)
def test_E046_invalid_templates(settings, key, options):
    ids = check_ids(settings, {key: options})
    # A placeholder for the port is not a port number either (E002).
    assert ids == (["django_jwt_at.E002", "django_jwt_at.E046"] if ":{" in key else ["django_jwt_at.E046"])


def test_E046_messages_name_the_reason(settings):
    settings.JWT_AT_ISSUERS = {"https://{tenant}.example.com/": A}
    (message,) = our_messages()
    assert message.msg == (
        "The issuer template 'https://{tenant}.example.com/' is not valid: the placeholder {tenant} must be in "
        "the path, never in the scheme or host."
    )


def test_template_options_are_checked_as_any_issuer_options(settings):
    key = "https://login.example.com/{tenant}/v2.0"
    assert check_ids(settings, {key: {"AUDIENCE": FX_AUD, "ALGORITHMS": ["HS256"]}}) == ["django_jwt_at.E004"]
    assert check_ids(settings, {"http://login.example.com/{tenant}": A}) == ["django_jwt_at.E002"]
    assert check_ids(settings, {key: {}}) == ["django_jwt_at.E003"]
    assert check_ids(settings, {key: {**A, "JWKS_URI": "https://k.example.com/{tenant}/keys"}}) == []
    assert check_ids(settings, {key: {**A, "JWKS_URI": "https://k.example.com/keys?tenant={tenant}"}}) == []
    assert check_ids(settings, {key: {**providers.ENTRA_ID, **A}}) == ["django_jwt_at.W002"]


@pytest.mark.parametrize(
    ("first", "second", "overlap"),
    [
        ("https://h.example/{tenant}/v2.0", "https://h.example/common/{tenant}", True),
        ("https://h.example/{tenant}/v2.0", "https://h.example/{tenant}/v2.0/", False),
        ("https://h.example/a/{tenant}", "https://h.example/b/{tenant}", False),
        ("https://h.example/{tenant}", "https://h.example/{tenant}/v2.0", False),
        ("https://h.example/{tenant}", "https://g.example/{tenant}", False),
        ("https://h.example/{tenant}/v2.0", "https://h.example/{tenant}/v1.0", False),
    ],
    ids=["crossing", "trailing-slash", "different-prefix", "different-length", "different-host", "different-suffix"],
)
def test_E047_templates_that_can_match_one_iss(settings, first, second, overlap):
    issuers = {first: A, second: {**A, "ALGORITHMS": ["ES256"]}}
    assert check_ids(settings, issuers) == (["django_jwt_at.E047"] if overlap else [])


def test_E047_not_when_a_pattern_keeps_them_apart(settings):
    issuers = {
        "https://h.example/{tenant}/v2.0": {**A, "TENANT_PATTERN": "uuid"},
        "https://h.example/common/{tenant}": A,
    }
    assert check_ids(settings, issuers) == []


@pytest.mark.parametrize(
    ("setting", "value"),
    [
        ("JWT_AT_ISSUER_RESOLVER", "tests.test_tenants.no_such_function"),
        ("JWT_AT_ISSUER_RESOLVER", "tests.test_tenants.NOT_CALLABLE"),
        ("JWT_AT_ISSUER_RESOLVER", 42),
    ],
    ids=["missing", "not-callable", "not-a-path"],
)
def test_E048_resolver_not_a_callable(settings, setting, value):
    assert check_ids(settings, {FX_ISS: A}, **{setting: value}) == ["django_jwt_at.E048"]


def test_E048_tenants_not_a_callable(settings):
    issuers = {TEMPLATE: {**A, "TENANTS": "tests.test_tenants.nothing_here"}}
    assert check_ids(settings, issuers) == ["django_jwt_at.E048"]


@pytest.mark.parametrize(
    ("setting", "value"),
    [
        ("JWT_AT_MAX_DYNAMIC_ISSUERS", 0),
        ("JWT_AT_MAX_DYNAMIC_ISSUERS", True),
        ("JWT_AT_NEW_ISSUERS_PER_MINUTE", 0),
        ("JWT_AT_NEW_ISSUERS_PER_MINUTE", "10"),
        ("JWT_AT_DYNAMIC_ISSUER_TTL", 0),
        ("JWT_AT_DYNAMIC_ISSUER_TTL", 86401),
    ],
)
def test_E049_bounds(settings, setting, value):
    assert check_ids(settings, {FX_ISS: A}, **{setting: value}) == ["django_jwt_at.E049"]


def test_empty_issuers_with_a_resolver_is_valid(settings):
    assert check_ids(settings, {}, JWT_AT_ISSUER_RESOLVER="tests.test_tenants.resolve_issuer") == []
    assert check_ids(settings, {}, JWT_AT_ISSUER_RESOLVER=None) == ["django_jwt_at.E001"]


def test_E052_a_template_whose_issuers_may_be_too_long_for_the_model_mapping(settings):
    settings.JWT_AT_USER_MAPPING = "django_jwt_at.users.ModelUserMapping"
    key = "https://login.example.com/" + "p" * 120 + "/{tenant}"
    assert check_ids(settings, {key: A}) == ["django_jwt_at.E052"]
    assert check_ids(settings, {key: {**A, "TENANT_PATTERN": "uuid"}}) == []


# --- the shared cache across processes -----------------------------------------------------------


@needs_redis
def test_two_worker_processes_on_one_redis_share_each_tenant_key_set(make_token, server, keys, tenants, redis_server):
    import redis

    redis_server.flush()
    # The fetch is slow, so that the two cold workers meet while it is in flight.
    server.route(jwks_path(ALPHA), {"keys": [keys["rsa-1"].public_jwk(alg="RS256")]}, delay=0.3)
    django_settings = {
        "SECRET_KEY": "worker",
        "INSTALLED_APPS": ["django_jwt_at"],
        "USE_TZ": True,
        "CACHES": {"default": redis_server.cache_settings()},
        "JWT_AT_ISSUERS": {TEMPLATE: template_options(server)},
        "JWT_AT_HTTP_TIMEOUT": 5,
    }
    tokens = [tenant_token(make_token, tenant) for tenant in (ALPHA, BETA) * 10]
    outcomes = run_validate_workers(django_settings, [tokens, tokens], NOW, 1.0)
    assert len({pid for pid, _ in outcomes}) == 2
    assert [o for _, o in outcomes] == [["ok"] * 20] * 2
    assert tenant_fetches(server) == {ALPHA: 1, BETA: 1}  # one fetch per tenant for both workers
    # One signed entry per tenant's JWKS URL.
    client = redis.Redis.from_url(redis_server.url)
    for tenant in (ALPHA, BETA):
        assert client.exists(":1:" + cache_key("jwks", server.url(jwks_path(tenant))))


# --- the registry alone --------------------------------------------------------------------------


def test_registry_current_and_cached_do_not_keep_or_admit(make_token, server, tenants, settings):
    settings.JWT_AT_NEW_ISSUERS_PER_MINUTE = 1
    config = get_config()
    issuer = dynamic_issuers.resolve(iss(ALPHA), config, NOW)
    assert issuer is not None and issuer.tenant == ALPHA and issuer.dynamic
    registry = KeySetRegistry()
    assert registry.current(issuer) is None
    assert registry.cached(issuer, config) is None  # nothing fetched, nothing kept
    assert registry.dynamic_issuers() == []
    validate_access_token(tenant_token(make_token, ALPHA), config=config, key_sets=registry, now=NOW)
    assert registry.current(issuer) is not None
    assert registry.dynamic_issuers() == [iss(ALPHA)]


# --- manage.py jwt_at_inspect --------------------------------------------------------------------


def test_inspect_offline_and_with_fetch_for_a_tenant(make_token, server, tenants):
    import io

    from django.core.management import CommandError, call_command

    def inspect(*args: str, token: str) -> tuple[str, int]:
        out = io.StringIO()
        try:
            call_command("jwt_at_inspect", *args, "-", stdout=out, input_stream=io.StringIO(token))
        except CommandError as exc:
            return out.getvalue(), exc.returncode
        return out.getvalue(), 0

    token = tenant_token(make_token, ALPHA, exp=int(NOW) - 120)
    output, status = inspect(token=token)  # offline: claims checked unverified
    assert status == 1 and "PASS  issuer: https://login.example.com/alpha/v2.0" in output
    assert "FAIL  exp" in output and server.total() == 0
    output, status = inspect("--fetch", token=tenant_token(make_token, ALPHA))
    assert status == 0 and output.splitlines()[-1] == "Result: VALID"
    assert tenant_fetches(server) == {ALPHA: 1}


# --- manage.py jwt_at_keys -----------------------------------------------------------------------


def test_keys_command_warms_a_named_tenant_and_refuses_an_untrusted_one(api, make_token, server, tenants):
    import io

    from django.core.management import CommandError, call_command

    tenants(TENANTS="tests.test_tenants.known_tenant")
    TRUSTED.add(ALPHA)
    out = io.StringIO()
    call_command("jwt_at_keys", "--refresh", iss(ALPHA), stdout=out)
    assert out.getvalue().splitlines()[:2] == [f"Issuer {iss(ALPHA)}", f"  jwks_uri: {server.url(jwks_path(ALPHA))}"]
    assert tenant_fetches(server) == {ALPHA: 1}
    key_sets.clear()  # a worker: the warmed shared cache serves it, no fetch
    assert api.get("/orders", tenant_token(make_token, ALPHA)).status_code == 200
    assert tenant_fetches(server) == {ALPHA: 1}
    with pytest.raises(CommandError, match=f"Not in JWT_AT_ISSUERS: {iss(BETA)}"):
        call_command("jwt_at_keys", iss(BETA), stdout=io.StringIO())
    assert tenant_fetches(server) == {ALPHA: 1}


@needs_redis
def test_32_threads_meeting_a_new_tenant_cost_one_admission_and_one_fetch(
    make_token, server, keys, tenants, settings, redis_server
):
    import threading

    redis_server.flush()
    settings.CACHES = {"default": redis_server.cache_settings()}  # shared-cache reads release the GIL
    settings.JWT_AT_NEW_ISSUERS_PER_MINUTE = 1
    server.route(jwks_path(ALPHA), {"keys": [keys["rsa-1"].public_jwk(alg="RS256")]}, delay=0.3)
    config = get_config()
    barrier = threading.Barrier(32)
    outcomes: list[str] = []

    def worker(token: str) -> None:
        barrier.wait(10)
        try:
            outcomes.append(validate_access_token(token, config=config, key_sets=key_sets, now=NOW).subject)
        except Exception as exc:
            outcomes.append(type(exc).__name__)

    threads = [threading.Thread(target=worker, args=(tenant_token(make_token, ALPHA),)) for _ in range(32)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(20)
    assert outcomes == ["user-123"] * 32
    assert tenant_fetches(server) == {ALPHA: 1}


# --- FAPI 2.0 ------------------------------------------------------------------------------------


@pytest.fixture
def fapi(settings: Any) -> Any:
    """A compliant FAPI 2.0 resource server (as tests/test_fapi2.py builds it)."""
    from .dpop_proofs import RS

    settings.JWT_AT_FAPI2 = True
    settings.JWT_AT_ISSUERS = {
        FX_ISS: {"AUDIENCE": FX_AUD, "JWKS_URI": "https://as.example.com/jwks", "ALGORITHMS": ["PS256"]}
    }
    settings.JWT_AT_REQUIRE_SENDER_CONSTRAINED = True
    settings.JWT_AT_DPOP = "optional"
    settings.JWT_AT_RESOURCE_URL = RS
    return settings


def test_fapi2_rules_apply_to_templates(fapi):
    fapi.JWT_AT_ISSUERS = {**fapi.JWT_AT_ISSUERS, TEMPLATE: {**A, "ALGORITHMS": ["RS256"]}}
    assert [m.msg for m in our_messages() if m.id == "django_jwt_at.E045"] == [
        f"FAPI 2.0: JWT_AT_ISSUERS[{TEMPLATE!r}]['ALGORITHMS'] allows ['RS256']."
    ]
    fapi.JWT_AT_ISSUERS = {**fapi.JWT_AT_ISSUERS, TEMPLATE: {**A, "ALGORITHMS": ["PS256"]}}
    assert our_messages() == []


def test_fapi2_rules_apply_to_resolver_options(fapi, caplog):
    fapi.JWT_AT_ISSUER_RESOLVER = "tests.test_tenants.resolve_issuer"
    issuer = "https://okta.example.com/oauth2/alpha"
    RESOLVED[issuer] = {**A, "ALGORITHMS": ["RS256"], "JWKS_URI": "https://okta.example.com/keys"}
    assert dynamic_issuers.resolve(issuer, get_config(), NOW) is None
    (record,) = errors_of(caplog)
    assert record.getMessage().endswith(
        f"which is refused: E045: FAPI 2.0: JWT_AT_ISSUERS[{issuer!r}]['ALGORITHMS'] allows ['RS256']."
    )
    dynamic_issuers.clear()
    RESOLVED[issuer] = {**A, "ALGORITHMS": ["PS256"], "JWKS_URI": "https://okta.example.com/keys"}
    assert dynamic_issuers.resolve(issuer, get_config(), NOW) is not None
