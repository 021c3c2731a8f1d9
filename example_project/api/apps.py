"""The example API protected by django-jwt-at."""

from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "api"
