"""The development issuer: signing key, JWKS, metadata and the ``mint_token`` command."""

from django.apps import AppConfig


class DevIssuerConfig(AppConfig):
    name = "devissuer"
    verbose_name = "Development issuer (local use only)"
