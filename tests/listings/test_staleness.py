"""A listing's verification age: stale only when older than the setting, months counted whole."""

from __future__ import annotations

import datetime as dt

import pytest

from directory.config import Settings
from directory.listings.staleness import Freshness, freshness, is_stale, months_between

NOW = dt.datetime(2026, 12, 6, 12, 0, tzinfo=dt.UTC)
DAY = dt.timedelta(days=1)
SECOND = dt.timedelta(seconds=1)


def test_stale_only_when_older_than_the_days_allowed() -> None:
    assert is_stale(NOW - 180 * DAY, NOW, 180) is False  # exactly 180 days: not yet
    assert is_stale(NOW - 180 * DAY - SECOND, NOW, 180) is True
    assert is_stale(NOW - 30 * DAY, NOW, 180) is False
    assert is_stale(NOW - 31 * DAY, NOW, 30) is True
    assert is_stale(None, NOW, 180) is True  # never verified: needs checking


@pytest.mark.parametrize(
    ("verified", "months"),
    [
        (NOW, 0),
        (NOW - 29 * DAY, 0),
        (dt.datetime(2026, 11, 6, 12, 0, tzinfo=dt.UTC), 1),  # one month to the minute
        (dt.datetime(2026, 11, 6, 12, 1, tzinfo=dt.UTC), 0),
        (dt.datetime(2026, 6, 6, 11, 0, tzinfo=dt.UTC), 6),
        (dt.datetime(2025, 12, 7, 0, 0, tzinfo=dt.UTC), 11),
        (dt.datetime(2024, 1, 31, 0, 0, tzinfo=dt.UTC), 34),
        (NOW + DAY, 0),  # a clock ahead of ours is not a negative age
    ],
)
def test_months_are_whole_calendar_months(verified: dt.datetime, months: int) -> None:
    assert months_between(verified, NOW) == months


def test_months_count_across_time_zones() -> None:
    tokyo = dt.timezone(dt.timedelta(hours=9))
    # 2026-11-06 20:00 in Tokyo is 11:00 UTC: a month and an hour before NOW
    assert months_between(dt.datetime(2026, 11, 6, 20, 0, tzinfo=tokyo), NOW) == 1


def test_freshness_says_months_and_staleness() -> None:
    assert freshness(None, 180, NOW) == Freshness(months=None, stale=True)
    assert freshness(NOW - 10 * DAY, 180, NOW) == Freshness(months=0, stale=False)
    assert freshness(NOW - 200 * DAY, 180, NOW) == Freshness(months=6, stale=True)
    assert freshness(NOW - 200 * DAY, 365, NOW) == Freshness(months=6, stale=False)


def test_the_setting_defaults_to_180_days_and_refuses_nonsense() -> None:
    assert Settings().stale_after_days == 180
    assert Settings(stale_after_days=30).stale_after_days == 30
    with pytest.raises(ValueError, match="stale_after_days"):
        Settings(stale_after_days=0)
