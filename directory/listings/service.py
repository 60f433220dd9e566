"""Listing commands: create, update, verify, archive and idempotent upsert by provenance."""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from typing import Any, Literal

from sqlalchemy import delete, func, inspect, select
from sqlalchemy.orm import Session

from directory.errors import Conflict, PreconditionFailed
from directory.listings import queries
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
    SearchOutbox,
    Service,
    ServiceArea,
    ServiceAtLocation,
)
from directory.listings.phones import parse_phone
from directory.listings.schemas import (
    CrisisChannelIn,
    LanguageIn,
    LocationIn,
    PhoneIn,
    ProvenanceIn,
    ScheduleIn,
    ServiceCreate,
    ServiceUpdate,
)
from directory.listings.taxonomy import resolve_needs
from directory.listings.vocabularies import language

# Ids derived from provenance are stable: re-seeding or re-importing finds the same rows.
ID_NAMESPACE = uuid.UUID("6f1c8a52-3c1e-4f0e-9a57-0d3b1f6c2e41")
SCALAR_FIELDS = (
    "name",
    "alternate_name",
    "description",
    "url",
    "email",
    "status",
    "curation_status",
    "interpretation_services",
    "application_process",
    "fees_description",
    "eligibility_description",
    "minimum_age",
    "maximum_age",
    "alert",
)
LIST_FIELDS = (
    "needs",
    "languages",
    "phones",
    "schedules",
    "locations",
    "service_areas",
    "cost_options",
    "crisis_channels",
)
Outcome = Literal["created", "updated", "unchanged"]


def stable_id(*parts: str) -> uuid.UUID:
    """A UUID derived from its parts (same parts, same id)."""
    return uuid.uuid5(ID_NAMESPACE, "\x1f".join(parts))


def create_service(
    session: Session,
    doc: ServiceCreate,
    *,
    service_id: uuid.UUID | None = None,
    content_hash: str | None = None,
) -> Service:
    """Create a whole listing from one nested document."""
    if doc.provenance:
        taken = session.scalar(
            select(Provenance.service_id).where(
                Provenance.source == doc.provenance.source,
                Provenance.external_id == doc.provenance.external_id,
            )
        )
        if taken is not None:
            raise Conflict(f"a listing with this provenance exists: {taken}", field="provenance")
        service_id = service_id or stable_id(
            "service", doc.provenance.source, doc.provenance.external_id
        )
    service = Service(id=service_id or uuid.uuid4(), version=1)
    with session.no_autoflush:  # build the whole listing, then write it at once
        service.organization = _organization(session, doc, service)
        _set_scalars(service, doc.model_dump(include=set(SCALAR_FIELDS)))
        _replace_lists(session, service, doc, fields=LIST_FIELDS)
        if doc.provenance:
            service.provenance = [_provenance(doc.provenance, content_hash)]
    session.add(service)
    session.flush()
    _record_change(session, service.id)
    return service


def update_service(
    session: Session, service_id: uuid.UUID, patch: ServiceUpdate, *, expected_version: int
) -> Service:
    """Apply a partial update when the caller has seen the current version."""
    service = queries.load_service(session, service_id)
    if service.version != expected_version:
        raise PreconditionFailed(
            f"listing is at version {service.version}, not {expected_version}: reload and retry"
        )
    given = patch.model_fields_set
    scalars = patch.model_dump(include=given & set(SCALAR_FIELDS))
    for required in ("name", "status", "curation_status"):
        if required in scalars and scalars[required] is None:
            scalars.pop(required)
    lists = tuple(f for f in LIST_FIELDS if f in given and getattr(patch, f) is not None)
    _replace_lists(session, service, patch, fields=lists)
    # Scalars last: the service row is written once, by _touch, so the version moves by one.
    _set_scalars(service, scalars)
    return _touch(session, service)


def verify_service(session: Session, service_id: uuid.UUID, *, by: str) -> Service:
    """Record that someone checked the listing just now."""
    service = queries.load_service(session, service_id)
    service.last_verified_at = dt.datetime.now(dt.UTC)
    service.verified_by = by
    return _touch(session, service)


def archive_service(session: Session, service_id: uuid.UUID) -> Service:
    """Take a listing out of search and listings for mentors; nothing is deleted."""
    service = queries.load_service(session, service_id)
    service.curation_status = "archived"
    return _touch(session, service)


def upsert_listing(
    session: Session,
    doc: ServiceCreate,
    *,
    verified_by: str | None = None,
    verified_at: dt.datetime | None = None,
) -> tuple[Outcome, uuid.UUID]:
    """Create or update the listing keyed by the document's provenance; unchanged when equal."""
    assert doc.provenance is not None, "upsert needs provenance"
    digest = hashlib.sha256(doc.model_dump_json().encode()).hexdigest()
    found = session.scalar(
        select(Provenance).where(
            Provenance.source == doc.provenance.source,
            Provenance.external_id == doc.provenance.external_id,
        )
    )
    if found is None:
        service = create_service(session, doc, content_hash=digest)
        outcome: Outcome = "created"
    elif found.content_hash == digest:
        return "unchanged", found.service_id
    else:
        service = queries.load_service(session, found.service_id)
        _replace_lists(session, service, doc, fields=LIST_FIELDS)
        _set_scalars(service, doc.model_dump(include=set(SCALAR_FIELDS)))
        found.content_hash = digest
        found.source_url = str(doc.provenance.source_url) if doc.provenance.source_url else None
        _touch(session, service)
        outcome = "updated"
    if verified_at is not None:
        service.last_verified_at, service.verified_by = verified_at, verified_by
    session.flush()
    return outcome, service.id


# ---- helpers ---------------------------------------------------------------------------------


def _touch(session: Session, service: Service) -> Service:
    service.updated_at = func.now()  # also bumps the version
    session.flush()
    _record_change(session, service.id)
    session.refresh(service, ["updated_at", "version"])
    return service


def _record_change(session: Session, service_id: uuid.UUID) -> None:
    session.add(SearchOutbox(entity="service", entity_id=service_id, operation="upsert"))


def _set_scalars(service: Service, values: dict[str, Any]) -> None:
    for name, value in values.items():
        setattr(service, name, str(value) if name == "url" and value is not None else value)


def _organization(session: Session, doc: ServiceCreate, service: Service) -> Organization:
    source = doc.provenance.source if doc.provenance else "api"
    org_id = stable_id("organization", source, doc.organization.name.casefold())
    organization = session.get(Organization, org_id)
    if organization is None:
        fields = doc.organization.model_dump(exclude={"url"})
        website = str(doc.organization.url) if doc.organization.url else None
        organization = Organization(id=org_id, website=website, **fields)
        session.add(organization)
    return organization


def _provenance(doc: ProvenanceIn, content_hash: str | None) -> Provenance:
    return Provenance(
        source=doc.source,
        external_id=doc.external_id,
        content_hash=content_hash,
        source_url=str(doc.source_url) if doc.source_url else None,
        retrieved_at=dt.datetime.now(dt.UTC),
    )


def _replace_lists(
    session: Session,
    service: Service,
    doc: ServiceCreate | ServiceUpdate,
    *,
    fields: tuple[str, ...],
) -> None:
    """Replace each named child list of the service with the document's."""
    if "needs" in fields:
        terms = resolve_needs(session, doc.needs or [])
        session.execute(
            delete(Attribute).where(
                Attribute.link_entity == "service", Attribute.link_id == service.id
            )
        )
        session.add_all(
            Attribute(
                link_id=service.id,
                link_entity="service",
                link_type="need",
                taxonomy_term_id=term_id,
                value=code,
            )
            for code, term_id in terms.items()
        )
    if "languages" in fields:
        service.languages = [_language(item, i) for i, item in enumerate(doc.languages or [])]
    if "phones" in fields:
        service.phones = [_phone(item, i) for i, item in enumerate(doc.phones or [])]
    if "schedules" in fields:
        service.schedules = [_schedule(item, i) for i, item in enumerate(doc.schedules or [])]
    if "service_areas" in fields:
        service.service_areas = [
            ServiceArea(position=i, **item.model_dump())
            for i, item in enumerate(doc.service_areas or [])
        ]
    if "cost_options" in fields:
        service.cost_options = [
            CostOption(
                position=i,
                option=item.option,
                amount=item.amount,
                currency=item.currency,
                amount_description=item.amount_description or item.description,
            )
            for i, item in enumerate(doc.cost_options or [])
        ]
    if "crisis_channels" in fields:
        service.crisis_channels = [
            _channel(item, i) for i, item in enumerate(doc.crisis_channels or [])
        ]
    if "locations" in fields:
        _replace_locations(session, service, doc.locations or [])


def _replace_locations(session: Session, service: Service, items: list[LocationIn]) -> None:
    if inspect(service).persistent:
        old = [sal.location for sal in service.service_at_locations]
        service.service_at_locations = []
        session.flush()
        for location in old:
            session.delete(location)
    for i, item in enumerate(items):
        location = Location(
            organization_id=service.organization.id,
            location_type=item.location_type,
            name=item.name,
            description=item.description,
            transportation=item.transportation,
            latitude=item.latitude,
            longitude=item.longitude,
            addresses=[Address(**item.address.model_dump())] if item.address else [],
            accessibility=[
                Accessibility(
                    position=j, code=a.code, details=a.details, url=str(a.url) if a.url else None
                )
                for j, a in enumerate(item.accessibility)
            ],
            phones=[_phone(p, j) for j, p in enumerate(item.phones)],
            schedules=[_schedule(s, j) for j, s in enumerate(item.schedules)],
        )
        service.service_at_locations.append(ServiceAtLocation(location=location, position=i))


def _phone(item: PhoneIn, position: int) -> Phone:
    dialable = parse_phone(item.number, item.country)
    return Phone(
        number=item.number,
        country=item.country,
        extension=item.extension,
        type=item.type,
        description=item.description,
        e164=dialable.e164,
        display=dialable.display,
        tel_uri=dialable.tel_uri,
        position=position,
    )


def _channel(item: CrisisChannelIn, position: int) -> CrisisChannel:
    dialable = parse_phone(item.number, item.country) if item.number and item.country else None
    return CrisisChannel(
        channel=item.channel,
        number=item.number,
        country=item.country,
        keyword=item.keyword,
        url=str(item.url) if item.url else None,
        hours=item.hours,
        open_24_7=item.open_24_7,
        description=item.description,
        position=position,
        e164=dialable.e164 if dialable else None,
        display=dialable.display if dialable else None,
        tel_uri=dialable.tel_uri if dialable else None,
    )


def _language(item: LanguageIn, position: int) -> Language:
    code, name = language(item.code)
    return Language(code=code, name=name, note=item.note, position=position)


def _schedule(item: ScheduleIn, position: int) -> Schedule:
    values = item.model_dump()
    values["schedule_link"] = str(item.schedule_link) if item.schedule_link else None
    return Schedule(position=position, **values)
