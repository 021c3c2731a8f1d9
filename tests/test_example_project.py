"""The example project's demo (``make demo``) runs and shows the expected answers.

The demo is run as a subprocess, as ``make demo`` runs it: it starts the example project's
own server on a free port, so this test needs no Django settings or fixtures of the suite.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

DEMO = Path(__file__).resolve().parent.parent / "example_project" / "demo.py"


def test_demo_walk_and_C_9470_18_step_up_loop() -> None:
    # DEMO_PORT unset: the demo picks a free port. DJANGO_SETTINGS_MODULE (set by
    # pytest-django for this suite) must not leak into the example project.
    env = {k: v for k, v in os.environ.items() if k not in {"DEMO_PORT", "DJANGO_SETTINGS_MODULE"}}
    result = subprocess.run(
        [sys.executable, str(DEMO)],
        cwd=DEMO.parent.parent,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "Traceback" not in output
    assert "DIFFERENT" not in output
    assert "All 16 exchanges gave the expected answer." in output

    statuses = [
        line.split()[1] for line in result.stdout.splitlines() if line.lstrip().startswith("< ") and "expected" in line
    ]
    # The walk (its last three: RFC 9728 metadata, a DPoP-bound token with its proof, the
    # same token as Bearer), then the RFC 9470 step-up loop: challenged, stepped up, retried.
    assert statuses == [
        *["200", "200", "200", "401", "401", "401", "403", "401", "401", "200", "400"],
        *["200", "200", "401"],
        *["401", "200"],
    ], output
    assert "client: asks the issuer for a new token with acr_values=urn:example:acr:mfa max_age=300" in output

    metadata = 'resource_metadata="https://api.example.com/.well-known/oauth-protected-resource"'
    assert f'WWW-Authenticate: Bearer realm="api", {metadata}, DPoP algs="ES256 PS256", {metadata}\n' in output
    assert '"resource": "https://api.example.com"' in output
    assert '"scopes_supported": ["orders:read", "orders:write", "payments:write"]' in output
    # RFC 9449 §7.2: the DPoP-bound token is refused as Bearer, the error on the Bearer challenge.
    assert (
        'WWW-Authenticate: Bearer realm="api", error="invalid_token", error_description="DPoP-bound access token '
        f'requires the DPoP authentication scheme", {metadata}, DPoP algs="ES256 PS256", {metadata}\n'
    ) in output
    assert 'error="invalid_token", error_description="The access token expired"' in output
    assert 'error="invalid_token", error_description="The access token audience is invalid"' in output
    assert (
        'error="insufficient_scope", error_description="The request requires higher privileges than provided '
        'by the access token", scope="orders:write"'
    ) in output
    assert (
        'error="insufficient_user_authentication", error_description="A different authentication level is '
        'required", acr_values="urn:example:acr:mfa"'
    ) in output
    assert (
        'error="insufficient_user_authentication", error_description="More recent authentication is required", '
        'max_age="300"'
    ) in output
    assert 'error="invalid_request", error_description="The Authorization header is malformed"' in output


def test_example_project_tests_with_the_testing_helpers() -> None:
    # example_project/tests use django_jwt_at.testing through its pytest plugin (entry point).
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "PYTEST_"))}
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        cwd=DEMO.parent,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "8 passed" in result.stdout, result.stdout
