"""Our listings as HSDS 3.0 tables: the one mapping from our rows to HSDS fields.

``read_tables`` gives every table as flat rows with the spec's field names and JSON-ready values;
``table_queries`` gives the one Core select per table behind it (the export streams those), each
ordered by id. Only published services leave, and only the organizations, locations, taxonomy
terms (with their ancestors) and taxonomies a published service uses.

Choices where our model and HSDS differ:

- a phone's ``number`` is its E.164 form when it has one (``+18005551234``: the importer parses
  it back to the same E.164 whatever the country), else the number as printed (988); an
  extension that is not a plain number (``OPT2``) is written after the number (``ext. OPT2``),
  as HSDS's ``extension`` is a number;
- the ids of services, organizations, locations, services-at-location, taxonomies and terms are
  ours; a listing's parts (phones, schedules, contacts...) have ids derived from their parent and
  content (see ``parts``), stable across edits and across an export imported and exported again;
- a contact's phones (a JSON list on our contact row) are phones rows with its ``contact_id``;
- a crisis line's call and text channels are phones of type ``voice`` and ``text`` (the text
  keyword in the description), unless a phone of the service already gives that number; chat
  channels have no place in HSDS and are left out;
- a schedule's ``timezone`` is its IANA name (the spec's schema says a number, a UTC offset,
  which cannot follow daylight saving time);
- a service area's ``extent`` is GeoJSON (``extent_type`` ``geojson``); its ISO 3166 regions
  go in ``uri`` as ``urn:iso:std:iso:3166:US-IL`` (several separated by spaces);
- a location's point is left out when it is only its ZIP's centre (``coordinates_approximate``):
  HSDS has no way to say so, and an importer (ours too) can find the ZIP's centre itself;
- needs are ``attributes`` of services (``link_type`` ``need``) to terms of our needs taxonomy;
- ``assured_date`` is the date of the last verification, ``last_modified`` the listing's last
  change; who verified it (a staff email) is not published.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Collection
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Date,
    Select,
    and_,
    case,
    cast,
    func,
    literal_column,
    select,
    union,
)
from sqlalchemy.orm import Session

from directory.hsds import parts
from directory.hsds.columns import COLUMNS, FILES, TABLES
from directory.listings.models import (
    Attribute,
    ListingChange,
    Location,
    Organization,
    Service,
    ServiceAtLocation,
    Taxonomy,
    TaxonomyTerm,
)

__all__ = ["COLUMNS", "FILES", "TABLES", "read_tables", "row_of", "table_queries"]

Ids = Collection[uuid.UUID] | None
Rows = Select[*tuple[Any, ...]]


def read_tables(session: Session, service_ids: Ids = None) -> dict[str, list[dict[str, Any]]]:
    """Every HSDS table of the published services (of ``service_ids`` only, when given)."""
    return {
        name: [row_of(name, r) for r in session.execute(query).mappings()]
        for name, query in table_queries(service_ids).items()
    }


def row_of(table: str, found: Any) -> dict[str, Any]:
    """One result row as an HSDS row: every column of the table, in the spec's order."""
    return {column: _json(found.get(column)) for column in COLUMNS[table]}


def _json(value: Any) -> Any:
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).isoformat()
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    return value


def table_queries(service_ids: Ids = None) -> dict[str, Rows]:
    """The select of each table, in the package's order, each ordered by id."""
    services = select(Service.id).where(Service.curation_status == "published")
    if service_ids is not None:
        services = services.where(Service.id.in_(list(service_ids)))
    ids = services.scalar_subquery()
    locations = select(ServiceAtLocation.location_id).where(ServiceAtLocation.service_id.in_(ids))
    place = locations.scalar_subquery()
    return {name: _QUERIES[name](ids, place).order_by(literal_column("id")) for name in TABLES}


# --- one select per table: (published service ids, their location ids) -> rows ---------------

Query = Callable[[Any, Any], Rows]


def _organizations(ids: Any, place: Any) -> Rows:
    used = union(
        select(Service.organization_id.label("id")).where(Service.id.in_(ids)),
        select(Location.organization_id).where(Location.id.in_(place)),
    ).subquery()
    o = Organization
    return select(
        o.id,
        o.name,
        o.alternate_name,
        func.coalesce(o.description, "").label("description"),
        o.email,
        o.website,
    ).where(o.id.in_(select(used.c.id)))


def _last_change() -> ColumnElement[Any]:
    latest = (
        select(func.max(ListingChange.last_action_date))
        .where(ListingChange.service_id == Service.id)
        .scalar_subquery()
    )
    return func.greatest(Service.updated_at, latest)


def _services(ids: Any, place: Any) -> Rows:
    s = Service
    fields = [
        s.id,
        s.organization_id,
        s.name,
        s.alternate_name,
        s.description,
        s.url,
        s.email,
        s.status,
        s.interpretation_services,
        s.application_process,
        s.fees_description,
        s.eligibility_description,
        s.minimum_age,
        s.maximum_age,
        s.alert,
    ]
    assured = cast(func.timezone("UTC", s.last_verified_at), Date)
    return select(
        *fields,
        assured.label("assured_date"),
        _last_change().label("last_modified"),
    ).where(s.id.in_(ids))


def _service_at_locations(ids: Any, place: Any) -> Rows:
    sal = ServiceAtLocation
    return select(sal.id, sal.service_id, sal.location_id, sal.description).where(
        sal.service_id.in_(ids)
    )


def _locations(ids: Any, place: Any) -> Rows:
    lo = Location
    return select(
        lo.id,
        lo.location_type,
        lo.organization_id,
        lo.name,
        lo.alternate_name,
        lo.description,
        lo.transportation,
        case((lo.coordinates_approximate, None), else_=lo.latitude).label("latitude"),
        case((lo.coordinates_approximate, None), else_=lo.longitude).label("longitude"),
    ).where(lo.id.in_(place))


def _used_terms(ids: Any) -> Any:
    """The terms services link to, and their ancestors (a term's parent is always exported)."""
    linked = select(TaxonomyTerm.id, TaxonomyTerm.parent_id).where(
        TaxonomyTerm.id.in_(
            select(Attribute.taxonomy_term_id).where(
                Attribute.link_entity == "service", Attribute.link_id.in_(ids)
            )
        )
    )
    tree = linked.cte("used_terms", recursive=True)
    parent = TaxonomyTerm.__table__.alias("parent")
    tree = tree.union(
        select(parent.c.id, parent.c.parent_id).join(tree, parent.c.id == tree.c.parent_id)
    )
    return select(tree.c.id)


def _taxonomy_terms(ids: Any, place: Any) -> Rows:
    t = TaxonomyTerm
    return (
        select(
            t.id,
            t.code,
            t.name,
            func.coalesce(t.description, "").label("description"),
            t.parent_id,
            Taxonomy.name.label("taxonomy"),
            t.taxonomy_id,
            t.term_uri,
        )
        .join(Taxonomy, Taxonomy.id == t.taxonomy_id)
        .where(t.id.in_(_used_terms(ids)))
    )


def _taxonomies(ids: Any, place: Any) -> Rows:
    t = Taxonomy
    used = select(TaxonomyTerm.taxonomy_id).where(TaxonomyTerm.id.in_(_used_terms(ids)))
    return select(
        t.id, t.name, func.coalesce(t.description, "").label("description"), t.uri, t.version
    ).where(and_(t.id.in_(used)))


_QUERIES: dict[str, Query] = {
    "organizations": _organizations,
    "services": _services,
    "attributes": parts.attributes,
    "service_at_locations": _service_at_locations,
    "locations": _locations,
    "phones": parts.phones,
    "contacts": parts.contacts,
    "addresses": parts.addresses,
    "schedules": parts.schedules,
    "service_areas": parts.service_areas,
    "languages": parts.languages,
    "accessibility": parts.accessibility,
    "taxonomy_terms": _taxonomy_terms,
    "cost_options": parts.cost_options,
    "taxonomies": _taxonomies,
}
