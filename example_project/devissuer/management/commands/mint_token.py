"""``manage.py mint_token``: print one access token of the development issuer."""

from __future__ import annotations

import re
from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from devissuer.tokens import mint_access_token


class Command(BaseCommand):
    help = (
        "Print an RFC 9068 access token signed by the development issuer (use it as 'Authorization: Bearer <token>')."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--sub", default="user-123", help="subject (default: %(default)s)")
        parser.add_argument("--client-id", default="demo-client", help="client_id (default: %(default)s)")
        parser.add_argument(
            "--scope", default="orders:read", help="space-separated scopes; '' for none (default: %(default)s)"
        )
        parser.add_argument("--audience", default="https://api.example.com", help="aud (default: %(default)s)")
        parser.add_argument(
            "--lifetime",
            type=int,
            default=600,
            help="seconds until exp; negative for a token that already expired (default: %(default)s)",
        )
        parser.add_argument("--acr", help="authentication context class, e.g. urn:example:acr:mfa")
        parser.add_argument(
            "--auth-time-ago", type=int, metavar="SECONDS", help="auth_time = this many seconds before now"
        )
        parser.add_argument("--roles", help="space- or comma-separated roles, e.g. 'admin auditor'")
        parser.add_argument(
            "--dpop-jkt",
            metavar="THUMBPRINT",
            help="bind the token to a DPoP key: cnf.jkt = this RFC 7638 thumbprint (use it as 'Authorization: DPoP')",
        )

    def handle(self, *args: Any, **options: Any) -> str:
        if options["auth_time_ago"] is not None and options["auth_time_ago"] < 0:
            raise CommandError("--auth-time-ago must not be negative")
        if options["dpop_jkt"] is not None and not re.fullmatch(r"[A-Za-z0-9_-]{43}", options["dpop_jkt"]):
            raise CommandError("--dpop-jkt must be a base64url SHA-256 thumbprint (43 characters)")
        roles = options["roles"]
        return mint_access_token(
            sub=options["sub"],
            client_id=options["client_id"],
            scope=options["scope"],
            audience=options["audience"],
            lifetime=options["lifetime"],
            acr=options["acr"],
            auth_time_ago=options["auth_time_ago"],
            roles=None if roles is None else [r for r in re.split(r"[\s,]+", roles) if r],
            jkt=options["dpop_jkt"],
        )
