"""Times as the management commands print them: UTC instants with how far they are from
the moment of reference, in units a person reads at a glance."""

from __future__ import annotations

from datetime import datetime, timezone

_UNITS = (("d", 86400), ("h", 3600), ("min", 60), ("s", 1))


def iso(timestamp: float) -> str:
    """``timestamp`` as ``YYYY-MM-DDTHH:MM:SSZ``; the number itself past the year 9999."""
    try:
        return datetime.fromtimestamp(timestamp, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    except (OverflowError, OSError, ValueError):
        return f"{timestamp:.0f}"


def duration(seconds: int) -> str:
    """A non-negative number of seconds in its two largest units: ``45 s``, ``10 min``,
    ``2 min 5 s``, ``3 h 2 min``, ``2 d 3 h``."""
    parts: list[str] = []
    for unit, size in _UNITS:
        if seconds >= size or (unit == "s" and not parts):
            count, seconds = divmod(seconds, size)
            if count or not parts:
                parts.append(f"{count} {unit}")
        elif parts:
            break
        if len(parts) == 2:
            break
    return " ".join(parts)


def relative(timestamp: float, now: float) -> str:
    """``now``, ``in <duration>`` or ``<duration> ago``, to the second."""
    delta = round(timestamp - now)
    if delta == 0:
        return "now"
    return f"in {duration(delta)}" if delta > 0 else f"{duration(-delta)} ago"


def when(timestamp: float, now: float) -> str:
    """``<iso> (<relative>)``."""
    return f"{iso(timestamp)} ({relative(timestamp, now)})"
