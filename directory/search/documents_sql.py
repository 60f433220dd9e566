"""Many listings' document parts at once: a fixed number of set-based statements per batch.

The index sync reads listings here rather than through the ORM (``read_services``): loading whole
listings as ORM objects and API models cost more than the rest of the sync together (100,000
listings: 182-306 s). This reads only what :class:`~directory.search.documents.Listing` holds,
one statement per part for the whole batch, ordered as the listing's relationships order them;
the documents themselves are still made by :func:`~directory.search.documents.documents`, and a
test holds these listings' documents equal to the whole listings'.
"""

from __future__ import annotations

import gc
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Executable, Select, Table, Uuid, any_, cast, literal, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from directory.listings.demo import is_demo
from directory.listings.models import (
    Accessibility,
    Address,
    Attribute,
    CostOption,
    CrisisChannel,
    Language,
    Location,
    Organization,
    Phone,
    Provenance,
    Schedule,
    Service,
    ServiceArea,
    ServiceAtLocation,
    TaxonomyTerm,
)
from directory.listings.read_schemas import AddressRead, CrisisChannelRead, ScheduleRead
from directory.search.documents import PHONE_FIELDS, Listing, Site

Grouped = dict[uuid.UUID, list[Any]]
Make = Callable[[tuple[str, ...], list[Any]], Any]  # a part from its columns' names and values


SERVICE_FIELDS = (
    "id",
    "name",
    "alternate_name",
    "description",
    "url",
    "minimum_age",
    "maximum_age",
    "last_verified_at",
    "capacity_status",
    "capacity_updated_at",
)


@contextmanager
def collection_paused() -> Iterator[None]:
    """Python's cyclic garbage collector held off meanwhile: reading and building a batch's
    documents makes many short-lived objects, none in cycles (reference counting frees them),
    and the collector's passes over them took half the CPU time (20,000 listings: 2.6 of
    5.2 s, measured). It runs again after."""
    paused = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if paused:
            gc.enable()


def read_listings(session: Session, service_ids: Sequence[uuid.UUID]) -> list[Listing]:
    """The searchable listings (published, active) among these, in their order; the others
    (hidden, deleted) are left out."""
    return fetch_listings(session, service_ids)()


def fetch_listings(
    session: Session, service_ids: Sequence[uuid.UUID]
) -> Callable[[], list[Listing]]:
    """``read_listings`` in two steps: the rows are read now, and the listings made of them
    when the answer is called, with no database work (a rebuild makes them while the
    database writes the batch before: about a third of reading a batch)."""
    query = (
        select(
            Service.id.label("parent"),
            *_columns(Service, SERVICE_FIELDS),
            Organization.name.label("organization"),
            Organization.website.label("organization_website"),
        )
        .join(Organization, Organization.id == Service.organization_id)
        .where(
            _among(Service.id, service_ids),
            Service.curation_status == "published",
            Service.status == "active",
        )
    )
    services = _fetched(session, query, _dict)  # one row each
    ids = [row[0] for row in services.rows]
    if not ids:
        return lambda: []  # no listing
    parts = _service_parts(session, ids)
    sites = _sites(session, ids)

    def made() -> list[Listing]:
        found = services.grouped()
        grouped = {name: part.grouped() for name, part in parts.items()}
        located = sites()
        return [
            _listing(found[i][0], grouped, located.get(i, [])) for i in service_ids if i in found
        ]

    return made


def _listing(fields: dict[str, Any], parts: dict[str, Grouped], sites: list[Site]) -> Listing:
    key = fields["id"]
    return Listing(
        **fields,
        demo=is_demo(parts["provenance"].get(key, [])),
        needs=parts["needs"].get(key, []),
        languages=parts["languages"].get(key, []),
        costs=parts["costs"].get(key, []),
        phones=parts["phones"].get(key, []),
        schedules=parts["schedules"].get(key, []),
        service_areas=parts["service_areas"].get(key, []),
        crisis_channels=parts["crisis_channels"].get(key, []),
        locations=sites,
    )


def _service_parts(session: Session, ids: list[uuid.UUID]) -> dict[str, Rows]:
    """Each part of the services, grouped by service, in the order the listing shows it."""
    needs = (
        select(Attribute.link_id, TaxonomyTerm.code, TaxonomyTerm.name)
        .join(TaxonomyTerm, TaxonomyTerm.id == Attribute.taxonomy_term_id)
        .where(Attribute.link_entity == "service", _among(Attribute.link_id, ids))
        .order_by(TaxonomyTerm.position, TaxonomyTerm.code)
    )
    return {
        "needs": _fetched(session, needs, _tuple),
        "provenance": _fetched(
            session,
            _of(
                Provenance.service_id,
                ids,
                Provenance.source,
                order=(Provenance.created_at, Provenance.id),
            ),
            _first,
        ),
        "languages": _fetched(session, _of(Language.service_id, ids, Language.code), _first),
        "costs": _fetched(session, _of(CostOption.service_id, ids, CostOption.option), _first),
        "phones": _fetched(
            session, _of(Phone.service_id, ids, *_columns(Phone, PHONE_FIELDS)), _dict
        ),
        "schedules": _fetched(
            session, _of(Schedule.service_id, ids, *_schedule_columns()), _schedule
        ),
        "service_areas": _fetched(
            session,
            _of(ServiceArea.service_id, ids, ServiceArea.name, ServiceArea.regions),
            _tuple,
        ),
        "crisis_channels": _fetched(
            session,
            _of(
                CrisisChannel.service_id,
                ids,
                *_columns(CrisisChannel, CrisisChannelRead.model_fields),
            ),
            _dict,
        ),
    }


def _sites(session: Session, ids: list[uuid.UUID]) -> Callable[[], Grouped]:
    """The locations of the services, with their parts, by service in the listing's order (read
    now, made when called)."""
    rows = session.execute(
        select(
            ServiceAtLocation.service_id,
            ServiceAtLocation.id.label("service_at_location_id"),
            *_columns(Location, ("id", "name", "location_type", "coordinates_approximate")),
            Location.latitude,
            Location.longitude,
        )
        .join(Location, Location.id == ServiceAtLocation.location_id)
        .where(_among(ServiceAtLocation.service_id, ids))
        .order_by(ServiceAtLocation.position)
    ).all()
    places = list({row.id for row in rows})
    address_columns = _columns(Address, AddressRead.model_fields)
    addresses = _fetched(
        session,
        _of(
            Address.location_id, places, *address_columns, order=(Address.address_type, Address.id)
        ),
        _address,
    )
    access = _fetched(session, _of(Accessibility.location_id, places, Accessibility.code), _first)
    phones = _fetched(
        session, _of(Phone.location_id, places, *_columns(Phone, PHONE_FIELDS)), _dict
    )
    schedules = _fetched(
        session, _of(Schedule.location_id, places, *_schedule_columns()), _schedule
    )
    return lambda: _made_sites(rows, addresses, access, phones, schedules)


def _made_sites(rows: Sequence[Any], *parts: Rows) -> Grouped:
    addresses, access, phones, schedules = (part.grouped() for part in parts)
    found: Grouped = {}
    for row in rows:
        site = Site(
            id=row.id,
            service_at_location_id=row.service_at_location_id,
            name=row.name,
            location_type=row.location_type,
            latitude=None if row.latitude is None else float(row.latitude),
            longitude=None if row.longitude is None else float(row.longitude),
            coordinates_approximate=row.coordinates_approximate,
            addresses=addresses.get(row.id, []),
            accessibility=access.get(row.id, []),
            phones=phones.get(row.id, []),
            schedules=schedules.get(row.id, []),
        )
        found.setdefault(row.service_id, []).append(site)
    return found


def _of(
    parent: Any,
    parents: list[uuid.UUID],
    *columns: Any,
    order: tuple[Any, ...] = (),
) -> Select[Any]:
    """The columns of the parts whose ``parent`` column (their service's or location's id) is
    one of these, after the parent's id, in the relationship's order (``position`` unless
    given)."""
    return (
        select(parent.label("parent"), *columns)
        .where(_among(parent, parents))
        .order_by(*(order or (parent.table.c.position,)))
    )


def _among(column: Any, ids: Sequence[uuid.UUID]) -> ColumnElement[bool]:
    """``column = ANY(:ids)``, the ids sent as one array literal: thousands of IN parameters, or
    an array parameter (psycopg checks each element's quoting), cost more than the query. The
    literal is read into an array once, by a subquery: left a cast, a sequential scan read it
    anew for each row (a small table of 35 rows: 80 ms a batch of 2,000 listings)."""
    ids_text = literal("{" + ",".join(map(str, ids)) + "}")
    read_once = select(cast(ids_text, ARRAY(Uuid))).scalar_subquery()
    # cast again: an expression, where ANY ((SELECT ...)) would read as ANY over a subquery's rows
    return column == any_(cast(read_once, ARRAY(Uuid)))  # type: ignore[no-any-return]


@dataclass(frozen=True)
class Rows:
    """A statement's rows, made into parts by ``make`` when ``grouped``."""

    keys: tuple[str, ...]  # the names of the columns after the first
    rows: Sequence[Any]
    make: Make

    def grouped(self) -> Grouped:
        """The rows by their first column (the parent's id), each made from the columns after
        it."""
        found: Grouped = {}
        for parent, *values in self.rows:
            found.setdefault(parent, []).append(self.make(self.keys, values))
        return found


def _fetched(session: Session, query: Executable, make: Make) -> Rows:
    result = session.connection().execute(query)
    keys = tuple(result.keys())[1:]  # once: a row's own keys cost more than the row
    return Rows(keys, result.all(), make)  # fetched at once: row by row costs twice as much


def _columns(model: Any, names: Any) -> list[Any]:
    table: Table = model.__table__
    return [table.c[name] for name in names]


def _schedule_columns() -> list[Any]:
    return _columns(Schedule, ScheduleRead.model_fields)


def _first(keys: tuple[str, ...], values: list[Any]) -> Any:
    return values[0]


def _tuple(keys: tuple[str, ...], values: list[Any]) -> tuple[Any, ...]:
    return tuple(values)


def _dict(keys: tuple[str, ...], values: list[Any]) -> dict[str, Any]:
    return dict(zip(keys, values, strict=True))


def _schedule(keys: tuple[str, ...], values: list[Any]) -> ScheduleRead:
    return ScheduleRead.model_validate(_dict(keys, values))  # faster than model_construct


def _address(keys: tuple[str, ...], values: list[Any]) -> AddressRead:
    return AddressRead.model_validate(_dict(keys, values))
