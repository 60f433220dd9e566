"""The weekly hours editor: a grid of days (up to two opening periods each), dated exceptions
(a closure or special hours) and a time zone, as HSDS schedules and back.

Its schedules have one canonical form, so a listing read, shown and saved unchanged compares
equal: one weekly schedule per distinct period (its days in week order), every one carrying the
hours as text and the time zone; a text alone when there are no weekly hours; then the
exceptions, each a ``DAILY`` schedule between two dates, closed when it has no times.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from functools import lru_cache
from typing import Any
from zoneinfo import available_timezones

from directory.listings.vocabularies import DAYS
from directory.web.forms import whole_number

PERIODS = (1, 2)
TIME = re.compile(r"^\d{1,2}:\d{2}(:\d{2})?$")
# Zones people live in (not Etc/GMT+5 or the old US/Eastern aliases).
ZONE_AREAS = frozenset(
    {
        "Africa",
        "America",
        "Antarctica",
        "Asia",
        "Atlantic",
        "Australia",
        "Europe",
        "Indian",
        "Pacific",
    }
)


def N_(message: str) -> str:
    return message


NOT_A_TIME = N_("Not a valid time.")
BOTH_TIMES = N_("Give both the opening and the closing time.")
NOT_A_DATE = N_("Not a valid date.")
FROM_DATE = N_("Give the first day.")
DATES_ORDER = N_("The last day comes before the first.")
CLOSED_OR_HOURS = N_("Uncheck Closed to give this day's hours.")


@lru_cache
def zones() -> list[str]:
    """IANA time zones to choose from, by name."""
    return sorted(z for z in available_timezones() if z.split("/")[0] in ZONE_AREAS)


def hours_values(prefix: str, schedules: list[dict[str, Any]]) -> dict[str, str]:
    """The editor's fields (named ``{prefix}-...``) of an owner's schedules."""
    values: dict[str, str] = {}
    zone = next((s["timezone"] for s in schedules if s.get("timezone")), None)
    grid: dict[str, list[tuple[str, str]]] = {day: [] for day in DAYS}
    text, exceptions = None, []
    for schedule in schedules:
        if schedule.get("valid_from") or schedule.get("valid_to"):
            exceptions.append(schedule)
            continue
        if _weekly(schedule):
            for day in schedule["byday"].split(","):
                if day in grid:
                    grid[day].append((schedule["opens_at"][:5], schedule["closes_at"][:5]))
        text = text or schedule.get("description")
    values[f"{prefix}-tz"] = zone or ""
    values[f"{prefix}-text"] = text or ""
    for day, periods in grid.items():
        for number, (opens, closes) in enumerate(sorted(periods)[: len(PERIODS)], start=1):
            values[f"{prefix}-{day}-{number}-opens"] = opens
            values[f"{prefix}-{day}-{number}-closes"] = closes
        if not periods and any(grid.values()):
            values[f"{prefix}-{day}-closed"] = "on"
    values[f"{prefix}-exc-count"] = str(len(exceptions))
    for index, schedule in enumerate(exceptions):
        values.update(_exception_values(f"{prefix}-exc-{index}", schedule))
    return values


def _weekly(schedule: Mapping[str, Any]) -> bool:
    return bool(
        schedule.get("freq") == "WEEKLY"
        and schedule.get("byday")
        and schedule.get("opens_at")
        and schedule.get("closes_at")
    )


def _exception_values(name: str, schedule: Mapping[str, Any]) -> dict[str, str]:
    values = {
        f"{name}-from": schedule.get("valid_from") or "",
        f"{name}-to": schedule.get("valid_to") or "",
        f"{name}-note": schedule.get("description") or "",
    }
    if schedule.get("opens_at") and schedule.get("closes_at"):
        values[f"{name}-opens"] = schedule["opens_at"][:5]
        values[f"{name}-closes"] = schedule["closes_at"][:5]
    else:
        values[f"{name}-closed"] = "on"
    return values


def hours_schedules(
    prefix: str, form: Mapping[str, str], errors: dict[str, str]
) -> list[dict[str, Any]]:
    """The schedules the editor's fields (``{prefix}-...``) say; problems go to ``errors`` by
    field name."""
    zone = _value(form, f"{prefix}-tz")
    text = _value(form, f"{prefix}-text")
    groups: dict[tuple[str, str], list[str]] = {}
    for day in DAYS:
        periods = [p for n in PERIODS if (p := _period(form, f"{prefix}-{day}-{n}", errors))]
        if form.get(f"{prefix}-{day}-closed"):
            if periods:
                errors.setdefault(f"{prefix}-{day}-closed", CLOSED_OR_HOURS)
            continue
        for period in sorted(periods):
            groups.setdefault(period, []).append(day)
    schedules: list[dict[str, Any]] = [
        {
            "freq": "WEEKLY",
            "byday": ",".join(days),
            "opens_at": opens,
            "closes_at": closes,
            "timezone": zone,
            "description": text,
        }
        for (opens, closes), days in groups.items()
    ]
    if not schedules and text:
        schedules.append({"description": text, "timezone": zone})
    for index in range(count(form, f"{prefix}-exc")):
        found = _exception(f"{prefix}-exc-{index}", form, errors)
        if found:
            schedules.append({**found, "timezone": zone})
    return schedules


def _period(form: Mapping[str, str], name: str, errors: dict[str, str]) -> tuple[str, str] | None:
    opens = _time(form, f"{name}-opens", errors)
    closes = _time(form, f"{name}-closes", errors)
    if opens and closes:
        return opens, closes
    if opens or closes:
        errors.setdefault(f"{name}-{'closes' if opens else 'opens'}", BOTH_TIMES)
    return None


def _exception(name: str, form: Mapping[str, str], errors: dict[str, str]) -> dict[str, Any]:
    """A dated closure or special hours (nothing when the row is blank)."""
    first = _date(form, f"{name}-from", errors)
    last = _date(form, f"{name}-to", errors) or first
    note = _value(form, f"{name}-note")
    period = None if form.get(f"{name}-closed") else _period(form, name, errors)
    if not (first or last or note or period):
        return {}
    if first is None:
        errors.setdefault(f"{name}-from", FROM_DATE)
    elif last is not None and last < first:
        errors.setdefault(f"{name}-to", DATES_ORDER)
    opens, closes = period or (None, None)
    return {
        "freq": "DAILY",
        "valid_from": first,
        "valid_to": last,
        "opens_at": opens,
        "closes_at": closes,
        "description": note,
    }


def _time(form: Mapping[str, str], name: str, errors: dict[str, str]) -> str | None:
    text = _value(form, name)
    if text is None:
        return None
    try:
        if not TIME.match(text):
            raise ValueError(text)
        return dt.time.fromisoformat(text.zfill(5) if len(text) < 5 else text).strftime("%H:%M")
    except ValueError:
        errors.setdefault(name, NOT_A_TIME)
        return None


def _date(form: Mapping[str, str], name: str, errors: dict[str, str]) -> str | None:
    text = _value(form, name)
    if text is None:
        return None
    try:
        return dt.date.fromisoformat(text).isoformat()
    except ValueError:
        errors.setdefault(name, NOT_A_DATE)
        return None


def _value(form: Mapping[str, str], name: str) -> str | None:
    return form.get(name, "").strip() or None


def count(form: Mapping[str, str], prefix: str) -> int:
    """How many rows of a repeated group the form holds (its ``{prefix}-count`` field)."""
    text = form.get(f"{prefix}-count", "0")
    return min(whole_number(text, most=10_000) or 0, 200)
