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
from directory.listings.read_schemas import AddressRead, LocationRead, ScheduleRead, ServiceRead
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


@dataclass
class Site:
    """A location of a listing, as far as its documents read it."""

    id: uuid.UUID
    service_at_location_id: uuid.UUID
    name: str | None
    location_type: str
    latitude: float | None
    longitude: float | None
    coordinates_approximate: bool
    addresses: list[AddressRead]
    accessibility: list[str]  # codes, in the listing's order
    phones: list[dict[str, Any]]  # as a result shows them (``PHONE_FIELDS``)
    schedules: list[ScheduleRead]


@dataclass
class Listing:
    """What a searchable listing's documents are made of: read from a whole listing
    (:func:`from_read`) or, for many at once, by :mod:`directory.search.documents_sql`."""

    id: uuid.UUID
    name: str
    alternate_name: str | None
    description: str | None
    url: str | None
    minimum_age: int | None
    maximum_age: int | None
    last_verified_at: dt.datetime | None
    capacity_status: str | None
    capacity_updated_at: dt.datetime | None
    organization: str
    organization_website: str | None
    demo: bool
    needs: list[tuple[str, str]]  # (code, name), in the taxonomy's order
    languages: list[str]
    costs: list[str]  # cost options, in the listing's order
    phones: list[dict[str, Any]]
    schedules: list[ScheduleRead]
    service_areas: list[tuple[str, list[str]]]  # (name, regions)
    crisis_channels: list[dict[str, Any]]  # as ``CrisisChannelRead`` dumps them
    locations: list[Site]


PHONE_FIELDS = ("display", "tel_uri", "type", "extension", "description")


def searchable(service: ServiceRead) -> bool:
    """Whether a listing belongs in search at all."""
    return service.curation_status == "published" and service.status == "active"


def from_read(service: ServiceRead) -> Listing:
    """The parts of a whole listing its documents read."""
    return Listing(
        id=service.id,
        name=service.name,
        alternate_name=service.alternate_name,
        description=service.description,
        url=service.url,
        minimum_age=service.minimum_age,
        maximum_age=service.maximum_age,
        last_verified_at=service.verification.last_verified_at,
        capacity_status=service.capacity_status,
        capacity_updated_at=service.capacity_updated_at,
        organization=service.organization.name,
        organization_website=service.organization.website,
        demo=service.demo,
        needs=[(need.code, need.name) for need in service.needs],
        languages=[lang.code for lang in service.languages],
        costs=[cost.option for cost in service.cost_options],
        phones=[_phone(phone) for phone in service.phones],
        schedules=service.schedules,
        service_areas=[(area.name, area.regions) for area in service.service_areas],
        crisis_channels=[channel.model_dump() for channel in service.crisis_channels],
        locations=[_site(location) for location in service.locations],
    )


def _site(location: LocationRead) -> Site:
    return Site(
        id=location.id,
        service_at_location_id=location.service_at_location_id,
        name=location.name,
        location_type=location.location_type,
        latitude=location.latitude,
        longitude=location.longitude,
        coordinates_approximate=location.coordinates_approximate,
        addresses=location.addresses,
        accessibility=[a.code for a in location.accessibility],
        phones=[_phone(phone) for phone in location.phones],
        schedules=location.schedules,
    )


def documents(
    service: ServiceRead | Listing, lineage: dict[str, tuple[str, ...]]
) -> list[Document]:
    """The documents of one listing (none when it is not searchable; a ``Listing`` is)."""
    if isinstance(service, ServiceRead):
        if not searchable(service):
            return []
        service = from_read(service)
    # A postal location (a P.O. box) is where mail goes: never a site to go to.
    sites = [loc for loc in service.locations if loc.location_type not in ("virtual", "postal")]
    remote = any(loc.location_type == "virtual" for loc in service.locations) or not sites
    found = [_document(service, lineage, loc) for loc in sites]
    if remote:
        found.append(_document(service, lineage, None))
    for doc in found:
        doc.sites = len(sites)
    return found


def _document(service: Listing, lineage: dict[str, tuple[str, ...]], site: Site | None) -> Document:
    needs = list(dict.fromkeys(code for c, _ in service.needs for code in lineage.get(c, (c,))))
    address = site.addresses[0] if site and site.addresses else None
    schedules = (site.schedules if site else []) or service.schedules
    description = service.description or ""
    body = _body(service, site, address, schedules)
    keywords = [k for code in needs for k in vocabulary().need_keywords.get(code, ())]
    related = [k for code in _narrower(needs, lineage) for k in vocabulary().need_keywords[code]]
    return Document(
        id=site.service_at_location_id if site else service.id,
        service_id=service.id,
        location_id=site.id if site else None,
        kind="site" if site else "area",
        name=service.name,
        needs=needs,
        languages=sorted(set(service.languages)),
        accessibility=sorted(set(site.accessibility)) if site else [],
        costs=sorted(set(service.costs)),
        regions=[] if site else _regions(service),
        minimum_age=service.minimum_age,
        maximum_age=service.maximum_age,
        latitude=site.latitude if site else None,
        longitude=site.longitude if site else None,
        open_minutes=open_minutes(schedules),
        timezone=local_zone(schedules, address),
        last_verified_at=service.last_verified_at,
        capacity_status=service.capacity_status,
        body=body,
        text={
            "A": " ".join(filter(None, [service.name, service.alternate_name])),
            "B": " ".join([*(name for _, name in service.needs), *keywords, *_facts(body)]),
            "C": " ".join(filter(None, [description, service.organization])),
            "D": " ".join(filter(None, [site.name if site else None, *_place_words(address)])),
            "R": " ".join(related),
        },
    )


def _body(
    service: Listing,
    site: Site | None,
    address: AddressRead | None,
    schedules: list[ScheduleRead],
) -> dict[str, Any]:
    """What a result shows of the document."""
    verified, heard = service.last_verified_at, service.capacity_updated_at
    return {
        "service_id": str(service.id),
        "location_id": str(site.id) if site else None,
        "name": service.name,
        "organization": service.organization,
        "demo": service.demo,
        "snippet": _snippet(service.description or ""),
        "needs": [{"code": code, "name": name} for code, name in service.needs],
        "languages": list(service.languages),
        "accessibility": list(site.accessibility) if site else [],
        "costs": sorted(set(service.costs)),
        "address": address.model_dump() if address else None,
        "location_name": site.name if site else None,
        "coordinates_approximate": site.coordinates_approximate if site else None,
        "phones": [*(site.phones if site else []), *service.phones],
        "crisis_channels": [dict(channel) for channel in service.crisis_channels],
        "website": service.url or service.organization_website,
        "hours": hours_text(schedules),
        "service_areas": [name for name, _ in service.service_areas],
        "last_verified_at": verified.isoformat() if verified else None,
        "capacity_status": service.capacity_status,
        "capacity_updated_at": heard.isoformat() if heard else None,
    }


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
    return {name: getattr(phone, name) for name in PHONE_FIELDS}


def _place_words(address: Any) -> list[str]:
    if address is None:
        return []
    return [w for w in (address.city, address.state_province, address.postal_code) if w]


def _regions(service: Listing) -> list[str]:
    """The regions a remote service serves: its service areas, else the states of its sites."""
    regions = {r for _, area in service.service_areas for r in area}
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
