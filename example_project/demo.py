"""Walk through django-jwt-at's answers over real HTTP, against the example project.

Besides the Bearer walk and the RFC 9470 step-up loop, it fetches the API's RFC 9728
metadata and sends a DPoP-bound token (RFC 9449) with a proof made here with
``cryptography``, then the same token as Bearer without proof, which is refused.

Run from the repository root::

    .venv/bin/python example_project/demo.py

It serves the example project with ``manage.py runserver`` on 127.0.0.1 (port ``DEMO_PORT``
or a free one), mints access tokens with its development issuer (``manage.py
mint_token``), sends one request per case and prints the status and the
``WWW-Authenticate`` challenge of each answer. Exit status: 0 when every answer had the
expected status and error code, 1 when one did not, 2 when the demo could not run. The
server is stopped in every case, Ctrl-C included.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from http import HTTPStatus
from pathlib import Path
from typing import IO

import requests
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

PROJECT_DIR = Path(__file__).resolve().parent
MANAGE = str(PROJECT_DIR / "manage.py")
STARTUP_TIMEOUT = 30.0
REQUEST_TIMEOUT = 10.0
INDENT = " " * 8

MFA = "urn:example:acr:mfa"
PWD = "urn:example:acr:pwd"
#: The API's external origin (JWT_AT_RESOURCE of the example settings): DPoP proofs name it
#: in htu, whatever address the request is sent to.
API_ORIGIN = "https://api.example.com"
#: A mint_token option value replaced by the thumbprint of the demo client's DPoP key.
CLIENT_JKT = "client-key"

#: mint_token options, as a tuple of (option, value) pairs so that it can key a dict.
TokenSpec = tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Case:
    """One request of the walk and the answer django-jwt-at should give."""

    title: str
    method: str
    path: str
    expected_status: int
    expected_error: str | None = None  # the challenge's error="..." parameter, if any
    token: TokenSpec | None = None  # a token minted with these options
    authorization: str | None = None  # or this literal Authorization header
    scheme: str = "Bearer"  # "DPoP": the token is sent with a DPoP proof of the client key


CASES: Sequence[Case] = (
    Case("Public endpoint, no token", "GET", "/api/public", 200),
    Case("Valid token with scope orders:read", "GET", "/api/orders", 200, token=()),
    Case(
        "Who am I: request.auth of a valid token",
        "GET",
        "/api/me",
        200,
        token=(("--scope", "orders:read orders:write"),),
    ),
    Case("No token", "GET", "/api/orders", 401),
    Case(
        "Expired token (exp 5 minutes ago, beyond the 60 s leeway)",
        "GET",
        "/api/orders",
        401,
        "invalid_token",
        token=(("--lifetime", "-300"),),
    ),
    Case(
        "Token for another API (aud https://other.example.com)",
        "GET",
        "/api/orders",
        401,
        "invalid_token",
        token=(("--audience", "https://other.example.com"),),
    ),
    Case(
        "Missing scope: orders:read token, POST needs orders:write",
        "POST",
        "/api/orders",
        403,
        "insufficient_scope",
        token=(),
    ),
    Case(
        "Step-up: payments:write, but a password-only login",
        "POST",
        "/api/payments",
        401,
        "insufficient_user_authentication",
        token=(("--scope", "payments:write"), ("--acr", PWD), ("--auth-time-ago", "60")),
    ),
    Case(
        "Step-up: MFA login, but 10 minutes ago (max_age 300 s)",
        "POST",
        "/api/payments",
        401,
        "insufficient_user_authentication",
        token=(("--scope", "payments:write"), ("--acr", MFA), ("--auth-time-ago", "600")),
    ),
    Case(
        "Step-up satisfied: MFA login a minute ago",
        "POST",
        "/api/payments",
        200,
        token=(("--scope", "payments:write"), ("--acr", MFA), ("--auth-time-ago", "60")),
    ),
    Case(
        "Malformed header: 'Authorization: Bearer' with no token",
        "GET",
        "/api/orders",
        400,
        "invalid_request",
        authorization="Bearer",
    ),
    Case("Protected resource metadata (RFC 9728), no token", "GET", "/.well-known/oauth-protected-resource", 200),
    Case(
        "DPoP-bound token (cnf.jkt) with a proof of the client's key (RFC 9449)",
        "GET",
        "/api/orders",
        200,
        token=(("--dpop-jkt", CLIENT_JKT),),
        scheme="DPoP",
    ),
    Case(
        "The same DPoP-bound token as Bearer, without proof",
        "GET",
        "/api/orders",
        401,
        "invalid_token",
        token=(("--dpop-jkt", CLIENT_JKT),),
    ),
)


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


@functools.lru_cache(maxsize=1)
def client_key() -> ec.EllipticCurvePrivateKey:
    """The demo client's DPoP key (P-256), made once per run."""
    return ec.generate_private_key(ec.SECP256R1())


def client_jwk() -> dict[str, str]:
    numbers = client_key().public_key().public_numbers()
    return {
        "kty": "EC",
        "crv": "P-256",
        "x": b64url(numbers.x.to_bytes(32, "big")),
        "y": b64url(numbers.y.to_bytes(32, "big")),
    }


def client_jkt() -> str:
    """RFC 7638 thumbprint of the client's public key: required members, sorted, compact."""
    jwk = client_jwk()
    canonical = json.dumps({name: jwk[name] for name in ("crv", "kty", "x", "y")}, separators=(",", ":"))
    return b64url(hashlib.sha256(canonical.encode("ascii")).digest())


def dpop_proof(method: str, path: str, token: str) -> str:
    """An RFC 9449 §4.2 proof: ES256 over the request's method and external URL, with the
    hash of the access token (ath), signed with the client's key."""
    header = {"typ": "dpop+jwt", "alg": "ES256", "jwk": client_jwk()}
    claims = {
        "jti": str(uuid.uuid4()),
        "htm": method,
        "htu": API_ORIGIN + path,
        "iat": int(time.time()),
        "ath": b64url(hashlib.sha256(token.encode("ascii")).digest()),
    }
    signing_input = ".".join(b64url(json.dumps(part, separators=(",", ":")).encode()) for part in (header, claims))
    r, s = decode_dss_signature(client_key().sign(signing_input.encode("ascii"), ec.ECDSA(hashes.SHA256())))
    return f"{signing_input}.{b64url(r.to_bytes(32, 'big') + s.to_bytes(32, 'big'))}"


class DemoError(Exception):
    """The demo could not run; ``details`` (output of a failed command) is shown after it."""

    def __init__(self, message: str, details: str = "") -> None:
        super().__init__(message)
        self.details = details


@dataclass
class Outcome:
    """What one case produced; ``ok`` when status and error code are as expected."""

    case: Case
    status: int | None = None
    challenge: str | None = None
    retry_after: str | None = None
    body: str = ""
    problem: str | None = None  # why no answer was received

    @property
    def ok(self) -> bool:
        return self.status == self.case.expected_status and error_code(self.challenge) == self.case.expected_error


def error_code(challenge: str | None) -> str | None:
    """The ``error`` parameter of a ``WWW-Authenticate`` value, or None."""
    match = re.search(r'(?:^|[\s,])error="([^"]*)"', challenge or "")
    return match.group(1) if match else None


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listened on a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def demo_port() -> int:
    """``DEMO_PORT`` when set, else a free port."""
    value = os.environ.get("DEMO_PORT")
    if not value:
        return free_port()
    if not value.isdigit() or not 0 < int(value) < 65536:
        raise DemoError(f"DEMO_PORT must be a TCP port number, not {value!r}")
    return int(value)


def manage(args: Sequence[str], env: dict[str, str]) -> str:
    """Run ``manage.py`` with ``args`` and return its standard output; raise DemoError
    (with the command's output) if it fails."""
    result = subprocess.run(
        [sys.executable, MANAGE, *args],
        cwd=PROJECT_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if result.returncode != 0:
        raise DemoError(f"manage.py {args[0]} failed (exit status {result.returncode})", result.stderr + result.stdout)
    return result.stdout


def mint_tokens(specs: Sequence[TokenSpec], env: dict[str, str]) -> dict[TokenSpec, str]:
    """Mint one token per distinct spec with ``manage.py mint_token``, in parallel."""
    processes = {
        spec: subprocess.Popen(
            [
                sys.executable,
                MANAGE,
                "mint_token",
                *(part if part != CLIENT_JKT else client_jkt() for option in spec for part in option),
            ],
            cwd=PROJECT_DIR,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for spec in dict.fromkeys(specs)
    }
    tokens: dict[TokenSpec, str] = {}
    try:
        for spec, process in processes.items():
            out, err = process.communicate(timeout=60)
            if process.returncode != 0:
                options = " ".join(f"{o} {v!r}" for o, v in spec)
                raise DemoError(f"manage.py mint_token {options} failed", err + out)
            tokens[spec] = out.strip()
    finally:
        for process in processes.values():
            if process.poll() is None:
                process.kill()
                process.wait()
    return tokens


def read_log(log: IO[bytes], last: int = 40) -> str:
    """The last ``last`` lines written to the server's log file."""
    log.flush()
    log.seek(0)
    return "\n".join(log.read().decode("utf-8", "replace").splitlines()[-last:])


@contextmanager
def running_server(port: int, env: dict[str, str]) -> Iterator[str]:
    """Serve the project with ``runserver`` (threaded, no autoreloader) on 127.0.0.1:port,
    yield its base URL once it answers, and stop it on exit, whatever happened."""
    base_url = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryFile() as log:
        server = subprocess.Popen(
            [sys.executable, MANAGE, "runserver", f"127.0.0.1:{port}", "--noreload"],
            cwd=PROJECT_DIR,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            # Its own session: Ctrl-C reaches only the demo, which stops the server itself.
            start_new_session=True,
        )
        try:
            deadline = time.monotonic() + STARTUP_TIMEOUT
            while True:
                if server.poll() is not None:
                    raise DemoError(f"the server exited with status {server.returncode}", read_log(log))
                try:
                    requests.get(f"{base_url}/api/public", timeout=1)
                    break
                except requests.RequestException:
                    if time.monotonic() > deadline:
                        raise DemoError(
                            f"the server did not answer within {STARTUP_TIMEOUT:.0f} s", read_log(log)
                        ) from None
                    time.sleep(0.1)
            yield base_url
        finally:
            if server.poll() is None:
                server.terminate()
                try:
                    server.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    server.kill()
                    server.wait()


def send(base_url: str, case: Case, tokens: dict[TokenSpec, str]) -> Outcome:
    """Send the request of ``case`` and record the answer."""
    headers = {"Accept": "application/json"}
    if case.token is not None:
        headers["Authorization"] = f"{case.scheme} {tokens[case.token]}"
        if case.scheme == "DPoP":
            headers["DPoP"] = dpop_proof(case.method, case.path, tokens[case.token])
    elif case.authorization is not None:
        headers["Authorization"] = case.authorization
    outcome = Outcome(case)
    try:
        response = requests.request(case.method, base_url + case.path, headers=headers, timeout=REQUEST_TIMEOUT)
    except requests.RequestException as exc:
        outcome.problem = f"no answer ({type(exc).__name__})"
        return outcome
    outcome.status = response.status_code
    outcome.challenge = response.headers.get("WWW-Authenticate")
    outcome.retry_after = response.headers.get("Retry-After")
    outcome.body = response.text
    return outcome


def shorten(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 3] + "..."


def report(number: int, total: int, outcome: Outcome) -> None:
    """Print one exchange: request, status (with the verdict), challenge, body of a 2xx."""
    case = outcome.case
    print(f"[{number:>2}/{total}] {case.title}")
    print(f"{INDENT}> {case.method} {case.path}")
    if case.token is not None:
        print(f"{INDENT}> Authorization: {case.scheme} <token: {describe(case.token)}>")
        if case.scheme == "DPoP":
            print(f"{INDENT}> DPoP: <proof: ES256, htm={case.method}, htu={API_ORIGIN}{case.path}, ath>")
    elif case.authorization is not None:
        print(f"{INDENT}> Authorization: {case.authorization}")
    expected = f"expected {case.expected_status}" + (f" {case.expected_error}" if case.expected_error else "")
    verdict = "ok" if outcome.ok else "DIFFERENT"
    if outcome.status is None:
        answer = outcome.problem or "no answer"
    else:
        answer = f"{outcome.status} {HTTPStatus(outcome.status).phrase}"
    print(f"{INDENT}< {answer:<40} [{verdict}: {expected}]")
    if outcome.challenge is not None:
        print(f"{INDENT}< WWW-Authenticate: {outcome.challenge}")
    if outcome.retry_after is not None:
        print(f"{INDENT}< Retry-After: {outcome.retry_after}")
    if outcome.status is not None and 200 <= outcome.status < 300 and outcome.body:
        try:
            body = json.dumps(json.loads(outcome.body), separators=(", ", ": "))
        except ValueError:
            body = outcome.body
        print(f"{INDENT}< {shorten(body, 400)}")
    print()


def challenge_params(challenge: str | None) -> dict[str, str]:
    """The quoted parameters of a ``WWW-Authenticate`` value (RFC 9470 §3 allows ``max_age``
    as token or quoted-string: both are read)."""
    return {
        name.lower(): quoted if quoted else bare
        for name, quoted, bare in re.findall(r'([A-Za-z_]+)=(?:"([^"]*)"|([^\s,"]+))', challenge or "")
    }


def step_up_loop(base_url: str, env: dict[str, str]) -> list[Outcome]:
    """What an RFC 9470 client does (§4): call the API, read ``acr_values`` and ``max_age``
    from the 401 challenge, get a new token from the authorization server that satisfies
    them (here: the development issuer, as if the user had just passed MFA), and retry."""
    print("Step-up loop (RFC 9470 §4): a client recovering from insufficient_user_authentication")
    print()
    first_case = Case(
        "Client calls POST /api/payments with its password-login token",
        "POST",
        "/api/payments",
        401,
        "insufficient_user_authentication",
        token=(("--scope", "payments:write"), ("--acr", PWD), ("--auth-time-ago", "900")),
    )
    tokens = mint_tokens([first_case.token] if first_case.token else [], env)
    first = send(base_url, first_case, tokens)
    report(1, 2, first)
    params = challenge_params(first.challenge)
    acr_values = params.get("acr_values", "").split()
    options: list[tuple[str, str]] = [("--scope", "payments:write")]
    if acr_values:
        options.append(("--acr", acr_values[0]))  # values are in order of preference
    if "max_age" in params:
        options.append(("--auth-time-ago", "0"))  # the user authenticates again, now
    print(
        f"{INDENT}client: asks the issuer for a new token with acr_values={' '.join(acr_values) or '-'}"
        f" max_age={params.get('max_age', '-')}"
    )
    print()
    retry_case = Case("Client retries with the stepped-up token", "POST", "/api/payments", 200, token=tuple(options))
    second = send(base_url, retry_case, mint_tokens([retry_case.token] if retry_case.token else [], env))
    report(2, 2, second)
    return [first, second]


def describe(spec: TokenSpec) -> str:
    """A short human description of a token spec, e.g. ``scope="orders:read"``."""
    options = dict(spec)
    parts = [f'scope="{options.get("--scope", "orders:read")}"']
    if "--acr" in options:
        parts.append(f"acr={options['--acr']}")
    if "--auth-time-ago" in options:
        parts.append(f"auth_time={options['--auth-time-ago']}s ago")
    if "--lifetime" in options:
        lifetime = int(options["--lifetime"])
        parts.append(f"expired {-lifetime}s ago" if lifetime < 0 else f"expires in {lifetime}s")
    if "--audience" in options:
        parts.append(f"aud={options['--audience']}")
    if "--dpop-jkt" in options:
        parts.append("cnf.jkt=thumbprint of the client's DPoP key")
    return ", ".join(parts)


def run() -> int:
    """Run the walk; return the exit status."""
    port = demo_port()
    env = {
        **os.environ,
        "DEMO_PORT": str(port),
        "DJANGO_SETTINGS_MODULE": "example_project.settings",
        "PYTHONUNBUFFERED": "1",
    }
    manage(["migrate", "--noinput", "--verbosity", "0"], env)
    with running_server(port, env) as base_url:
        tokens = mint_tokens([c.token for c in CASES if c.token is not None], env)
        print("django-jwt-at demo")
        print(f"{INDENT}API:      {base_url}/api/...")
        print(f"{INDENT}issuer:   {base_url}/dev-issuer  (tokens minted with manage.py mint_token)")
        print(f"{INDENT}metadata: {base_url}/.well-known/oauth-authorization-server/dev-issuer")
        print(f"{INDENT}JWKS:     {base_url}/dev-issuer/jwks")
        print(f"{INDENT}resource: {API_ORIGIN} (RFC 9728 metadata at {base_url}/.well-known/oauth-protected-resource)")
        print()
        outcomes = []
        for number, case in enumerate(CASES, 1):
            outcome = send(base_url, case, tokens)
            report(number, len(CASES), outcome)
            outcomes.append(outcome)
        outcomes.extend(step_up_loop(base_url, env))
    differed = [o.case.title for o in outcomes if not o.ok]
    if differed:
        print(f"{len(differed)} of {len(outcomes)} exchanges differed from the expected answer: {'; '.join(differed)}")
        return 1
    print(f"All {len(outcomes)} exchanges gave the expected answer.")
    return 0


def main() -> int:
    """Entry point: :func:`run` with errors and interruptions reported without a traceback."""
    # SIGTERM unwinds like Ctrl-C, so the server is stopped too.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        return run()
    except DemoError as exc:
        print(f"demo: {exc}", file=sys.stderr)
        if exc.details.strip():
            print(exc.details.rstrip(), file=sys.stderr)
        return 2
    except subprocess.TimeoutExpired as exc:
        print(f"demo: {' '.join(map(str, exc.cmd[1:]))} did not finish within {exc.timeout:.0f} s", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\ndemo: interrupted.", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
