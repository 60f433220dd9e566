"""Meilisearch filter expressions for a search, built only from quoted literals and checked numbers.

Inside a double-quoted filter value Meilisearch reads ``\\"`` as a quote and ``\\\\`` as a
backslash, and the value ends at the first unescaped quote. Every string reaches a filter through
:func:`literal` and every number through :func:`number`, so no value can close its quotes and add
operators of its own (``"x" OR 1=1``, ``AND``, ``TO``, ``EXISTS`` stay text).

Opening hours are filtered at 15-minute granularity: a document lists the quarter hours of its
local week (0..671) during which it is open for the whole quarter, and ``open_now`` asks, for each
time zone in the index, whether the current local quarter is one of them. The ``open_now`` of a
result is exact to the minute (:func:`open_at`), as on the postgres backend.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Sequence
from decimal import Decimal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from directory.search.places import Place
from directory.search.query import NOT_TAKING_CLIENTS, SearchQuery

ATTRIBUTE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
QUARTER = 15  # minutes
DAY_MINUTES = 1440
AGE_FLOOR, AGE_CEILING = 0, 200  # stored for missing age bounds, as postgres coalesces them
NOTHING = "open_quarters = -1"  # no quarter is -1: a filter that matches no document


def literal(value: str) -> str:
    """A string as a double-quoted filter value, its backslashes and quotes escaped."""
    if not isinstance(value, str):
        raise TypeError(f"filter values are strings, not {type(value).__name__}")
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def number(value: float) -> str:
    """A finite number as a filter value, in plain decimal notation (never ``1e-07``)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"not a number: {value!r}")
    if isinstance(value, int):
        return str(value)
    if not math.isfinite(value):
        raise ValueError(f"not a finite number: {value!r}")
    return format(Decimal(repr(value)), "f")


def _attribute(name: str) -> str:
    if not ATTRIBUTE.match(name):
        raise ValueError(f"not an attribute name: {name!r}")
    return name


def _value(value: str | int) -> str:
    return literal(value) if isinstance(value, str) else number(value)


def equals(attribute: str, value: str | int) -> str:
    """``attribute = value`` (for an array attribute: the array contains the value)."""
    return f"{_attribute(attribute)} = {_value(value)}"


def any_of(attribute: str, values: Sequence[str]) -> str:
    """``attribute IN [...]``: the attribute holds at least one of the values."""
    if not values:
        raise ValueError(f"{attribute} IN needs at least one value")
    return f"{_attribute(attribute)} IN [{', '.join(literal(v) for v in values)}]"


def none_of(attribute: str, values: Sequence[str]) -> str:
    """``attribute NOT IN [...]``: none of the values (a document without the attribute too)."""
    if not values:
        raise ValueError(f"{attribute} NOT IN needs at least one value")
    return f"{_attribute(attribute)} NOT IN [{', '.join(literal(v) for v in values)}]"


def at_most(attribute: str, value: float) -> str:
    return f"{_attribute(attribute)} <= {number(value)}"


def at_least(attribute: str, value: float) -> str:
    return f"{_attribute(attribute)} >= {number(value)}"


def both(*parts: str) -> str:
    """Every condition (each in parentheses, so precedence never depends on its content)."""
    return " AND ".join(f"({part})" for part in parts)


def either(*parts: str) -> str:
    """Any of the conditions."""
    return " OR ".join(f"({part})" for part in parts)


def geo_radius(latitude: float, longitude: float, meters: float) -> str:
    """Documents whose ``_geo`` lies within ``meters`` (whole meters, as documented)."""
    return f"_geoRadius({number(latitude)}, {number(longitude)}, {number(round(meters))})"


def geo_point(latitude: float, longitude: float) -> str:
    """The sort rule "nearest first"; it also makes Meilisearch return ``_geoDistance``."""
    return f"_geoPoint({number(latitude)}, {number(longitude)}):asc"


# --- opening hours -------------------------------------------------------------------------------


def open_quarters(spans: Sequence[Sequence[int]]) -> list[int]:
    """The quarter hours of the local week (0..671) that a service is open for in full."""
    return sorted({q for start, end in spans for q in range(-(-start // QUARTER), end // QUARTER)})


def week_minute(now: dt.datetime, zone: str) -> int | None:
    """The minute of the local week (Monday 00:00 is 0) in a time zone; None for an unknown zone."""
    try:
        local = now.astimezone(ZoneInfo(zone))
    except (ZoneInfoNotFoundError, ValueError):
        return None
    return (local.isoweekday() - 1) * DAY_MINUTES + local.hour * 60 + local.minute


def open_at(
    spans: Sequence[Sequence[int]] | None, zone: str | None, now: dt.datetime
) -> bool | None:
    """Whether a listing is open at ``now`` (to the minute); None when its hours are unknown."""
    if spans is None or zone is None:
        return None
    minute = week_minute(now, zone)
    if minute is None:
        return None
    return any(start <= minute < end for start, end in spans)


def open_now(zones: Sequence[str], now: dt.datetime, *, is_open: bool) -> str:
    """Open (or, known to be, closed) at ``now``: one condition per current local quarter."""
    by_quarter: dict[int, list[str]] = {}
    for zone in zones:
        minute = week_minute(now, zone)
        if minute is not None:
            by_quarter.setdefault(minute // QUARTER, []).append(zone)
    conditions = []
    for quarter, in_zones in sorted(by_quarter.items()):
        test = equals("open_quarters", quarter)
        if not is_open:  # hours known (the field exists) and this quarter not among them
            test = f"open_quarters EXISTS AND NOT {test}"
        conditions.append(both(any_of("timezone", in_zones), test))
    return either(*conditions) if conditions else NOTHING


# --- a whole search ------------------------------------------------------------------------------


def near(place: Place, meters: float) -> str:
    """Sites within the radius, or remote services that serve the place's regions."""
    site = both(equals("kind", "site"), geo_radius(place.latitude, place.longitude, meters))
    if not place.regions:
        return site
    return either(site, both(equals("kind", "area"), any_of("regions", place.regions)))


def query_filter(
    query: SearchQuery,
    place: Place | None,
    need_codes: Sequence[str],
    now: dt.datetime,
    zones: Sequence[str],
) -> str | None:
    """The filter of a search (None: none), with the conditions of the postgres backend."""
    parts: list[str] = []
    if need_codes:  # any chosen need (documents carry each need's ancestors)
        parts.append(any_of("needs", need_codes))
    parts += [equals("languages", code) for code in query.language]  # every language
    parts += [equals("accessibility", code) for code in query.accessibility]
    if query.cost:
        parts.append(any_of("costs", query.cost))
    if query.age is not None:
        parts += [at_most("minimum_age", query.age), at_least("maximum_age", query.age)]
    if query.mode != "any":
        parts.append(equals("kind", "site" if query.mode == "in_person" else "area"))
    if query.open_now is not None:
        parts.append(open_now(zones, now, is_open=query.open_now))
    if query.accepting:
        parts.append(none_of("capacity_status", NOT_TAKING_CLIENTS))
    if place is not None:
        parts.append(near(place, query.radius_km * 1000))
    return both(*parts) if parts else None
