"""How ``authenticate_request`` reads a request: the shortcut for the common case
("Bearer <b64token>", no other credentials) decides exactly as the general path, the
header pattern and ``select_token``, would: same token, same error, same challenge."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import RequestFactory
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import django_jwt_at.request_auth as request_auth
from django_jwt_at.bearer import credentials_from_header
from django_jwt_at.conf import get_config
from django_jwt_at.errors import ProtocolError
from django_jwt_at.token_cache import verified_tokens

_PROPERTY = settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
# b64token characters, "=", and what must not be taken for them.
_ALPHABET = "AZaz09-._~+/=" + " \t,;:\"'\\\x00é€" + "Bb"
values = st.text(alphabet=_ALPHABET, max_size=40)


@_PROPERTY
@given(raw=values, dpop=st.booleans())
@example(raw="", dpop=True)
@example(raw="=", dpop=True)
@example(raw="a=b", dpop=True)
@example(raw=" abc", dpop=False)
@example(raw="abc ", dpop=False)
@example(raw="abc, DPoP xyz", dpop=True)
@example(raw="abc\n", dpop=False)
def test_b64token_check_agrees_with_the_header_pattern(raw: str, dpop: bool) -> None:
    fast = request_auth._is_b64token(raw, 8192)
    try:
        pattern = credentials_from_header("Bearer " + raw, bearer=True, dpop=dpop)
    except ProtocolError:
        pattern = None
    if fast:
        assert pattern == ("Bearer", raw)
    elif pattern == ("Bearer", raw):
        pytest.fail(f"the check refuses a b64token the pattern accepts: {raw!r}")


def test_b64token_check_leaves_oversized_values_to_the_pattern() -> None:
    assert request_auth._is_b64token("a" * 8192, 8192)
    assert not request_auth._is_b64token("a" * 8193, 8192)


def _outcome(request: Any, mode: str | None) -> tuple[Any, ...]:
    config = get_config()
    try:
        token = request_auth.authenticate_request(request, config, mode=mode)
    except ProtocolError as error:
        result: tuple[Any, ...] = (type(error).__name__, error.description, error.scheme)
    else:
        result = ("none",) if token is None else ("token", dict(token.claims))
    return (*result, request_auth.challenge_context(request), getattr(request, "_django_jwt_at_query_token", False))


def _general_path(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make every request take the general path (the header pattern, select_token)."""
    monkeypatch.setattr(request_auth, "_is_b64token", lambda raw, max_size: False)
    monkeypatch.setattr(verified_tokens, "holds", lambda raw: False)


@pytest.fixture
def valid(make_token: Any) -> str:
    return make_token()


_MUTATIONS = st.sampled_from(
    [
        lambda t: t,
        lambda t: t + "=",
        lambda t: t + "==",
        lambda t: t + "~",
        lambda t: t + " ",
        lambda t: " " + t,
        lambda t: t + ", DPoP " + t,
        lambda t: t.replace(".", "=", 1),
        lambda t: t[:-1],
        lambda t: t[:-2] + ("A" if t[-2] != "A" else "B") + t[-1],
        lambda t: t + "é",
        lambda t: t.split(".", 1)[1],
        lambda t: "",
    ]
)


@_PROPERTY
@given(
    mutate=_MUTATIONS,
    prefix=st.sampled_from(["Bearer ", "bearer ", "Bearer  ", "DPoP ", "Basic ", ""]),
    mode=st.sampled_from([None, "off", "optional", "required"]),
    query=st.sampled_from(["", "a=1", "access_token=abc"]),
    methods=st.sampled_from([["header"], ["header", "query"], ["query"]]),
    cached=st.booleans(),
)
def test_shortcut_decides_as_the_general_path(
    valid: str, mutate: Any, prefix: str, mode: str | None, query: str, methods: list[str], cached: bool, settings: Any
) -> None:
    settings.JWT_AT_TOKEN_METHODS = methods
    settings.JWT_AT_DPOP = "optional"
    settings.JWT_AT_RESOURCE_URL = "https://rs.example.com"
    value = prefix + mutate(valid)
    factory = RequestFactory()

    def request() -> Any:
        return factory.get("/orders" + ("?" + query if query else ""), HTTP_AUTHORIZATION=value)

    if cached:
        _outcome(request(), mode)  # a valid token is in the verified-token cache now
    else:
        verified_tokens.clear()
    fast = _outcome(request(), mode)
    with pytest.MonkeyPatch.context() as monkeypatch:
        _general_path(monkeypatch)
        if not cached:
            verified_tokens.clear()
        general = _outcome(request(), mode)
    assert fast == general


@pytest.mark.parametrize("content_type", ["application/x-www-form-urlencoded", "application/json"])
def test_shortcut_leaves_form_bodies_to_the_general_path(valid: str, settings: Any, content_type: str) -> None:
    settings.JWT_AT_TOKEN_METHODS = ["header", "body"]
    body = f"access_token={valid}" if content_type.startswith("application/x") else "{}"
    authorization = f"Bearer {valid}"
    request = RequestFactory().post("/orders", data=body, content_type=content_type, HTTP_AUTHORIZATION=authorization)
    outcome = _outcome(request, None)
    if content_type.startswith("application/x"):
        assert outcome[:2] == ("InvalidRequest", request_auth.Description.MULTIPLE_METHODS)
    else:
        assert outcome[0] == "token"
