"""How long ago a listing was verified, and whether that is too long ago to trust it unchecked."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass


@dataclass(frozen=True)
class Freshness:
    """What a page says of a listing's last verification."""

    months: int | None  # whole months since it was verified (0: less than one); None: never
    stale: bool  # never verified, or verified longer ago than the program allows


def is_stale(last_verified_at: dt.datetime | None, now: dt.datetime, days: int) -> bool:
    """Whether a listing was never verified, or last verified more than ``days`` days ago."""
    return last_verified_at is None or now - last_verified_at > dt.timedelta(days=days)


def months_between(earlier: dt.datetime, later: dt.datetime) -> int:
    """Whole calendar months from one time to a later one (Jan 31 to Feb 28 is none)."""
    earlier, later = earlier.astimezone(dt.UTC), later.astimezone(dt.UTC)
    months = (later.year - earlier.year) * 12 + later.month - earlier.month
    if (later.day, later.time()) < (earlier.day, earlier.time()):
        months -= 1
    return max(months, 0)


def freshness(
    last_verified_at: dt.datetime | None, days: int, now: dt.datetime | None = None
) -> Freshness:
    """How long ago a listing was verified, in months, and whether it is stale (now by default)."""
    now = now or dt.datetime.now(dt.UTC)
    if last_verified_at is None:
        return Freshness(months=None, stale=True)
    return Freshness(
        months=months_between(last_verified_at, now),
        stale=is_stale(last_verified_at, now, days),
    )
