"""Input limits (JWT_AT_MAX_TOKEN_SIZE, JWT_AT_MAX_HEADER_SIZE, JWT_AT_MAX_JSON_DEPTH):
checked before decoding, answered 401 invalid_token "malformed", configurable, checked."""

from __future__ import annotations

import json

import pytest
from django.core.checks import run_checks
from django.core.exceptions import ImproperlyConfigured
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from django_jwt_at.conf import get_config

from .helpers import invalid_token


def _nested(depth: int) -> dict:
    value: object = "x"
    for _ in range(depth - 1):
        value = [value]
    return {"deep": value}


def test_token_over_max_size_is_malformed(api, make_token, settings):
    token = make_token(claims={"pad": "x" * 600})
    assert api.get("/orders", token).status_code == 200
    settings.JWT_AT_MAX_TOKEN_SIZE = len(token) - 1
    response = api.get("/orders", token)
    assert (response.status_code, response["WWW-Authenticate"]) == (401, invalid_token("malformed-token"))


def test_header_over_max_size_is_malformed(api, make_token, settings):
    token = make_token(header={"x-pad": "y" * 200})
    assert api.get("/orders", token).status_code == 200
    settings.JWT_AT_MAX_HEADER_SIZE = len(token.split(".")[0]) - 1
    response = api.get("/orders", token)
    assert (response.status_code, response["WWW-Authenticate"]) == (401, invalid_token("malformed-token"))


@pytest.mark.parametrize("where", ["claims", "header"])
def test_json_nested_deeper_than_the_limit_is_malformed(api, make_token, settings, where):
    settings.JWT_AT_MAX_JSON_DEPTH = 6
    ok = make_token(**{where: _nested(6)})  # the enclosing object is one of the six levels
    too_deep = make_token(**{where: _nested(7)})
    assert api.get("/orders", ok).status_code == 200
    response = api.get("/orders", too_deep)
    assert (response.status_code, response["WWW-Authenticate"]) == (401, invalid_token("malformed-token"))


def test_brackets_inside_strings_do_not_count_as_nesting(api, make_token, settings):
    settings.JWT_AT_MAX_JSON_DEPTH = 2
    assert api.get("/orders", make_token(claims={"note": '[[[[{{{{ \\" ]]'})).status_code == 200


def test_very_deep_nesting_is_malformed_not_a_server_error(api, make_token):
    response = api.get("/orders", make_token(claims={"deep": "[" * 5000}), secrets=[])
    assert response.status_code == 200  # inside a string: fine
    body = '{"iss":"https://as.example.com","x":' + "[" * 3000 + "]" * 3000 + "}"
    response = api.get("/orders", make_token(payload=body))
    assert (response.status_code, response["WWW-Authenticate"]) == (401, invalid_token("malformed-token"))


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("JWT_AT_MAX_TOKEN_SIZE", 100),
        ("JWT_AT_MAX_TOKEN_SIZE", "8192"),
        ("JWT_AT_MAX_HEADER_SIZE", 10**6),
        ("JWT_AT_MAX_JSON_DEPTH", 1),
        ("JWT_AT_MAX_JSON_DEPTH", True),
    ],
)
def test_limits_out_of_range_are_E016(settings, name, value):
    setattr(settings, name, value)
    ids = [m.id for m in run_checks()]
    assert "django_jwt_at.E016" in ids
    with pytest.raises(ImproperlyConfigured):
        get_config()


def _depth(value: object) -> int:
    if isinstance(value, dict):
        return 1 + max((_depth(v) for v in value.values()), default=0)
    if isinstance(value, list):
        return 1 + max((_depth(v) for v in value), default=0)
    return 0


_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(alphabet='[]{}"\\,:ab', max_size=6),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(alphabet='[]{}"a', max_size=3), children, max_size=3)
    ),
    max_leaves=40,
)


@hypothesis_settings(max_examples=500, deadline=None)
@given(value=_json_values, indent=st.sampled_from([None, 1]), max_depth=st.integers(1, 12))
def test_nesting_measure_agrees_with_the_parsed_structure(value, indent, max_depth):
    """The text-based depth measure (strings removed, one bracket level per scan) gives the
    same verdict as walking the parsed value, whatever brackets the strings hold."""
    from django_jwt_at.jws import _nested_deeper_than

    document = {"v": value}
    text = json.dumps(document, indent=indent)
    assert _nested_deeper_than(text, max_depth) == (_depth(document) > max_depth)
