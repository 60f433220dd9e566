"""The console's listings table: which listings match a coordinator's filters, a page at a time."""

from __future__ import annotations

import datetime as dt
import math
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator
from sqlalchemy import ColumnElement, Select, func, or_, select
from sqlalchemy.orm import Session

from directory.accounts.models import User
from directory.accounts.roles import require
from directory.errors import InvalidInput, NotFound
from directory.listings.models import Attribute, Organization, Provenance, Service, TaxonomyTerm
from directory.listings.schemas import CapacityStatus
from directory.listings.taxonomy import needs_taxonomy_id, with_descendants

PER_PAGE = 50
StatusChoice = Literal["draft", "published", "archived", "any"]
SortChoice = Literal["name", "oldest-verified"]


class ListingFilters(BaseModel):
    """The table's filters, as its GET form sends them (a blank field: no filter)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    status: StatusChoice | None = None
    stale: bool = False
    source: str | None = Field(default=None, max_length=200)
    need: str | None = Field(default=None, max_length=64, pattern=r"^[a-z0-9-]+$")
    capacity: CapacityStatus | None = None
    verified_before: dt.date | None = None
    q: str | None = Field(default=None, max_length=200)
    sort: SortChoice = "name"
    page: int = Field(default=1, ge=1, le=100_000)

    @field_validator("*", mode="before")
    @classmethod
    def _blank_is_default(cls, value: Any, info: ValidationInfo) -> Any:
        if isinstance(value, str) and not value.strip():
            assert info.field_name is not None
            return cls.model_fields[info.field_name].default
        return value.strip() if isinstance(value, str) else value

    @property
    def curation_status(self) -> str | None:
        """The status shown: the one chosen; published for stale listings, as the console's
        count of stale listings has it; else any."""
        if self.status is None:
            return "published" if self.stale else None
        return None if self.status == "any" else self.status

    def query(self, **changes: Any) -> str:
        """These filters as a query string (with ``changes``), blank ones left out."""
        values = {**self.model_dump(), **changes}
        values["stale"] = "1" if values["stale"] else None
        if values["sort"] == "name":
            values["sort"] = None
        if values["page"] == 1:
            values["page"] = None
        return urlencode({k: str(v) for k, v in values.items() if v not in (None, "")})


@dataclass(frozen=True)
class ListingRow:
    """A listing as the console's table and its page show it."""

    id: uuid.UUID
    name: str
    organization: str
    curation_status: str
    status: str
    capacity_status: str | None
    capacity_updated_at: dt.datetime | None
    last_verified_at: dt.datetime | None
    verified_by: str | None
    verification_method: str | None
    verification_note: str | None
    version: int
    sources: tuple[str, ...]
    needs: tuple[str, ...]


@dataclass(frozen=True)
class ListingTable:
    rows: list[ListingRow]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.per_page))


def listing_table(
    session: Session,
    reader: User,
    filters: ListingFilters,
    *,
    stale_after_days: int,
    zone: ZoneInfo,
    per_page: int = PER_PAGE,
) -> ListingTable:
    """A page of the listings that match the filters, with how many match in all (staff only).

    An unknown source or need is an ``InvalidInput`` naming its filter."""
    require(reader, "curate")
    query = _filtered(session, filters, stale_after_days=stale_after_days, zone=zone)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    name_order = (func.lower(Service.name), Service.id)
    if filters.sort == "oldest-verified":
        ordered = query.order_by(Service.last_verified_at.asc().nulls_first(), *name_order)
    else:
        ordered = query.order_by(*name_order)
    ids = list(session.scalars(ordered.limit(per_page).offset((filters.page - 1) * per_page)))
    return ListingTable(
        rows=rows_of(session, ids), total=total, page=filters.page, per_page=per_page
    )


def listing_row(session: Session, reader: User, service_id: uuid.UUID) -> ListingRow:
    """One listing, whatever its curation status, as the console shows it (staff only)."""
    require(reader, "curate")
    found = rows_of(session, [service_id])
    if not found:
        raise NotFound(f"no listing {service_id}")
    return found[0]


def _filtered(
    session: Session, filters: ListingFilters, *, stale_after_days: int, zone: ZoneInfo
) -> Select[Any]:
    """The ids of the listings that match the filters."""
    query: Select[Any] = select(Service.id).join(
        Organization, Organization.id == Service.organization_id
    )
    if status := filters.curation_status:
        query = query.where(Service.curation_status == status)
    if filters.stale:
        limit = dt.datetime.now(dt.UTC) - dt.timedelta(days=stale_after_days)
        query = query.where(_verified_before(limit))
    if filters.verified_before is not None:
        start = dt.datetime.combine(filters.verified_before, dt.time(), tzinfo=zone)
        query = query.where(_verified_before(start))
    if filters.capacity == "unknown":
        query = query.where(
            or_(Service.capacity_status.is_(None), Service.capacity_status == "unknown")
        )
    elif filters.capacity:
        query = query.where(Service.capacity_status == filters.capacity)
    if filters.source:
        if filters.source not in known_sources(session):
            raise InvalidInput(f"no listing comes from {filters.source!r}", field="source")
        from_source = select(Provenance.service_id).where(Provenance.source == filters.source)
        query = query.where(Service.id.in_(from_source))
    if filters.need:
        terms = with_descendants(session, filters.need)
        linked = select(Attribute.link_id).where(
            Attribute.link_entity == "service", Attribute.taxonomy_term_id.in_(terms)
        )
        query = query.where(Service.id.in_(linked))
    if filters.q:
        query = query.where(
            or_(
                Service.name.icontains(filters.q, autoescape=True),
                Organization.name.icontains(filters.q, autoescape=True),
            )
        )
    return query


def _verified_before(limit: dt.datetime) -> ColumnElement[bool]:
    """Never verified, or last verified before a time."""
    return or_(Service.last_verified_at.is_(None), Service.last_verified_at < limit)


def rows_of(session: Session, ids: Sequence[uuid.UUID]) -> list[ListingRow]:
    """The rows of listings in the order of ``ids`` (three queries, whatever their number)."""
    if not ids:
        return []
    query = (
        select(Service, Organization.name)
        .join(Organization, Organization.id == Service.organization_id)
        .where(Service.id.in_(ids))
    )
    found = {
        service.id: (service, organization) for service, organization in session.execute(query)
    }
    sources = _grouped(
        session,
        select(Provenance.service_id, Provenance.source).where(Provenance.service_id.in_(ids)),
    )
    needs = _grouped(
        session,
        select(Attribute.link_id, TaxonomyTerm.code)
        .join(TaxonomyTerm, TaxonomyTerm.id == Attribute.taxonomy_term_id)
        .where(Attribute.link_entity == "service", Attribute.link_id.in_(ids)),
    )
    return [_row(*found[i], sources.get(i, ()), needs.get(i, ())) for i in ids if i in found]


def _grouped(session: Session, query: Select[uuid.UUID, str]) -> dict[uuid.UUID, tuple[str, ...]]:
    """(id, value) rows as each id's distinct values, sorted."""
    grouped: dict[uuid.UUID, set[str]] = {}
    for key, value in session.execute(query):
        grouped.setdefault(key, set()).add(value)
    return {key: tuple(sorted(values)) for key, values in grouped.items()}


def _row(
    service: Service, organization: str, sources: tuple[str, ...], needs: tuple[str, ...]
) -> ListingRow:
    return ListingRow(
        id=service.id,
        name=service.name,
        organization=organization,
        curation_status=service.curation_status,
        status=service.status,
        capacity_status=service.capacity_status,
        capacity_updated_at=service.capacity_updated_at,
        last_verified_at=service.last_verified_at,
        verified_by=service.verified_by,
        verification_method=service.verification_method,
        verification_note=service.verification_note,
        version=service.version,
        sources=sources,
        needs=needs,
    )


def known_sources(session: Session) -> list[str]:
    """Every source listings came from (the table's source filter), sorted."""
    return list(session.scalars(select(Provenance.source).distinct().order_by(Provenance.source)))


def need_choices(session: Session) -> list[tuple[str, str]]:
    """(code, name) of every need, in the taxonomy's order (the table's need filter)."""
    query = (
        select(TaxonomyTerm.code, TaxonomyTerm.name)
        .where(TaxonomyTerm.taxonomy_id == needs_taxonomy_id(session))
        .order_by(TaxonomyTerm.position, TaxonomyTerm.code)
    )
    return [(code, name) for code, name in session.execute(query)]
