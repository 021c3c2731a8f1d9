"""Settings of the example project: a DRF API protected by django-jwt-at, trusting only the
development issuer this same project serves. For local use only (DEBUG, throw-away key).

``DEMO_PORT`` (default 8000) is the port the project is served on: the issuer identifier
names it, so tokens must be minted and validated with the same value.
"""

import os
import secrets
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
#: Generated state (the issuer's signing key, the database); git-ignored.
VAR_DIR = BASE_DIR / "var"

DEMO_PORT = int(os.environ.get("DEMO_PORT", "8000"))
if not 0 < DEMO_PORT < 65536:
    raise ValueError(f"DEMO_PORT must be a TCP port number, not {DEMO_PORT}")

#: The development issuer's identifier. Plain http is accepted by django-jwt-at for
#: loopback hosts only; a real authorization server is https.
DEV_ISSUER = f"http://127.0.0.1:{DEMO_PORT}/dev-issuer"
DEV_ISSUER_KEY_FILE = VAR_DIR / "dev-issuer-rs256.pem"
API_AUDIENCE = "https://api.example.com"

# Nothing this project signs with SECRET_KEY outlives the process (no sessions, no
# cookies), so a fresh random key per process is enough and nothing secret is stored.
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY") or secrets.token_urlsafe(50)
DEBUG = True
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]

INSTALLED_APPS = [
    # DRF's anonymous user comes from django.contrib.auth, which needs contenttypes.
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "rest_framework",
    "django_jwt_at",
    "api",
    "devissuer",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django_jwt_at.middleware.AccessTokenCacheControlMiddleware",
]

ROOT_URLCONF = "example_project.urls"
WSGI_APPLICATION = "example_project.wsgi.application"

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": VAR_DIR / "db.sqlite3",
    }
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
USE_TZ = True

REST_FRAMEWORK = {
    # First in the list, so that a request without credentials gets 401 + Bearer challenge.
    "DEFAULT_AUTHENTICATION_CLASSES": ["django_jwt_at.authentication.JWTAccessTokenAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    # JSON only: the browsable API would need templates and static files for no benefit here.
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
}

#: RFC 9728: the resource identifier, its metadata served at
#: /.well-known/oauth-protected-resource (django_jwt_at.urls) and named in every challenge.
#: Its origin is also the external origin DPoP proofs name in htu (RFC 9449 §4.3): the demo
#: reaches the API on 127.0.0.1, as a TLS-terminating proxy in front of it would.
JWT_AT_RESOURCE = API_AUDIENCE
JWT_AT_RESOURCE_METADATA = {"resource_name": "Example orders API"}
# JWT_AT_DPOP is unset: "optional" here, because JWT_AT_RESOURCE gives the external origin
# (Bearer tokens, and DPoP-bound tokens with proofs).

JWT_AT_ISSUERS = {
    # No JWKS_URI: django-jwt-at discovers it from the RFC 8414 metadata served at
    # /.well-known/oauth-authorization-server/dev-issuer by this project.
    DEV_ISSUER: {"AUDIENCE": API_AUDIENCE, "ALGORITHMS": ["RS256"]},
}

VAR_DIR.mkdir(mode=0o700, exist_ok=True)
