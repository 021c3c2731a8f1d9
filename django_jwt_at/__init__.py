"""django-jwt-at: an RFC 9068 resource server for Django REST framework."""

__version__ = "0.1.0.dev0"
