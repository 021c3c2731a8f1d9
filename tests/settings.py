"""Django settings of the conformance suite (DJANGO_SETTINGS_MODULE=tests.settings).

``JWT_AT_ISSUERS`` here is a placeholder: the autouse ``fx`` fixture (conftest) replaces it
with the fixture profile (spec §0.2) pointing at the live loopback JWKS server.
"""

SECRET_KEY = "conformance-suite-not-secret"
DEBUG = False
ALLOWED_HOSTS = ["testserver", "localhost", "127.0.0.1"]
USE_TZ = True
USE_I18N = True
LANGUAGE_CODE = "en-us"

INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "rest_framework",
    "django_jwt_at",
    "tests",
]

DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "jwt-at-tests"}}
# One process per test run: a per-process DPoP replay store is enough here.
SILENCED_SYSTEM_CHECKS = ["django_jwt_at.W031"]
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast tests
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

SESSION_ENGINE = "django.contrib.sessions.backends.signed_cookies"
MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_jwt_at.middleware.AccessTokenCacheControlMiddleware",
]
ROOT_URLCONF = "tests.urls"

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["django_jwt_at.authentication.JWTAccessTokenAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}

JWT_AT_ISSUERS = {
    "https://as.example.com": {
        "AUDIENCE": "https://rs.example.com",
        "JWKS_URI": "http://127.0.0.1:9/jwks",  # replaced by the fx fixture
        "ALGORITHMS": ["RS256", "PS256", "ES256"],
    },
}
JWT_AT_REALM = "api"
JWT_AT_LEEWAY = 60
