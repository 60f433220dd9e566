"""Which published records the HSDS API's filters match, a page at a time, set-based.

Every query starts from the published services (``curation_status = 'published'``): a draft or
archived listing, and an organization, location or taxonomy term that only such a listing uses,
never matches. Each function returns the ids of one page (in a stable order) and the total;
``documents`` then turns the page's HSDS tables into the spec's documents.

- ``search`` is the search backend's own text matching (``search.postgres``: the same words,
  synonyms, corrections and named needs as ``/v1/search``), over the search index, which holds
  the published *active* listings: a published listing marked inactive is listed, never found
  by words.
- ``modified_after``: a listing is modified when any of its parts changed: its service row or
  any change recorded in its history (``listing_change``: its locations, phones, hours...), the
  same instant as its ``last_modified``.
- ``postcode`` + ``proximity`` (metres): sites within that distance of the ZIP code's centre;
  ``postcode`` alone: services whose service area covers the ZIP's state or country (or, with no
  service area, which have a site in that state), as search's "serves my area" reads regions.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any

from geoalchemy2 import Geography
from sqlalchemy import (
    ColumnElement,
    Select,
    String,
    and_,
    any_,
    cast,
    exists,
    false,
    func,
    literal,
    or_,
    select,
    true,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from directory.hsds.tables import row_of, table_queries
from directory.listings.models import (
    Address,
    Attribute,
    ListingChange,
    Location,
    Service,
    ServiceArea,
    ServiceAtLocation,
    TaxonomyTerm,
)
from directory.search import postgres
from directory.search.places import Place, resolve_place

PER_PAGE = 50
MAX_PER_PAGE = 100  # as the /v1 API's pages
MAX_PAGE = 100_000  # a million records deep: past any directory, within PostgreSQL's OFFSET
MAX_SEARCH = 200  # characters of a search
MAX_PROXIMITY = 500_000  # metres from a ZIP code's centre


@dataclass(frozen=True)
class Filters:
    """The API's filters of services and service_at_locations (None: not given)."""

    search: str | None = None
    taxonomy_term_id: uuid.UUID | None = None
    taxonomy_id: uuid.UUID | None = None
    organization_id: uuid.UUID | None = None
    modified_after: dt.datetime | None = None
    postcode: str | None = None
    proximity: float | None = None  # metres, with postcode


@dataclass(frozen=True)
class IdPage:
    ids: list[uuid.UUID]
    total: int
    page: int
    per_page: int


def published() -> Select[Any]:
    """The ids of the published services."""
    return select(Service.id).where(Service.curation_status == "published")


def service_ids(
    session: Session, filters: Filters, *, page: int = 1, per_page: int | None = None
) -> IdPage:
    """A page of the published services matching ``filters``, by name."""
    query = _services(session, filters).add_columns(Service.name)
    return _page(session, query, (Service.name, Service.id), page=page, per_page=per_page)


def service_at_location_ids(
    session: Session, filters: Filters, *, page: int = 1, per_page: int | None = None
) -> IdPage:
    """A page of the published services' service_at_locations matching ``filters``."""
    sal = ServiceAtLocation
    matching = _services(session, filters).subquery()
    query = (
        select(sal.id)
        .join(Service, Service.id == sal.service_id)
        .where(sal.service_id.in_(select(matching.c.id)))
    )
    if filters.postcode is not None:
        query = query.where(_near_postcode(_place(session, filters.postcode), filters.proximity))
    order = (Service.name, sal.service_id, sal.position, sal.id)
    return _page(session, query, order, page=page, per_page=per_page)


def services_of(session: Session, organization_ids: Sequence[uuid.UUID]) -> list[uuid.UUID]:
    """The published services of these organizations (their own, or run at their locations)."""
    at_their_sites = select(ServiceAtLocation.service_id).join(
        Location, Location.id == ServiceAtLocation.location_id
    )
    query = published().where(
        or_(
            Service.organization_id.in_(organization_ids),
            Service.id.in_(at_their_sites.where(Location.organization_id.in_(organization_ids))),
        )
    )
    return list(session.scalars(query))


def services_at(session: Session, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, uuid.UUID]:
    """The service of each published service_at_location among ``ids``."""
    sal = ServiceAtLocation
    query = select(sal.id, sal.service_id).where(sal.id.in_(ids), sal.service_id.in_(published()))
    return {row.id: row.service_id for row in session.execute(query)}


def table_page(
    session: Session,
    table: str,
    *,
    page: int,
    per_page: int,
    equal: dict[str, Any] | None = None,
    among: Select[Any] | Collection[uuid.UUID] | None = None,
    top_only: bool = False,
    search: str | None = None,
) -> tuple[list[dict[str, Any]], int]:
    """A page of one HSDS table's rows (those the published services use), by name: the rows
    of ``table_queries``, with columns ``equal`` to values, ids ``among`` a select's, only
    those without a parent (``top_only``), and ``search`` in their names or codes."""
    rows = table_queries()[table].subquery()
    conditions = [rows.c[name] == value for name, value in (equal or {}).items()]
    if among is not None:
        conditions.append(rows.c.id.in_(among))
    if top_only:
        conditions.append(rows.c.parent_id.is_(None))
    if search and search.strip():
        wanted = f"%{_escaped(search.strip())}%"
        named = [rows.c[c].ilike(wanted, escape="\\") for c in ("name", "code") if c in rows.c]
        conditions.append(or_(*named))
    query = select(rows).where(*conditions)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    found = session.execute(
        query.order_by(rows.c.name, rows.c.id).limit(per_page).offset((page - 1) * per_page)
    ).mappings()
    return [row_of(table, row) for row in found], total


def organizations_matching(session: Session, words: str) -> Select[Any]:
    """The organizations of the published services the words find."""
    return select(Service.organization_id).where(
        Service.id.in_(_matching_words(session, words)), Service.curation_status == "published"
    )


# --- the filters --------------------------------------------------------------------------


def _services(session: Session, filters: Filters) -> Select[Any]:
    query = published()
    if filters.search and filters.search.strip():
        query = query.where(Service.id.in_(_matching_words(session, filters.search)))
    if filters.taxonomy_term_id is not None:
        query = query.where(
            Service.id.in_(_with_terms(TaxonomyTerm.id == filters.taxonomy_term_id))
        )
    if filters.taxonomy_id is not None:
        taxonomy = TaxonomyTerm.taxonomy_id == filters.taxonomy_id
        query = query.where(Service.id.in_(_with_terms(taxonomy)))
    if filters.organization_id is not None:
        query = query.where(Service.organization_id == filters.organization_id)
    if filters.modified_after is not None:
        query = query.where(_changed_since(filters.modified_after))
    return query


def _matching_words(session: Session, words: str) -> Select[Any]:
    """The services whose search documents match the words, as ``/v1/search`` matches them."""
    # the search backend's own matcher (words, synonyms, corrections, named needs)
    condition = postgres.word_condition(session, words, None)
    return select(postgres.D.c.service_id).where(true() if condition is None else condition)


def _with_terms(which: ColumnElement[bool]) -> Select[Any]:
    return (
        select(Attribute.link_id)
        .join(TaxonomyTerm, TaxonomyTerm.id == Attribute.taxonomy_term_id)
        .where(Attribute.link_entity == "service", which)
    )


def _changed_since(since: dt.datetime) -> ColumnElement[bool]:
    # The same instant as last_modified (greatest of the two), each side on its own index.
    history = exists().where(
        ListingChange.service_id == Service.id, ListingChange.last_action_date >= since
    )
    return or_(Service.updated_at >= since, history)


def _place(session: Session, postcode: str) -> Place:
    place = resolve_place(session, None, postcode, None)  # an unknown ZIP: 422 on postcode
    assert place is not None
    return place


def _near_postcode(place: Place, proximity: float | None) -> ColumnElement[bool]:
    """A service_at_location near the ZIP's centre, or one of a service serving its area."""
    point = cast(
        func.ST_SetSRID(func.ST_MakePoint(place.longitude, place.latitude), 4326),
        Geography(srid=4326),
    )
    if proximity is not None:
        near = select(Location.id).where(func.ST_DWithin(Location.point, point, proximity))
        return ServiceAtLocation.location_id.in_(near)
    regions = cast(literal(place.regions), ARRAY(String))
    area = ServiceArea
    covers = exists().where(
        area.service_id == Service.id,
        or_(area.regions.op("&&")(regions), func.ST_Covers(area.extent, point)),
    )
    has_area = exists().where(
        area.service_id == Service.id,
        or_(func.cardinality(area.regions) > 0, area.extent.is_not(None)),
    )
    state = (
        func.upper(func.coalesce(Address.country, "US")) + "-" + func.upper(Address.state_province)
    )
    site_in_region = exists().where(
        ServiceAtLocation.service_id == Service.id,
        Address.location_id == ServiceAtLocation.location_id,
        state == any_(regions),
    )
    return or_(covers, and_(~has_area, site_in_region)) if place.regions else false()


def _page(
    session: Session, query: Select[Any], order: Sequence[Any], *, page: int, per_page: int | None
) -> IdPage:
    """A page of the query's ids and their total; with ``per_page`` None, every id."""
    if per_page is None:
        ids = [row[0] for row in session.execute(query.order_by(*order))]
        return IdPage(ids, len(ids), 1, max(1, len(ids)))
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.execute(query.order_by(*order).limit(per_page).offset((page - 1) * per_page))
    return IdPage([row[0] for row in rows], total, page, per_page)


def _escaped(words: str) -> str:
    return words.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
