"""What each HSDS API endpoint answers: a Page of documents, one document, or every document in
batches (``format=ndjson``). The queries pick the ids; ``read_tables`` reads their rows; the
documents nest them. Published listings only: an unknown id and an unpublished one are alike."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy.orm import Session

from directory.errors import NotFound
from directory.hsds import documents, queries
from directory.hsds.queries import Filters
from directory.hsds.tables import read_tables, row_of, table_queries

Doc = dict[str, Any]
Shape = Literal["list", "full", "minimal"]
BATCH = 100  # services whose documents are read and written at a time (format=ndjson)
# The tables a list shape needs: its one-to-one parts (the full shapes read them all).
LIST_AT_LOCATION = ("service_at_locations", "locations", "services", "organizations")


@dataclass(frozen=True)
class Paging:
    page: int = 1
    per_page: int = queries.PER_PAGE


def _read(
    session: Session, ids: Collection[uuid.UUID], names: tuple[str, ...]
) -> dict[str, list[Doc]]:
    """Some of the HSDS tables of these services (``read_tables`` reads them all)."""
    queries_ = table_queries(ids)
    return {
        name: [row_of(name, r) for r in session.execute(queries_[name]).mappings()]
        for name in names
    }


def page_of(contents: list[Doc], total: int, paging: Paging) -> Doc:
    """The spec's Page: the totals, where this page is, and its contents."""
    total_pages = -(-total // paging.per_page)
    return {
        "total_items": total,
        "total_pages": total_pages,
        "page_number": paging.page,
        "size": len(contents),
        "first_page": paging.page == 1,
        "last_page": paging.page >= total_pages,
        "empty": not contents,
        "contents": contents,
    }


# --- services -----------------------------------------------------------------------------------


def services_page(session: Session, filters: Filters, paging: Paging, shape: Shape) -> Doc:
    """A page of published services, in the list, full or minimal shape."""
    found = queries.service_ids(session, filters, page=paging.page, per_page=paging.per_page)
    return page_of(service_docs(session, found.ids, shape), found.total, paging)


def service_docs(session: Session, ids: list[uuid.UUID], shape: Shape) -> list[Doc]:
    """The documents of these published services, in their order."""
    if not ids:
        return []
    if shape == "minimal":
        rows = _read(session, ids, ("services",))["services"]
        return documents.in_order((documents.minimal(row) for row in rows), ids)
    if shape == "list":
        tables = _read(session, ids, ("services", "organizations"))
        return documents.in_order(documents.list_services(tables), ids)
    return documents.in_order(documents.full_services(read_tables(session, ids)), ids)


def service(session: Session, service_id: uuid.UUID) -> Doc:
    """One published service, fully nested."""
    found = service_docs(session, [service_id], "full")
    if not found:
        raise NotFound(f"no published service {service_id}")
    return found[0]


# --- service_at_locations -----------------------------------------------------------------------


def service_at_locations_page(
    session: Session, filters: Filters, paging: Paging, full: bool
) -> Doc:
    """A page of the published services' service_at_locations."""
    found = queries.service_at_location_ids(
        session, filters, page=paging.page, per_page=paging.per_page
    )
    return page_of(at_location_docs(session, found.ids, full), found.total, paging)


def at_location_docs(session: Session, ids: list[uuid.UUID], full: bool) -> list[Doc]:
    if not ids:
        return []
    services = set(queries.services_at(session, ids).values())
    if full:
        return documents.in_order(
            documents.full_service_at_locations(read_tables(session, services)), ids
        )
    tables = _read(session, services, LIST_AT_LOCATION)
    return documents.in_order(documents.list_service_at_locations(tables), ids)


def service_at_location(session: Session, id_: uuid.UUID) -> Doc:
    """One published service_at_location, fully nested."""
    found = at_location_docs(session, [id_], full=True)
    if not found:
        raise NotFound(f"no service_at_location {id_} of a published service")
    return found[0]


# --- organizations ------------------------------------------------------------------------------


def organizations_page(
    session: Session, search: str | None, paging: Paging, *, full: bool, full_service: bool
) -> Doc:
    """A page of the organizations of published services."""
    among = queries.organizations_matching(session, search) if search else None
    rows, total = queries.table_page(
        session, "organizations", page=paging.page, per_page=paging.per_page, among=among
    )
    ids = [uuid.UUID(row["id"]) for row in rows]
    if full or full_service:
        contents = organization_docs(session, ids, full_service=full_service)
    else:
        contents = documents.list_organizations(rows)
    return page_of(contents, total, paging)


def organization_docs(session: Session, ids: list[uuid.UUID], *, full_service: bool) -> list[Doc]:
    if not ids:
        return []
    tables = read_tables(session, queries.services_of(session, ids))
    return documents.in_order(documents.full_organizations(tables, full_service=full_service), ids)


def organization(session: Session, id_: uuid.UUID, *, full_service: bool) -> Doc:
    """One organization of published services, fully nested."""
    found = organization_docs(session, [id_], full_service=full_service)
    if not found:
        raise NotFound(f"no organization {id_} of a published service")
    return found[0]


# --- taxonomies ---------------------------------------------------------------------------------


def taxonomies_page(session: Session, search: str | None, paging: Paging) -> Doc:
    """A page of the taxonomies whose terms published services use."""
    rows, total = queries.table_page(
        session, "taxonomies", page=paging.page, per_page=paging.per_page, search=search
    )
    return page_of([documents.taxonomy(row) for row in rows], total, paging)


def taxonomy(session: Session, id_: uuid.UUID) -> Doc:
    rows, _ = queries.table_page(session, "taxonomies", page=1, per_page=1, equal={"id": id_})
    if not rows:
        raise NotFound(f"no taxonomy {id_} used by a published service")
    return documents.taxonomy(rows[0])


@dataclass(frozen=True)
class TermFilters:
    search: str | None = None
    taxonomy_id: uuid.UUID | None = None
    parent_id: uuid.UUID | None = None
    top_only: bool = False


def taxonomy_terms_page(session: Session, filters: TermFilters, paging: Paging) -> Doc:
    """A page of the taxonomy terms published services use (and their ancestors)."""
    equal = {
        name: value
        for name, value in (("taxonomy_id", filters.taxonomy_id), ("parent_id", filters.parent_id))
        if value is not None
    }
    rows, total = queries.table_page(
        session,
        "taxonomy_terms",
        page=paging.page,
        per_page=paging.per_page,
        equal=equal,
        top_only=filters.top_only,
        search=filters.search,
    )
    return page_of(_terms(session, rows), total, paging)


def taxonomy_term(session: Session, id_: uuid.UUID) -> Doc:
    rows, _ = queries.table_page(session, "taxonomy_terms", page=1, per_page=1, equal={"id": id_})
    if not rows:
        raise NotFound(f"no taxonomy term {id_} used by a published service")
    return _terms(session, rows)[0]


def _terms(session: Session, rows: list[Doc]) -> list[Doc]:
    ids = {uuid.UUID(row["taxonomy_id"]) for row in rows}
    taxonomies, _ = queries.table_page(
        session, "taxonomies", page=1, per_page=max(1, len(ids)), among=ids
    )
    by_id = {t["id"]: t for t in taxonomies}
    return [documents.taxonomy_term(row, by_id.get(row["taxonomy_id"])) for row in rows]


# --- format=ndjson: every document, a batch at a time -------------------------------------------


def every_of(
    factory: Callable[[], Session],
    ids: list[uuid.UUID],
    read: Callable[[Session, list[uuid.UUID]], list[Doc]],
) -> Iterator[Doc]:
    """The documents of ``ids`` (picked in the request's transaction), read ``BATCH`` at a time,
    each batch in a session of its own that is closed before the client reads it: a slow
    reader holds no database connection, and the memory held is a batch's documents, whatever
    the total. A listing unpublished meanwhile is left out."""
    for start in range(0, len(ids), BATCH):
        with factory() as session:
            docs = read(session, ids[start : start + BATCH])
        yield from docs


def every_page(
    factory: Callable[[], Session], read: Callable[[Session, Paging], Doc]
) -> Iterator[Doc]:
    """Every document of a paged listing (taxonomies, terms), ``BATCH`` at a time, each page
    read in a session closed before the client reads it."""
    page = 1
    while True:
        with factory() as session:
            contents = read(session, Paging(page, BATCH))["contents"]
        yield from contents
        if len(contents) < BATCH:
            return
        page += 1
