"""URLs: the API under ``/api/``, the development issuer under ``/dev-issuer`` and its
RFC 8414 metadata under ``/.well-known/``."""

from django.urls import include, path

urlpatterns = [
    path("api/", include("api.urls")),
    path("", include("devissuer.urls")),
]
