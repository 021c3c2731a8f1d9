"""URLconf serving RFC 9728 protected resource metadata; include it at the root::

    urlpatterns = [path("", include("django_jwt_at.urls")), ...]

It answers ``/.well-known/oauth-protected-resource`` followed by the path of
``JWT_AT_RESOURCE`` (RFC 9728 §3.1), and 404 for any other suffix.
"""

from django.urls import re_path

from .metadata import ProtectedResourceMetadataView

app_name = "django_jwt_at"

urlpatterns = [
    re_path(
        r"^\.well-known/oauth-protected-resource(?P<suffix>/.*)?\Z",
        ProtectedResourceMetadataView.as_view(),
        name="protected-resource-metadata",
    ),
]
