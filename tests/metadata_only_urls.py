"""A URLconf with the metadata endpoint and no scope-protected view (C-9728-05)."""

from django.urls import include, path

urlpatterns = [path("", include("django_jwt_at.urls"))]
