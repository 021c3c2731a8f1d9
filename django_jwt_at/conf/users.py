"""``JWT_AT_USER_MAPPING`` and ``JWT_AT_CREATE_USERS``: how a validated token becomes
``request.user``. The mapping is named by dotted path and imported only when checked or
used, so reading settings does not load the user models."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import TYPE_CHECKING

from django.utils.module_loading import import_string

from .base import DEFAULTS, ReaderBase
from .issuers import IssuerConfig

if TYPE_CHECKING:
    from ..users import UserMapping


@functools.cache
def user_mapping_class(path: str) -> type[UserMapping]:
    """The UserMapping subclass ``path`` names (a path the settings reader accepted)."""
    return import_string(path)  # type: ignore[no-any-return]


class UserSettings(ReaderBase):
    """Reads ``JWT_AT_USER_MAPPING`` (E050, E052)."""

    def user_mapping(self, issuers: Mapping[str, IssuerConfig]) -> str:
        """The dotted path of the mapping, checked by importing it (the one place settings
        reading imports it)."""
        from ..users import ISSUER_MAX_LENGTH, ModelUserMapping, UserMapping

        path = self.setting("JWT_AT_USER_MAPPING")
        mapping: object = None
        if isinstance(path, str):
            try:
                mapping = import_string(path)
            except ImportError:
                mapping = None
        if not isinstance(mapping, type) or not issubclass(mapping, UserMapping):
            self.problem(
                "E050",
                f"JWT_AT_USER_MAPPING {path!r} is not the dotted path of a UserMapping subclass.",
                "Use 'django_jwt_at.users.StatelessUserMapping' (the default), "
                "'django_jwt_at.users.ModelUserMapping' or a subclass of either.",
            )
            return str(DEFAULTS["JWT_AT_USER_MAPPING"])
        if issubclass(mapping, ModelUserMapping):
            longest = [(issuer, len(issuer)) for issuer in issuers]
            longest += [(t.template, t.max_issuer_length) for t in self.templates]
            for issuer, length in longest:
                if length > ISSUER_MAX_LENGTH:
                    self.problem(
                        "E052",
                        f"The issuer identifier {issuer!r} is (or, with its tenant, may be) longer than "
                        f"{ISSUER_MAX_LENGTH} characters, which the model-backed user mapping cannot store.",
                        "Use the stateless user mapping for this issuer's tokens, or a shorter TENANT_PATTERN.",
                    )
        assert isinstance(path, str)
        return path
