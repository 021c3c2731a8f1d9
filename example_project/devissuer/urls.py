"""Routes of the development issuer, relative to the site root: the RFC 8414 well-known
string goes between the host and the issuer's path (RFC 8414 §3.1)."""

from django.urls import path

from . import views

urlpatterns = [
    path("dev-issuer/jwks", views.jwks, name="dev-issuer-jwks"),
    path(".well-known/oauth-authorization-server/dev-issuer", views.metadata, name="dev-issuer-metadata"),
]
