"""URLs: the API under ``/api/``, the development issuer under ``/dev-issuer``, its
RFC 8414 metadata and the API's RFC 9728 metadata under ``/.well-known/``."""

from django.urls import include, path

urlpatterns = [
    path("api/", include("api.urls")),
    path("", include("devissuer.urls")),
    path("", include("django_jwt_at.urls")),
]
