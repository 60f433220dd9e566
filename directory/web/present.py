"""How listings read on a page: address lines, directions, hours by day, open now, a text to
share with a mentee."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote, urlencode

from directory.listings.read_schemas import LocationRead, ScheduleRead, ServiceRead
from directory.search.documents import hours_text, local_zone, open_minutes
from directory.search.meili_filters import open_at

DAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")


def address_line(address: Mapping[str, Any] | Any | None) -> str:
    """One line: street, city, state ZIP."""
    if address is None:
        return ""
    get = address.get if isinstance(address, Mapping) else lambda k: getattr(address, k, None)
    street = ", ".join(filter(None, [get("address_1"), get("address_2")]))
    region = " ".join(filter(None, [get("state_province"), get("postal_code")]))
    return ", ".join(filter(None, [street, get("city"), region]))


def directions_url(address: Mapping[str, Any] | Any | None) -> str | None:
    """A maps link to the address (the phone's maps app opens it)."""
    line = address_line(address)
    if not line:
        return None
    return "https://www.google.com/maps/dir/?" + urlencode({"api": "1", "destination": line})


def week(schedules: list[ScheduleRead]) -> list[tuple[str, list[str]]]:
    """Opening times per weekday (MO..SU), as "09:00-17:00" (an en dash); days without hours
    left out."""
    by_day: dict[str, list[str]] = {day: [] for day in DAYS}
    for s in schedules:
        if not (s.byday and s.opens_at and s.closes_at):
            continue
        for day in s.byday.split(","):
            if day.strip() in by_day:
                by_day[day.strip()].append(f"{s.opens_at:%H:%M}\u2013{s.closes_at:%H:%M}")
    return [(day, sorted(times)) for day, times in by_day.items() if times]


def is_open(schedules: list[ScheduleRead], zone: str | None, now: dt.datetime) -> bool | None:
    """Open at ``now`` in the listing's time zone; None when the hours are unknown."""
    return open_at(open_minutes(schedules), zone, now)


def sites(service: ServiceRead) -> list[dict[str, object]]:
    """Each site with its address, hours in its own time zone, and whether it is open now."""
    now = dt.datetime.now(dt.UTC)
    entries: list[dict[str, object]] = []
    located: list[LocationRead | None] = [*service.locations] or [None]
    for site in located:
        schedules = (site.schedules if site else []) or service.schedules
        zone = local_zone(schedules, site.addresses[0] if site and site.addresses else None)
        entries.append(
            {
                "site": site,
                "address": site.addresses[0] if site and site.addresses else None,
                "week": week(schedules),
                "hours": hours_text(schedules),
                "zone": zone,
                "open": is_open(schedules, zone, now),
                "phones": [*(site.phones if site else []), *service.phones],
            }
        )
    return entries


def share_text(service: ServiceRead) -> str:
    """What a mentee gets: the service's name, phone, address and hours, nothing about them."""
    site = service.locations[0] if service.locations else None
    phones = [*(site.phones if site else []), *service.phones]
    schedules = (site.schedules if site else []) or service.schedules
    lines = [service.name, service.organization.name]
    if phones:
        lines.append(phones[0].display)
    if site is not None and site.addresses:
        lines.append(address_line(site.addresses[0]))
    hours = hours_text(schedules)
    if hours:
        lines.append(hours)
    if service.url:
        lines.append(service.url)
    return "\n".join(lines)


def sms_body_url(text: str) -> str:
    """An ``sms:`` link that opens the messages app with the text filled in (no number: the
    mentor picks the mentee there, so the directory never learns it)."""
    return "sms:?&body=" + quote(text)
