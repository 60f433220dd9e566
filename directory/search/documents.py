"""Search documents: what the index holds for a listing, the same for both backends.

A published, active listing becomes one document per physical site (``site``: a point, the
site's accessibility) and, when it is reached remotely (a virtual location, or no location at
all, as for crisis lines), one ``area`` document carrying the regions it serves. A search shows
one result per listing (its nearest site in range, else its area document). A result shows the
document's body, whose ``demo`` marks the demo region's fictional listings on both backends, and
whose ``coordinates_approximate`` says a site's point is its ZIP code's centre, and whose
``capacity_status`` (with ``capacity_updated_at``) says whether it takes new clients.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field
from typing import Any

from directory.geo import offline_zips
from directory.listings.read_schemas import LocationRead, ScheduleRead, ServiceRead
from directory.search.vocabulary import vocabulary

DAY_MINUTES = 1440
DAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
SNIPPET = 200


@dataclass
class Document:
    id: uuid.UUID
    service_id: uuid.UUID
    location_id: uuid.UUID | None
    kind: str  # site | area
    name: str
    needs: list[str]  # each need with its ancestors
    languages: list[str]
    accessibility: list[str]
    costs: list[str]
    regions: list[str]
    minimum_age: int | None
    maximum_age: int | None
    latitude: float | None
    longitude: float | None
    open_minutes: list[tuple[int, int]] | None  # [start, end) minutes of the local week
    timezone: str | None
    last_verified_at: dt.datetime | None
    capacity_status: str | None  # accepting | waitlist | full | unknown; None: never asked
    body: dict[str, Any]
    # weight letter -> text to index: A name, B needs and their keywords, and the words for its
    # languages, costs and accessibility, C description and organization, D place, R the
    # keywords of the needs under the listing's (related)
    text: dict[str, str] = field(default_factory=dict)
    sites: int = 0  # how many site documents the listing has


def searchable(service: ServiceRead) -> bool:
    """Whether a listing belongs in search at all."""
    return service.curation_status == "published" and service.status == "active"


def documents(service: ServiceRead, lineage: dict[str, tuple[str, ...]]) -> list[Document]:
    """The documents of one listing (none when it is not searchable)."""
    if not searchable(service):
        return []
    # A postal location (a P.O. box) is where mail goes: never a site to go to.
    sites = [loc for loc in service.locations if loc.location_type not in ("virtual", "postal")]
    remote = any(loc.location_type == "virtual" for loc in service.locations) or not sites
    found = [_document(service, lineage, loc) for loc in sites]
    if remote:
        found.append(_document(service, lineage, None))
    for doc in found:
        doc.sites = len(sites)
    return found


def _document(
    service: ServiceRead, lineage: dict[str, tuple[str, ...]], site: LocationRead | None
) -> Document:
    direct = [need.code for need in service.needs]
    needs = list(dict.fromkeys(code for c in direct for code in lineage.get(c, (c,))))
    address = site.addresses[0] if site and site.addresses else None
    schedules = (site.schedules if site else []) or service.schedules
    timezone = local_zone(schedules, address)
    phones = [*(site.phones if site else []), *service.phones]
    description = service.description or ""
    body: dict[str, Any] = {
        "service_id": str(service.id),
        "location_id": str(site.id) if site else None,
        "name": service.name,
        "organization": service.organization.name,
        "demo": service.demo,
        "snippet": _snippet(description),
        "needs": [{"code": n.code, "name": n.name} for n in service.needs],
        "languages": [lang.code for lang in service.languages],
        "accessibility": [a.code for a in site.accessibility] if site else [],
        "costs": sorted({c.option for c in service.cost_options}),
        "address": address.model_dump() if address else None,
        "location_name": site.name if site else None,
        "coordinates_approximate": site.coordinates_approximate if site else None,
        "phones": [_phone(p) for p in phones],
        "crisis_channels": [c.model_dump() for c in service.crisis_channels],
        "website": service.url or service.organization.website,
        "hours": hours_text(schedules),
        "service_areas": [area.name for area in service.service_areas],
        "last_verified_at": (
            verified.isoformat() if (verified := service.verification.last_verified_at) else None
        ),
        "capacity_status": service.capacity_status,
        "capacity_updated_at": (
            heard.isoformat() if (heard := service.capacity_updated_at) else None
        ),
    }
    keywords = [k for code in needs for k in vocabulary().need_keywords.get(code, ())]
    related = [k for code in _narrower(needs, lineage) for k in vocabulary().need_keywords[code]]
    return Document(
        id=site.service_at_location_id if site else service.id,
        service_id=service.id,
        location_id=site.id if site else None,
        kind="site" if site else "area",
        name=service.name,
        needs=needs,
        languages=sorted({lang.code for lang in service.languages}),
        accessibility=sorted({a.code for a in site.accessibility}) if site else [],
        costs=sorted({c.option for c in service.cost_options}),
        regions=[] if site else _regions(service),
        minimum_age=service.minimum_age,
        maximum_age=service.maximum_age,
        latitude=site.latitude if site else None,
        longitude=site.longitude if site else None,
        open_minutes=open_minutes(schedules),
        timezone=timezone,
        last_verified_at=service.verification.last_verified_at,
        capacity_status=service.capacity_status,
        body=body,
        text={
            "A": " ".join(filter(None, [service.name, service.alternate_name])),
            "B": " ".join([*(n.name for n in service.needs), *keywords, *_facts(body)]),
            "C": " ".join(filter(None, [description, service.organization.name])),
            "D": " ".join(filter(None, [site.name if site else None, *_place_words(address)])),
            "R": " ".join(related),
        },
    )


def _facts(body: dict[str, Any]) -> list[str]:
    """The words for what a listing offers besides its needs: languages, costs, accessibility."""
    known = vocabulary()
    return [
        *known.facts("languages", body["languages"]),
        *known.facts("costs", body["costs"]),
        *known.facts("accessibility", body["accessibility"]),
    ]


def _narrower(needs: list[str], lineage: dict[str, tuple[str, ...]]) -> list[str]:
    """The needs under a listing's needs that it does not name itself, with keywords: a general
    mental health clinic also answers "depression", below a depression service."""
    wanted = set(needs)
    return [
        code
        for code, chain in lineage.items()
        if code not in wanted and wanted & set(chain[1:]) and code in vocabulary().need_keywords
    ]


def _snippet(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= SNIPPET else text[: SNIPPET - 1].rsplit(" ", 1)[0] + "…"


def _phone(phone: Any) -> dict[str, Any]:
    return {
        "display": phone.display,
        "tel_uri": phone.tel_uri,
        "type": phone.type,
        "extension": phone.extension,
        "description": phone.description,
    }


def _place_words(address: Any) -> list[str]:
    if address is None:
        return []
    return [w for w in (address.city, address.state_province, address.postal_code) if w]


def _regions(service: ServiceRead) -> list[str]:
    """The regions a remote service serves: its service areas, else the states of its sites."""
    regions = {r for area in service.service_areas for r in area.regions}
    if not regions:
        for loc in service.locations:
            for address in loc.addresses:
                state = (address.state_province or "").strip().upper()
                country = (address.country or "US").upper()
                regions.add(f"{country}-{state}" if len(state) == 2 else country)
    return sorted(regions)


def local_zone(schedules: list[ScheduleRead], address: Any | None) -> str | None:
    """A listing's own time zone: its hours', else its US ZIP's."""
    zone = next((s.timezone for s in schedules if s.timezone), None)
    if zone is None and address is not None and address.country in (None, "US"):
        place = offline_zips().place(address.postal_code)
        zone = place.timezone if place else None
    return zone


def open_minutes(schedules: list[ScheduleRead]) -> list[tuple[int, int]] | None:
    """Weekly opening spans in minutes of the local week, or None when the hours are unknown."""
    spans: list[tuple[int, int]] = []
    for schedule in schedules:
        if (schedule.freq or "").upper() != "WEEKLY" or not schedule.byday:
            continue
        if schedule.opens_at is None or schedule.closes_at is None:
            continue
        opens = schedule.opens_at.hour * 60 + schedule.opens_at.minute
        closes = schedule.closes_at.hour * 60 + schedule.closes_at.minute
        closes = DAY_MINUTES if closes >= DAY_MINUTES - 1 else closes  # 23:59 is midnight
        for day in schedule.byday.split(","):
            code = day.strip().upper()[-2:]
            if code not in DAYS:
                continue
            start = DAYS.index(code) * DAY_MINUTES
            if closes > opens:
                spans.append((start + opens, start + closes))
            else:  # overnight: until the next morning (Sunday night wraps to Monday)
                spans.append((start + opens, start + DAY_MINUTES))
                end_start = (start + DAY_MINUTES) % (7 * DAY_MINUTES)
                spans.append((end_start, end_start + closes))
    return sorted(spans) or None


def hours_text(schedules: list[ScheduleRead], today: dt.date | None = None) -> str | None:
    """Opening hours as people read them: each schedule's own words, else its structured times;
    dated schedules (a holiday closure) that are over are left out."""
    today = today or dt.date.today()
    parts = [_said(s) for s in schedules if not (s.valid_to and s.valid_to < today)]
    return "; ".join(dict.fromkeys(p for p in parts if p)) or None


def _said(schedule: ScheduleRead) -> str | None:
    if schedule.description:
        return schedule.description
    if schedule.byday and schedule.opens_at and schedule.closes_at:
        return f"{schedule.byday} {schedule.opens_at:%H:%M}-{schedule.closes_at:%H:%M}"
    return None
