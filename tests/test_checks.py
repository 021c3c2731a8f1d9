"""System checks and start-up configuration errors (C-DRF-10, C-9068-12, C-8725-26, C-8414-15).

Check ids are asserted by their ``django_jwt_at.`` prefix and level only (the numbers are
still being assigned); every configuration error must also make the runtime refuse to
start through ``django_jwt_at.conf.get_config()``.
"""

from __future__ import annotations

import pytest
from django.core.checks import ERROR, WARNING
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.core.management.base import SystemCheckError

from django_jwt_at.conf import get_config

from .helpers import FX_AUD, FX_ISS, our_messages

OURS = "django_jwt_at.authentication.JWTAccessTokenAuthentication"


def assert_configuration_error():
    with pytest.raises(ImproperlyConfigured):
        get_config()
    messages = our_messages()
    errors = [m for m in messages if m.level >= ERROR]
    assert errors, messages
    assert all(m.id.startswith("django_jwt_at.E") for m in errors), errors


def test_fixture_profile_is_clean():
    assert our_messages() == []
    config = get_config()
    assert FX_ISS in config.issuers
    assert config.realm == "api" and config.leeway == 60


def test_call_command_check_passes():
    call_command("check", verbosity=0)


def test_call_command_check_fails_on_configuration_error(settings):
    settings.JWT_AT_ISSUERS = {FX_ISS: {"AUDIENCE": FX_AUD, "ALGORITHMS": ["none"]}}
    with pytest.raises(SystemCheckError, match="django_jwt_at"):
        call_command("check", verbosity=0)


def test_checks_have_their_own_tag(settings):
    call_command("check", "--tag", "django_jwt_at", verbosity=0)  # a known tag
    settings.JWT_AT_ISSUERS = {FX_ISS: {"AUDIENCE": FX_AUD, "ALGORITHMS": ["none"]}}
    with pytest.raises(SystemCheckError, match=r"django_jwt_at\.E004"):
        call_command("check", "--tag", "django_jwt_at", verbosity=0)


@pytest.mark.parametrize(
    "algorithms",
    [
        ["none"],
        ["RS256", "none"],
        ["RS256", "HS256"],
        ["HS256"],
        ["HS384", "ES256"],
        ["HS512"],
        ["RS1"],
        ["ES256K"],
        ["rs256"],
        [],
        "RS256",
        ["None"],
        [None],
    ],
    ids=[
        "C-DRF-10-none",
        "C-DRF-10-none-mixed",
        "C-DRF-10-hs256-mixed",
        "C-DRF-10-hs256",
        "C-DRF-10-hs384-mixed",
        "C-DRF-10-hs512",
        "C-DRF-10-unknown",
        "C-DRF-10-es256k",
        "C-DRF-10-lowercase",
        "C-DRF-10-empty",
        "C-DRF-10-string",
        "C-DRF-10-None-string",
        "C-DRF-10-null",
    ],
)
def test_C_DRF_10_algorithms(fx, algorithms):
    fx.configure(ALGORITHMS=algorithms)
    assert_configuration_error()


@pytest.mark.parametrize(
    "audience",
    [None, "", [], [""], 42],
    ids=[
        "C-DRF-10-audience-none",
        "C-DRF-10-audience-empty",
        "C-DRF-10-audience-empty-list",
        "C-DRF-10-audience-list-empty",
        "C-DRF-10-audience-number",
    ],
)
def test_C_DRF_10_empty_audience(fx, audience):
    fx.configure(AUDIENCE=audience)
    assert_configuration_error()


@pytest.mark.parametrize(
    "issuer,jwks_uri",
    [
        ("http://as.example.com", "https://as.example.com/jwks"),
        ("https://as.example.com", "http://as.example.com/jwks"),
        ("http://as.example.com", None),
        ("https://as.example.com?x=1", None),
        ("https://as.example.com#f", None),
        ("https://as.example.com", "ftp://as.example.com/jwks"),
        ("https://as.example.com", "not a url"),
        ("http://10.0.0.1", None),
        ("http://127.0.0.1.example.com", None),
    ],
    ids=[
        "C-DRF-10-http-issuer",
        "C-DRF-10-http-jwks-uri",
        "C-DRF-10-http-issuer-discovery",
        "C-DRF-10-issuer-query",
        "C-DRF-10-issuer-fragment",
        "C-DRF-10-jwks-ftp",
        "C-DRF-10-jwks-garbage",
        "C-DRF-10-private-ip",
        "C-DRF-10-loopback-lookalike",
    ],
)
def test_C_DRF_10_https_required(settings, issuer, jwks_uri):
    options = {"AUDIENCE": FX_AUD}
    if jwks_uri:
        options["JWKS_URI"] = jwks_uri
    settings.JWT_AT_ISSUERS = {issuer: options}
    assert_configuration_error()


@pytest.mark.parametrize(
    "issuer,options",
    [
        ("http://127.0.0.1:8000", {}),
        ("http://localhost:8000/realms/x", {}),
        ("http://[::1]:8000", {}),
        ("https://as.example.com", {"JWKS_URI": "http://127.0.0.1:9/jwks"}),
        ("http://as.example.com", {"ALLOW_HTTP": True, "JWKS_URI": "http://as.example.com/jwks"}),
        ("https://as.example.com", {"JWKS_URI": "https://as.example.com/jwks?tenant=1"}),
    ],
    ids=[
        "C-DRF-10-ok-loopback",
        "C-DRF-10-ok-localhost",
        "C-DRF-10-ok-ipv6-loopback",
        "C-DRF-10-ok-loopback-jwks",
        "C-DRF-10-ok-allow-http",
        "C-DRF-10-ok-jwks-query",
    ],
)
def test_C_DRF_10_http_allowed_where_safe(settings, issuer, options):
    settings.JWT_AT_ISSUERS = {issuer: {"AUDIENCE": FX_AUD, **options}}
    assert our_messages() == []
    assert issuer in get_config().issuers


def test_C_DRF_10_allow_http_must_be_bool(settings):
    settings.JWT_AT_ISSUERS = {"http://as.example.com": {"AUDIENCE": FX_AUD, "ALLOW_HTTP": "yes"}}
    assert_configuration_error()


@pytest.mark.parametrize(
    "leeway",
    [301, 3600, -1, "60", None, True],
    ids=[
        "C-DRF-10-leeway-301",
        "C-DRF-10-leeway-3600",
        "C-DRF-10-leeway-negative",
        "C-DRF-10-leeway-string",
        "C-DRF-10-leeway-none",
        "C-DRF-10-leeway-bool",
    ],
)
def test_C_DRF_10_leeway(settings, leeway):
    settings.JWT_AT_LEEWAY = leeway
    assert_configuration_error()


@pytest.mark.parametrize(
    "issuers",
    [None, {}, [], {"https://as.example.com": "https://rs.example.com"}],
    ids=["C-DRF-10-issuers-none", "C-DRF-10-issuers-empty", "C-DRF-10-issuers-list", "C-DRF-10-issuer-options-string"],
)
def test_C_DRF_10_issuers_shape(settings, issuers):
    settings.JWT_AT_ISSUERS = issuers
    assert_configuration_error()


def test_C_DRF_10_issuers_missing(settings):
    del settings.JWT_AT_ISSUERS
    assert_configuration_error()


@pytest.mark.parametrize(
    "realm",
    ["", 'a"b', "a\\b", "caf\u00e9", "a\nb", 42, None],
    ids=[
        "realm-empty",
        "realm-quote",
        "realm-backslash",
        "realm-non-ascii",
        "realm-newline",
        "realm-number",
        "realm-none",
    ],
)
def test_bad_realm(settings, realm):
    settings.JWT_AT_REALM = realm
    assert_configuration_error()


@pytest.mark.parametrize(
    "methods",
    [["cookie"], [], "header", ["header", "HEADER"], None],
    ids=["methods-unknown", "methods-empty", "methods-string", "methods-case", "methods-none"],
)
def test_bad_token_methods(settings, methods):
    settings.JWT_AT_TOKEN_METHODS = methods
    assert_configuration_error()


@pytest.mark.parametrize(
    "uri",
    [
        "not a uri",
        'https://docs.example.com/"x"',
        "https://docs.example.com/\\x",
        "docs",
        42,
        "https://docs.example.com/caf\u00e9",
    ],
    ids=[
        "error-uri-space",
        "error-uri-quote",
        "error-uri-backslash",
        "error-uri-relative",
        "error-uri-number",
        "error-uri-non-ascii",
    ],
)
def test_bad_error_uri(settings, uri):
    settings.JWT_AT_ERROR_URI = uri
    assert_configuration_error()


def test_good_error_uri(settings):
    settings.JWT_AT_ERROR_URI = "https://docs.example.com/errors#token"
    assert our_messages() == []
    assert get_config().error_uri == "https://docs.example.com/errors#token"


def test_query_method_without_middleware_is_an_error(settings):
    settings.JWT_AT_TOKEN_METHODS = ["header", "query"]
    assert our_messages() == []
    settings.MIDDLEWARE = [m for m in settings.MIDDLEWARE if "django_jwt_at" not in m]
    errors = [m for m in our_messages() if m.level >= ERROR]
    assert errors


def test_W001_not_first_authentication_class(settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_AUTHENTICATION_CLASSES": ["rest_framework.authentication.SessionAuthentication", OURS],
    }
    messages = our_messages()
    assert [m.id for m in messages] == ["django_jwt_at.W001"]
    assert messages[0].level == WARNING


def test_W001_subclass_first_is_fine(settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_AUTHENTICATION_CLASSES": [
            "tests.views.LocalUserAuthentication",
            "rest_framework.authentication.SessionAuthentication",
        ],
    }
    assert our_messages() == []


def test_W001_first_is_fine(settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_AUTHENTICATION_CLASSES": [OURS, "rest_framework.authentication.SessionAuthentication"],
    }
    assert our_messages() == []


def test_settings_are_read_lazily_and_follow_changes(settings, fx):
    assert get_config().leeway == 60
    settings.JWT_AT_LEEWAY = 10
    assert get_config().leeway == 10
    settings.JWT_AT_REALM = "other"
    assert get_config().realm == "other"


def _readme_settings() -> dict:
    """The settings block of README.md, as a user pastes it (INSTALLED_APPS aside)."""
    import re
    from pathlib import Path

    readme = Path(__file__).resolve().parent.parent / "README.md"
    blocks = re.findall(r"```python\n(.*?)```", readme.read_text(encoding="utf-8"), re.DOTALL)
    (block,) = [b for b in blocks if "JWT_AT_ISSUERS" in b]
    namespace: dict = {}
    exec(block, namespace)
    return {k: v for k, v in namespace.items() if k.isupper() and k != "INSTALLED_APPS"}


def test_readme_settings_pass_the_checks_without_a_message(settings):
    """Pasted into a new project (default cache, no DPoP settings), the README's block
    gives manage.py check nothing to say, and challenges are Bearer-only."""
    from django.test import Client

    readme = _readme_settings()
    assert set(readme) == {"REST_FRAMEWORK", "JWT_AT_ISSUERS"}
    for name in [n for n in dir(settings) if n.startswith("JWT_AT_")]:
        delattr(settings, name)
    for name, value in readme.items():
        setattr(settings, name, value)
    settings.SILENCED_SYSTEM_CHECKS = []
    settings.ROOT_URLCONF = "tests.plain_urls"
    assert our_messages() == []
    assert get_config().dpop_mode == "off"
    response = Client().get("/orders")
    assert (response.status_code, response["WWW-Authenticate"]) == (401, 'Bearer realm="api"')


def test_the_settings_reader_imports_no_user_mapping():
    """The reader names the mapping by dotted path: importing it loads neither the user
    mappings nor the models (no import cycle through users.py)."""
    import subprocess
    import sys

    code = (
        "import sys, django_jwt_at.conf; "
        "assert not {'django_jwt_at.users', 'django_jwt_at.models', 'django_jwt_at.tokens'} & set(sys.modules)"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
    assert get_config().user_mapping == "django_jwt_at.users.StatelessUserMapping"
