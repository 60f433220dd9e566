"""Listing reads: load whole listings explicitly (relationships are lazy="raise")."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session, selectinload
from sqlalchemy.orm.interfaces import LoaderOption

from directory.errors import Forbidden, InvalidInput, NotFound
from directory.listings.models import (
    Attribute,
    CostOption,
    Location,
    Service,
    ServiceAtLocation,
    TaxonomyTerm,
)
from directory.listings.read_schemas import (
    LocationRead,
    NeedRef,
    ServicePage,
    ServiceRead,
    VerificationRead,
)
from directory.listings.rows import INFERRED_NEED
from directory.listings.taxonomy import with_descendants
from directory.types import COST_OPTIONS


def _whole_listing() -> list[LoaderOption]:
    location = selectinload(Service.service_at_locations).selectinload(ServiceAtLocation.location)
    return [
        selectinload(Service.organization),
        selectinload(Service.phones),
        selectinload(Service.schedules),
        selectinload(Service.languages),
        selectinload(Service.service_areas),
        selectinload(Service.cost_options),
        selectinload(Service.crisis_channels),
        selectinload(Service.contacts),
        selectinload(Service.provenance),
        location.selectinload(Location.addresses),
        location.selectinload(Location.accessibility),
        location.selectinload(Location.phones),
        location.selectinload(Location.schedules),
    ]


def load_service(
    session: Session,
    service_id: uuid.UUID,
    *,
    published_only: bool = False,
    for_update: bool = False,
) -> Service:
    """A whole listing with every child loaded; NotFound when absent (or hidden from readers).

    ``for_update`` locks the service row until the transaction ends, so writers queue.
    """
    query = (
        select(Service)
        .where(Service.id == service_id)
        .options(*_whole_listing())
        .execution_options(populate_existing=True)  # children may have been rewritten in bulk
    )
    if for_update:
        query = query.with_for_update(of=Service)
    service = session.scalars(query).one_or_none()
    if service is None or (published_only and service.curation_status != "published"):
        raise NotFound(f"no listing {service_id}")
    return service


def read_service(session: Session, service_id: uuid.UUID, *, published_only: bool) -> ServiceRead:
    """The whole listing as the API shows it. ``published_only`` is the view of a reader who
    is not staff (a mentor, a partner key): unpublished listings are hidden, and so is who
    verified a listing (a staff email)."""
    service = load_service(session, service_id, published_only=published_only)
    needs = _needs_of(session, [service.id]).get(service.id, [])
    return to_read(service, needs, staff=not published_only)


def list_services(
    session: Session,
    *,
    published_only: bool,
    status: str | None = None,
    curation_status: str | None = None,
    need: str | None = None,
    modified_after: dt.datetime | None = None,
    page: int = 1,
    per_page: int = 20,
) -> ServicePage:
    """A page of whole listings, newest change first. A reader who sees published listings
    only and asks for others is told so (Forbidden), not given the published ones."""
    if published_only and curation_status not in (None, "published"):
        raise Forbidden(
            f"only coordinators see {curation_status} listings: leave out curation_status",
            field="curation_status",
        )
    query: Select[Any] = select(Service.id)
    if published_only:
        query = query.where(Service.curation_status == "published")
    elif curation_status:
        query = query.where(Service.curation_status == curation_status)
    if status:
        query = query.where(Service.status == status)
    if modified_after:
        if modified_after.tzinfo is None:  # a time without a zone is read as UTC
            modified_after = modified_after.replace(tzinfo=dt.UTC)
        query = query.where(Service.updated_at > modified_after)
    if need:
        linked = select(Attribute.link_id).where(
            Attribute.link_entity == "service",
            Attribute.taxonomy_term_id.in_(with_descendants(session, need)),
        )
        query = query.where(Service.id.in_(linked))
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    ordered = query.order_by(Service.updated_at.desc(), Service.id)
    ids = list(session.scalars(ordered.limit(per_page).offset((page - 1) * per_page)))
    items = read_services(session, ids, staff=not published_only)
    return ServicePage(items=items, page=page, per_page=per_page, total=total)


def read_services(
    session: Session, ids: Sequence[uuid.UUID], *, staff: bool = False
) -> list[ServiceRead]:
    """Whole listings in the order of ``ids``, loaded in a fixed number of queries; who
    verified each only for ``staff``."""
    query = (
        select(Service)
        .where(Service.id.in_(ids))
        .options(*_whole_listing())
        .execution_options(populate_existing=True)
    )
    services = {s.id: s for s in session.scalars(query)}
    needs = _needs_of(session, ids)
    return [to_read(services[i], needs.get(i, []), staff=staff) for i in ids]


def _needs_of(session: Session, service_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, list[NeedRef]]:
    query = (
        select(Attribute.link_id, TaxonomyTerm.code, TaxonomyTerm.name, Attribute.label)
        .join(TaxonomyTerm, TaxonomyTerm.id == Attribute.taxonomy_term_id)
        .where(Attribute.link_entity == "service", Attribute.link_id.in_(service_ids))
        .order_by(TaxonomyTerm.position, TaxonomyTerm.code)
    )
    found: dict[uuid.UUID, list[NeedRef]] = {}
    for link_id, code, name, label in session.execute(query):
        need = NeedRef(code=code, name=name, inferred=label == INFERRED_NEED)
        found.setdefault(link_id, []).append(need)
    return found


LOCATION_FIELDS = (
    "id",
    "name",
    "location_type",
    "description",
    "transportation",
    "coordinates_approximate",
    "addresses",
    "accessibility",
    "phones",
    "schedules",
)


def to_read(service: Service, needs: list[NeedRef], *, staff: bool = False) -> ServiceRead:
    """Build the API view of a loaded listing; ``verified_by`` (a staff email) for staff only."""
    sites = sorted(service.service_at_locations, key=lambda s: s.position)
    fields = {
        name: getattr(service, name)
        for name in ServiceRead.model_fields
        if name not in ("needs", "locations", "verification")
    }
    verification = VerificationRead(
        last_verified_at=service.last_verified_at,
        verified_by=service.verified_by if staff else None,
    )
    return ServiceRead.model_validate(
        {
            **fields,
            "needs": needs,
            "locations": [_location_read(sal) for sal in sites],
            "verification": verification,
        }
    )


def _location_read(sal: ServiceAtLocation) -> LocationRead:
    location = sal.location
    return LocationRead.model_validate(
        {
            **{name: getattr(location, name) for name in LOCATION_FIELDS},
            "service_at_location_id": sal.id,
            "latitude": _float(location.latitude),
            "longitude": _float(location.longitude),
        }
    )


def _float(value: object) -> float | None:
    return None if value is None else float(value)  # type: ignore[arg-type]


def check_costs(session: Session, codes: Sequence[str], *, field: str = "cost") -> None:
    """An unknown cost option is a 422 naming the field, as an unknown need is: known are the
    common options and any a listing has."""
    wanted = [code for code in dict.fromkeys(codes) if code not in COST_OPTIONS]
    if not wanted:
        return
    held = select(CostOption.option).where(CostOption.option.in_(wanted)).distinct()
    unknown = [code for code in wanted if code not in set(session.scalars(held))]
    if unknown:
        common = ", ".join(COST_OPTIONS)
        raise InvalidInput(
            f"unknown cost option(s): {', '.join(unknown)}; common ones: {common}", field=field
        )
