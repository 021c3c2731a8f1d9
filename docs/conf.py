"""Sphinx configuration for django-jwt-at.

The build needs no network: no intersphinx, no remote images. Django is configured
minimally before autodoc imports the package, because the DRF adapter modules import
``rest_framework``, which reads settings at import time.
"""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import django
from django.conf import settings

if not settings.configured:
    settings.configure(
        INSTALLED_APPS=[
            "django.contrib.contenttypes",
            "django.contrib.auth",
            "rest_framework",
            "django_jwt_at",
        ],
        JWT_AT_ISSUERS={"https://as.example.com": {"AUDIENCE": "https://api.example.com"}},
    )
    django.setup()

import django_jwt_at

project = "django-jwt-at"
author = "the django-jwt-at authors"
copyright = "2026, the django-jwt-at authors"
release = django_jwt_at.__version__
version = release

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.viewcode",
    "myst_parser",  # the changelog page includes CHANGELOG.md
]

exclude_patterns = ["_build"]
# CHANGELOG.md is included below the changelog page's own title: its "##" are sections.
suppress_warnings = ["myst.header"]
root_doc = "index"
language = "en"
nitpicky = False

html_theme = "furo"
html_title = f"django-jwt-at {release}"

autodoc_member_order = "bysource"
autodoc_typehints = "signature"
autodoc_class_signature = "mixed"
autodoc_preserve_defaults = True
autodoc_default_options = {
    "show-inheritance": True,
}
