"""End to end: GET requests through Django's WSGI handler to one DRF view, requests/s.

Contenders (the same view, URL conf, middleware and WSGI environ; only the view's
authentication and permission classes differ):

- AllowAny: no authentication class, ``AllowAny`` (the ceiling);
- ours repeated: ``JWTAccessTokenAuthentication`` + ``IsAuthenticated``, the same valid
  token on every request (a verified-token cache hit, when the library has one);
- ours first-seen: the same, a never-seen token on every request;
- simplejwt: djangorestframework-simplejwt's ``JWTStatelessUserAuthentication`` +
  ``IsAuthenticated``, configured for the same RS256 tokens (VERIFYING_KEY the PEM of the
  issuer's key, AUDIENCE, ISSUER, USER_ID_CLAIM sub, no token-type claim), on the same
  tokens as ours first-seen (simplejwt has no cache).

Each request is a prepared WSGI environ handed to ``django.core.handlers.wsgi.WSGIHandler``
(no sockets, no test client); the response body is read and the response closed, as a
WSGI server does. Middleware: SecurityMiddleware, CommonMiddleware and our
AccessTokenCacheControlMiddleware, for every contender.

Run: ``.venv/bin/python bench/end_to_end.py`` (BENCH_E2E_BATCH, BENCH_REPEATS, BENCH_WARMUP).
"""

from __future__ import annotations

import io
import json
import statistics
import sys
from typing import Any, ClassVar

from _common import (
    AUDIENCE,
    ISSUER,
    LEEWAY,
    SUBJECT,
    Contender,
    JWKSServer,
    configure_django,
    env_int,
    fmt_ratio,
    measure,
    median,
    mint_pool,
    new_signer,
    pool_size,
    print_versions,
    record,
    record_settings,
    spread,
    table,
    tampered,
    target,
    write_results,
)

BATCH = env_int("BENCH_E2E_BATCH", 100)

urlpatterns: list[Any] = []  # ROOT_URLCONF is this module; filled in once Django is set up


def _install_views() -> None:
    from django.urls import path
    from rest_framework.permissions import AllowAny, IsAuthenticated
    from rest_framework.response import Response
    from rest_framework.views import APIView
    from rest_framework_simplejwt.authentication import JWTStatelessUserAuthentication

    from django_jwt_at.authentication import JWTAccessTokenAuthentication

    class Hello(APIView):
        authentication_classes: ClassVar[list[Any]] = []
        permission_classes: ClassVar[list[Any]] = [AllowAny]

        def get(self, request: Any) -> Response:
            return Response({"hello": "world", "user": str(request.user)})

    urlpatterns[:] = [
        path("open", Hello.as_view()),
        path(
            "ours",
            Hello.as_view(authentication_classes=[JWTAccessTokenAuthentication], permission_classes=[IsAuthenticated]),
        ),
        path(
            "simplejwt",
            Hello.as_view(
                authentication_classes=[JWTStatelessUserAuthentication], permission_classes=[IsAuthenticated]
            ),
        ),
    ]


def main() -> None:
    print("== bench/end_to_end.py: GET through Django's WSGI handler to a DRF view ==")
    print_versions(["djangorestframework-simplejwt", "PyJWT"])
    record_settings(batch=BATCH)
    print(f"batch {BATCH} requests; 'x AllowAny' and 'x simplejwt' are throughput ratios (higher is better)")

    signer = new_signer("RS256", "rs256-1")
    pool = mint_pool(signer, pool_size(BATCH) + 2)
    repeated_token, check_token = pool.pop(), pool.pop()

    server = JWKSServer()
    try:
        jwks_uri = server.publish("/jwks", [signer.public_jwk()])
        configure_django(
            ROOT_URLCONF=__name__,
            MIDDLEWARE=[
                "django.middleware.security.SecurityMiddleware",
                "django.middleware.common.CommonMiddleware",
                "django_jwt_at.middleware.AccessTokenCacheControlMiddleware",
            ],
            REST_FRAMEWORK={
                "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
                "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
            },
            JWT_AT_ISSUERS={ISSUER: {"AUDIENCE": AUDIENCE, "JWKS_URI": jwks_uri, "ALGORITHMS": ["RS256"]}},
            SIMPLE_JWT={
                "ALGORITHM": "RS256",
                "VERIFYING_KEY": signer.public_pem(),
                "AUDIENCE": AUDIENCE,
                "ISSUER": ISSUER,
                "LEEWAY": LEEWAY,
                "USER_ID_CLAIM": "sub",
                "TOKEN_TYPE_CLAIM": None,
                "JTI_CLAIM": "jti",
                "AUTH_HEADER_TYPES": ("Bearer",),
                "AUTH_TOKEN_CLASSES": ("rest_framework_simplejwt.tokens.AccessToken",),
            },
        )
        _install_views()
        from django.core.handlers.wsgi import WSGIHandler

        handler = WSGIHandler()
        statuses: list[str] = []

        def start_response(status: str, headers: Any, exc_info: Any = None) -> None:
            statuses.append(status)

        def environ(path: str, token: str | None) -> dict[str, Any]:
            env = {
                "REQUEST_METHOD": "GET",
                "PATH_INFO": path,
                "SCRIPT_NAME": "",
                "QUERY_STRING": "",
                "SERVER_NAME": "testserver",
                "SERVER_PORT": "80",
                "SERVER_PROTOCOL": "HTTP/1.1",
                "HTTP_HOST": "testserver",
                "HTTP_ACCEPT": "application/json",
                "wsgi.version": (1, 0),
                "wsgi.url_scheme": "http",
                "wsgi.input": io.BytesIO(b""),
                "wsgi.errors": sys.stderr,
                "wsgi.multithread": False,
                "wsgi.multiprocess": False,
                "wsgi.run_once": False,
            }
            if token is not None:
                env["HTTP_AUTHORIZATION"] = f"Bearer {token}"
            return env

        def request(env: dict[str, Any]) -> bytes:
            response = handler(env, start_response)
            try:
                return b"".join(response)
            finally:
                response.close()

        def check_statuses() -> None:
            """Every timed request must have answered 200 (checked between batches)."""
            if set(statuses) - {"200 OK"}:
                raise SystemExit(f"a timed request answered {sorted(set(statuses))}")
            statuses.clear()

        def inputs(path: str, tokens: list[str] | None) -> Any:
            """Round r: fresh environs (a WSGI input is read once), tokens r*BATCH.. of the pool."""

            def make(r: int) -> list[dict[str, Any]]:
                check_statuses()
                if tokens is None:
                    return [environ(path, None) for _ in range(BATCH)]
                return [environ(path, t) for t in tokens[r * BATCH : (r + 1) * BATCH]]

            return make

        contenders = [
            Contender("AllowAny (no authentication)", request, inputs("/open", None)),
            Contender(
                "ours repeated",
                request,
                inputs("/ours", [repeated_token] * pool_size(BATCH)),
                before=lambda: request(environ("/ours", repeated_token)),  # seen before: in the cache
            ),
            Contender("ours first-seen", request, inputs("/ours", pool)),
            Contender("simplejwt JWTStatelessUserAuthentication", request, inputs("/simplejwt", pool)),
        ]

        # Before timing: each path answers as it should (this also warms our key set).
        expected = {"/open": "AnonymousUser", "/ours": SUBJECT, "/simplejwt": f"TokenUser {SUBJECT}"}
        for path, user in expected.items():
            statuses.clear()
            body = json.loads(request(environ(path, check_token if path != "/open" else None)))
            if statuses != ["200 OK"] or body.get("user") != user:
                raise SystemExit(f"setup error: {path} answered {statuses} {body}")
            if path != "/open":
                for token in (None, tampered(check_token)):
                    statuses.clear()
                    request(environ(path, token))
                    if statuses != ["401 Unauthorized"]:
                        raise SystemExit(f"setup error: {path} answered {statuses} without a valid token")

        statuses.clear()
        measure(contenders)
        check_statuses()

        allow_any, simplejwt = contenders[0], contenders[3]

        def throughput_ratio(c: Contender, reference: Contender) -> float:
            """Median over the repeats of the per-repeat ratio (both batches of a repeat
            ran back to back, so slow drift of the machine cancels out)."""
            return statistics.median(r / s for r, s in zip(reference.samples, c.samples, strict=True))

        rows = []
        ratios = {}
        for c in contenders:
            us = median(c)
            x_allowany, x_simplejwt = throughput_ratio(c, allow_any), throughput_ratio(c, simplejwt)
            ratios[c.name] = (x_allowany, x_simplejwt)
            record(
                "rows",
                {
                    "name": c.name,
                    "us": us,
                    "rps": 1e6 / us,
                    "spread": spread(c),
                    "x_allowany": x_allowany,
                    "x_simplejwt": x_simplejwt,
                },
            )
            rows.append(
                [
                    c.name,
                    f"{us:.1f}",
                    f"{1e6 / us:,.0f}",
                    f"{spread(c):.0f}%",
                    fmt_ratio(x_allowany),
                    fmt_ratio(x_simplejwt),
                ]
            )
        table(
            "RS256, one GET per request", ["contender", "µs/req", "req/s", "spread", "x AllowAny", "x simplejwt"], rows
        )
        print()
        print("Targets:")
        repeated, first_seen = ratios[contenders[1].name], ratios[contenders[2].name]
        target("ours repeated throughput / AllowAny", repeated[0], 0.9, at_most=False)
        target("ours repeated throughput / simplejwt", repeated[1], 1.2, at_most=False)
        print(f"  (ours first-seen throughput / simplejwt: {fmt_ratio(first_seen[1])})")
    finally:
        server.close()
    write_results("end_to_end")


if __name__ == "__main__":
    main()
