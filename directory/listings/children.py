"""Building a listing's child rows (needs, phones, hours, places...) from its document."""

from __future__ import annotations

from sqlalchemy import delete, inspect
from sqlalchemy.orm import Session

from directory.listings.models import (
    Accessibility,
    Address,
    Attribute,
    CostOption,
    CrisisChannel,
    Language,
    Location,
    Phone,
    Schedule,
    Service,
    ServiceArea,
    ServiceAtLocation,
)
from directory.listings.phones import parse_phone
from directory.listings.schemas import (
    CostOptionIn,
    CrisisChannelIn,
    LanguageIn,
    LocationIn,
    PhoneIn,
    ScheduleIn,
    ServiceAreaIn,
    ServiceCreate,
    ServiceUpdate,
)
from directory.listings.taxonomy import resolve_needs
from directory.listings.vocabularies import language


def replace_lists(
    session: Session,
    service: Service,
    doc: ServiceCreate | ServiceUpdate,
    *,
    fields: tuple[str, ...],
) -> None:
    """Replace each named child list of the service with the document's."""
    if "needs" in fields:
        replace_needs(session, service, doc.needs or [])
    if "languages" in fields:
        service.languages = [_language(item, i) for i, item in enumerate(doc.languages or [])]
    if "phones" in fields:
        service.phones = [_phone(item, i) for i, item in enumerate(doc.phones or [])]
    if "schedules" in fields:
        service.schedules = [_schedule(item, i) for i, item in enumerate(doc.schedules or [])]
    if "service_areas" in fields:
        service.service_areas = [_area(item, i) for i, item in enumerate(doc.service_areas or [])]
    if "cost_options" in fields:
        service.cost_options = [_cost(item, i) for i, item in enumerate(doc.cost_options or [])]
    if "crisis_channels" in fields:
        channels = doc.crisis_channels or []
        service.crisis_channels = [_channel(item, i) for i, item in enumerate(channels)]
    if "locations" in fields:
        replace_locations(session, service, doc.locations or [])


def replace_needs(session: Session, service: Service, codes: list[str]) -> None:
    """Link the service to exactly these needs (HSDS attributes); unknown codes are a 422."""
    terms = resolve_needs(session, codes)
    session.execute(
        delete(Attribute).where(Attribute.link_entity == "service", Attribute.link_id == service.id)
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


def replace_locations(session: Session, service: Service, items: list[LocationIn]) -> None:
    """Give the service exactly these sites; its former sites are deleted."""
    if inspect(service).persistent:
        old = [sal.location for sal in service.service_at_locations]
        service.service_at_locations = []
        session.flush()
        for location in old:
            session.delete(location)
    for i, item in enumerate(items):
        service.service_at_locations.append(
            ServiceAtLocation(location=_location(service, item), position=i)
        )


def _location(service: Service, item: LocationIn) -> Location:
    return Location(
        organization=service.organization,
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


def _area(item: ServiceAreaIn, position: int) -> ServiceArea:
    return ServiceArea(position=position, **item.model_dump())


def _cost(item: CostOptionIn, position: int) -> CostOption:
    return CostOption(
        position=position,
        option=item.option,
        amount=item.amount,
        currency=item.currency,
        amount_description=item.amount_description or item.description,
    )
