"""The one source of time for validation and key-set caching.

Everything in this package asks :func:`now` for the current time, so tests (and deployments
with an unusual clock) can substitute it in one place.
"""

from __future__ import annotations

import time


def now() -> float:
    """Return the current time as seconds since the epoch (RFC 7519 NumericDate)."""
    return time.time()
