"""A listing document as table rows, written with bulk INSERTs.

Creating a listing, replacing its lists on update, and importing thousands at once all go
through here: the document-to-rows mapping exists once, and a bulk import writes each table with
one multi-row INSERT per batch instead of object by object.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from psycopg.types.json import Jsonb
from sqlalchemy import Table, delete, select
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Session

from directory.listings.models import (
    Accessibility,
    Address,
    Attribute,
    Contact,
    CostOption,
    CrisisChannel,
    Language,
    ListingChange,
    Location,
    Organization,
    Phone,
    Provenance,
    Schedule,
    SearchOutbox,
    Service,
    ServiceArea,
    ServiceAtLocation,
)
from directory.listings.schemas import (
    ContactIn,
    CrisisChannelIn,
    LocationIn,
    PhoneIn,
    ScheduleIn,
    ServiceCreate,
    ServiceUpdate,
)
from directory.listings.vocabularies import language

# The label of a need's attribute row when an import inferred it from the listing's own words.
INFERRED_NEED = "inferred from name and description"
ORGANIZATION: Table = Organization.__table__  # type: ignore[assignment]
INSERT_ORDER: list[Table] = [
    t.__table__  # type: ignore[misc]
    for t in (
        Service,
        Location,
        Address,
        ServiceAtLocation,
        Phone,
        Schedule,
        Language,
        Accessibility,
        ServiceArea,
        CostOption,
        CrisisChannel,
        Contact,
        Attribute,
        Provenance,
        SearchOutbox,
        ListingChange,
    )
]
# The tables holding each child list of a service (locations own their own children).
LIST_TABLES = {
    "languages": Language,
    "phones": Phone,
    "schedules": Schedule,
    "service_areas": ServiceArea,
    "cost_options": CostOption,
    "crisis_channels": CrisisChannel,
    "contacts": Contact,
}


class JsonText(str):
    """A JSON value already serialised: written to a JSON column as it is, not encoded again."""


class Rows:
    """Rows waiting to be written, by table; organizations are upserted, the rest inserted."""

    def __init__(self) -> None:
        self.tables: dict[Table, list[dict[str, Any]]] = defaultdict(list)
        self.organizations: dict[uuid.UUID, dict[str, Any]] = {}

    def __len__(self) -> int:
        return sum(len(rows) for rows in self.tables.values())

    def add(self, table: Any, **row: Any) -> dict[str, Any]:
        """Queue one row (``table`` is a model class or a Table)."""
        self.tables[getattr(table, "__table__", table)].append(row)
        return row

    def write(self, session: Session) -> None:
        """Insert everything queued, parents before children, and forget it."""
        if self.organizations:
            statement = pg_insert(ORGANIZATION)
            columns = {
                c: statement.excluded[c]
                for c in ("name", "alternate_name", "description", "email", "website")
            }
            session.execute(
                statement.on_conflict_do_update(index_elements=["id"], set_=columns),
                list(self.organizations.values()),
            )
        for table in INSERT_ORDER:
            if self.tables.get(table):
                copy_rows(session, table, self.tables[table])
        self.tables.clear()
        self.organizations.clear()


def copy_rows(session: Session, table: Table, rows: list[dict[str, Any]]) -> None:
    """Write rows with COPY: several times faster than INSERTs for a bulk import."""
    session.flush()  # pending ORM changes go first, as a Core INSERT would autoflush them
    columns = list(rows[0])
    for column in columns:
        if column not in table.c:
            raise KeyError(f"{table.name} has no column {column}")
    names = ", ".join(f'"{c}"' for c in columns)
    json_columns = {c for c in columns if isinstance(table.c[c].type, JSONB)}
    encode = _json_value
    cursor = session.connection().connection.driver_connection.cursor()  # type: ignore[union-attr]
    with cursor.copy(f'COPY "{table.name}" ({names}) FROM STDIN') as copy:
        for row in rows:
            copy.write_row([encode(row[c]) if c in json_columns else row[c] for c in columns])


def _json_value(value: Any) -> Any:
    return value if value is None or isinstance(value, JsonText) else Jsonb(value)


def service_lists(
    rows: Rows,
    service_id: uuid.UUID,
    organization_id: uuid.UUID,
    doc: ServiceCreate | ServiceUpdate,
    fields: Iterable[str],
    need_ids: dict[str, uuid.UUID],
) -> None:
    """Queue the rows of the named child lists of a service."""
    for name in fields:
        items: list[Any] = getattr(doc, name) or []
        if name == "needs":
            inferred = set(getattr(doc, "inferred_needs", None) or ())
            for code in items:
                rows.add(
                    Attribute,
                    id=uuid.uuid4(),
                    link_id=service_id,
                    link_entity="service",
                    link_type="need",
                    taxonomy_term_id=need_ids[code],
                    value=code,
                    label=INFERRED_NEED if code in inferred else None,
                )
        elif name == "locations":
            for position, item in enumerate(items):
                _location(rows, service_id, organization_id, item, position)
        else:
            for position, item in enumerate(items):
                _child(rows, name, item, position, service_id)


def delete_lists(session: Session, service_ids: list[uuid.UUID], fields: Iterable[str]) -> None:
    """Delete the stored rows of the named child lists of services (before replacing them)."""
    session.flush()
    for name in fields:
        if name == "needs":
            session.execute(
                delete(Attribute).where(
                    Attribute.link_entity == "service", Attribute.link_id.in_(service_ids)
                )
            )
        elif name == "locations":
            sites = select(ServiceAtLocation.location_id).where(
                ServiceAtLocation.service_id.in_(service_ids)
            )
            session.execute(delete(Location).where(Location.id.in_(sites)))
        else:
            model: Any = LIST_TABLES[name]
            session.execute(delete(model).where(model.service_id.in_(service_ids)))


def _child(rows: Rows, name: str, item: Any, position: int, service_id: uuid.UUID) -> None:
    # Every row of one table carries the same keys: a bulk INSERT takes its columns from the first.
    if name == "phones":
        rows.add(Phone, **_phone(item, position), service_id=service_id, location_id=None)
    elif name == "schedules":
        rows.add(Schedule, **_schedule(item, position), service_id=service_id, location_id=None)
    elif name == "languages":
        code, label = language(item.code)
        rows.add(
            Language,
            id=uuid.uuid4(),
            code=code,
            name=label,
            note=item.note,
            position=position,
            service_id=service_id,
            location_id=None,
        )
    elif name == "service_areas":
        rows.add(
            ServiceArea,
            id=uuid.uuid4(),
            position=position,
            extent=None,
            service_id=service_id,
            **item.model_dump(),
        )
    elif name == "cost_options":
        rows.add(
            CostOption,
            id=uuid.uuid4(),
            position=position,
            option=item.option,
            amount=item.amount,
            currency=item.currency,
            valid_from=None,
            valid_to=None,
            amount_description=item.amount_description or item.description,
            service_id=service_id,
        )
    elif name == "crisis_channels":
        rows.add(CrisisChannel, **_channel(item, position), service_id=service_id)
    elif name == "contacts":
        rows.add(Contact, **_contact(item, position), service_id=service_id)


def _location(
    rows: Rows, service_id: uuid.UUID, organization_id: uuid.UUID, item: LocationIn, position: int
) -> None:
    location_id = uuid.uuid4()
    rows.add(
        Location,
        id=location_id,
        organization_id=organization_id,
        location_type=item.location_type,
        name=item.name,
        alternate_name=None,
        description=item.description,
        transportation=item.transportation,
        latitude=item.latitude,
        longitude=item.longitude,
        coordinates_approximate=item.coordinates_approximate,
    )
    rows.add(
        ServiceAtLocation,
        id=uuid.uuid4(),
        service_id=service_id,
        location_id=location_id,
        description=None,
        position=position,
    )
    if item.address:
        rows.add(Address, id=uuid.uuid4(), location_id=location_id, **item.address.model_dump())
    for j, access in enumerate(item.accessibility):
        rows.add(
            Accessibility,
            id=uuid.uuid4(),
            location_id=location_id,
            position=j,
            code=access.code,
            details=access.details,
            url=str(access.url) if access.url else None,
        )
    for j, phone in enumerate(item.phones):
        rows.add(Phone, **_phone(phone, j), service_id=None, location_id=location_id)
    for j, schedule in enumerate(item.schedules):
        rows.add(Schedule, **_schedule(schedule, j), service_id=None, location_id=location_id)


def _phone(item: PhoneIn, position: int) -> dict[str, Any]:
    dialable = item.dialable
    return {
        "id": uuid.uuid4(),
        "number": item.number,
        "country": item.country,
        "extension": item.extension,
        "type": item.type,
        "description": item.description,
        "e164": dialable.e164,
        "display": dialable.display,
        "tel_uri": dialable.tel_uri,
        "position": position,
    }


def _contact(item: ContactIn, position: int) -> dict[str, Any]:
    phones = [
        {k: v for k, v in _phone(phone, 0).items() if k not in ("id", "position")}
        for phone in item.phones
    ]
    return {
        "id": uuid.uuid4(),
        "name": item.name,
        "title": item.title,
        "department": item.department,
        "email": item.email,
        "phones": phones,
        "position": position,
    }


def _channel(item: CrisisChannelIn, position: int) -> dict[str, Any]:
    dialable = item.dialable
    return {
        "id": uuid.uuid4(),
        "channel": item.channel,
        "number": item.number,
        "country": item.country,
        "keyword": item.keyword,
        "url": str(item.url) if item.url else None,
        "hours": item.hours,
        "open_24_7": item.open_24_7,
        "description": item.description,
        "position": position,
        "e164": dialable.e164 if dialable else None,
        "display": dialable.display if dialable else None,
        "tel_uri": dialable.tel_uri if dialable else None,
    }


def _schedule(item: ScheduleIn, position: int) -> dict[str, Any]:
    values = item.model_dump()
    values["schedule_link"] = str(item.schedule_link) if item.schedule_link else None
    return {"id": uuid.uuid4(), "position": position, **values}
