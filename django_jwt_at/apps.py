"""App configuration: registers the system checks; no settings reads, no network."""

from __future__ import annotations

from django.apps import AppConfig, apps
from django.core import checks

#: The tag of this package's system checks.
TAG = "django_jwt_at"


class DjangoJwtAtConfig(AppConfig):
    name = "django_jwt_at"
    default_auto_field = "django.db.models.BigAutoField"
    verbose_name = "JWT access tokens (RFC 9068)"

    def ready(self) -> None:
        from .checks import check_authentication_order, check_dpop_resource, check_issuers_reachable, check_settings

        # Tagged, so that ``manage.py check --tag django_jwt_at`` runs this package's alone.
        checks.register(check_settings, TAG)
        checks.register(check_authentication_order, TAG)
        checks.register(check_dpop_resource, TAG)
        checks.register(check_issuers_reachable, TAG, deploy=True)
        if apps.is_installed("drf_spectacular"):
            from . import openapi  # noqa: F401  (registers the drf-spectacular extension)
