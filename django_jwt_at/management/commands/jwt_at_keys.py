"""``manage.py jwt_at_keys``: the key set of each configured issuer, as the shared cache holds it.

With ``--refresh`` the key sets are fetched first and stored in the shared cache
(``JWT_AT_CACHE``), so that a deploy hook can warm the cache before traffic arrives; the
command then exits with status 1 if any issuer's keys could not be fetched. Only kid, alg
and kty of each key are printed, never key material.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from ... import clock
from ...conf import Config, IssuerConfig, get_config
from ...errors import KeySetUnavailable
from ...jwks import KeySetStatus, key_sets
from ...tenants import dynamic_issuers
from ..timing import when


def _kid(kid: str | None) -> str:
    return "(none)" if kid is None else repr(kid)


class Command(BaseCommand):
    help = (
        "List the key set of each configured issuer (JWT_AT_ISSUERS) from the shared cache: "
        "jwks_uri, kid/alg/kty of every key, fetch and expiry times, staleness. "
        "--refresh fetches the key sets first and stores them in the shared cache."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "issuers", nargs="*", metavar="ISSUER", help="only these issuers (a tenant's issuer identifier too)"
        )
        parser.add_argument(
            "--refresh",
            action="store_true",
            help="fetch every key set now and store it in the shared cache (exit status 1 if one fails)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        config = get_config()
        wanted: list[str] = options["issuers"] or list(config.issuers)
        # A tenant of an issuer template (or an issuer of the resolver) is named by its
        # identifier, and trusted as validation would trust it.
        issuers = {issuer: config.issuers.get(issuer) or self._dynamic(issuer, config) for issuer in wanted}
        unknown = [issuer for issuer, found in issuers.items() if found is None]
        if unknown:
            raise CommandError(f"Not in JWT_AT_ISSUERS: {', '.join(unknown)}")
        failed = 0
        for issuer in wanted:
            found = issuers[issuer]
            assert found is not None
            status = key_sets.status(found, config, refresh=options["refresh"])
            self._print(status, clock.now())
            failed += status.error is not None
        if options["refresh"] and failed:
            raise CommandError(f"{failed} of {len(wanted)} key sets could not be fetched")

    @staticmethod
    def _dynamic(issuer: str, config: Config) -> IssuerConfig | None:
        try:
            return dynamic_issuers.resolve(issuer, config, clock.now())
        except KeySetUnavailable:
            raise CommandError(f"The TENANTS callable or the issuer resolver failed for {issuer}") from None

    def _print(self, status: KeySetStatus, now: float) -> None:
        write = self.stdout.write
        write(f"Issuer {status.issuer}")
        write(f"  jwks_uri: {status.jwks_uri or '(not discovered yet)'}")
        if status.error is not None:
            write(f"  error:    {status.error}")
        if status.fetched_at is None or status.expires_at is None or status.usable_until is None:
            write("  state:    not in the shared cache (--refresh fetches it)")
            return
        if now < status.expires_at:
            state = "fresh"
        elif now < status.usable_until:
            state = f"stale (used only while the issuer fails, until {when(status.usable_until, now)})"
        else:
            state = "expired (no longer used)"
        write(f"  fetched:  {when(status.fetched_at, now)}")
        write(f"  expires:  {when(status.expires_at, now)}")
        write(f"  state:    {state}")
        write(f"  keys:     {len(status.keys)}")
        for kid, alg, kty in status.keys:
            write(f"    kid={_kid(kid)} alg={alg} kty={kty}")
        for kid, reason in status.dropped:
            write(f"    dropped kid={_kid(kid)}: {reason}")
