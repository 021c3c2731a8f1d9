"""The link between a token subject and a Django user, for :class:`~django_jwt_at.users.ModelUserMapping`."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from .users import ISSUER_MAX_LENGTH, SUBJECT_MAX_LENGTH


class TokenSubject(models.Model):
    """One (issuer, subject) pair seen in access tokens, and the local user it stands for.

    A ``sub`` is unique only within its issuer (RFC 9068 §2.2), so the pair is the key.
    Several pairs may link to one user (an administrator may link the same person's
    accounts at two issuers); deleting the user deletes its links.
    """

    issuer = models.CharField(max_length=ISSUER_MAX_LENGTH)
    subject = models.CharField(max_length=SUBJECT_MAX_LENGTH)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="access_token_subjects")
    created = models.DateTimeField()
    last_seen = models.DateTimeField()

    class Meta:
        verbose_name = "access token subject"
        constraints = (
            models.UniqueConstraint(fields=["issuer", "subject"], name="django_jwt_at_tokensubject_issuer_subject"),
        )

    def __str__(self) -> str:
        return f"{self.subject} at {self.issuer}"
