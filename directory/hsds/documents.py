"""The HSDS 3.0 API's documents, nested from the flat HSDS tables (``tables.read_tables``).

The shapes are the spec's example documents (``json/*.json``): a *list* shape holds a record's
one-to-one fields only (a service with its organization, a service_at_location with its
location and service); a *full* shape nests everything. A nested record leaves out the keys
that point to its parent (a phone under a location has no ``location_id``), and no document
holds a null: a field we do not have is absent, as the schemas' types have no null.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

Row = dict[str, Any]
Tables = dict[str, list[Row]]

# Keys that link a row to its parent: a nested document leaves them out.
LINKS = frozenset(
    {
        "organization_id",
        "service_id",
        "location_id",
        "contact_id",
        "service_at_location_id",
        "phone_id",
        "program_id",
        "link_id",
        "taxonomy_term_id",
    }
)


class Nest:
    """The tables, indexed by id and by each link, so that nesting is a look-up."""

    def __init__(self, tables: Tables) -> None:
        self.tables = tables
        self._ids: dict[str, dict[Any, Row]] = {}
        self._links: dict[tuple[str, str], dict[Any, list[Row]]] = {}

    def get(self, table: str, id_: Any) -> Row | None:
        if table not in self._ids:
            self._ids[table] = {row["id"]: row for row in self.tables.get(table, ())}
        return self._ids[table].get(id_)

    def under(self, table: str, link: str, id_: Any) -> list[Row]:
        """The rows of ``table`` whose ``link`` is ``id_``."""
        key = (table, link)
        if key not in self._links:
            index: dict[Any, list[Row]] = defaultdict(list)
            for row in self.tables.get(table, ()):
                if row.get(link) is not None:
                    index[row[link]].append(row)
            self._links[key] = index
        return self._links[key].get(id_, [])


def own(row: Row, *, keep: Iterable[str] = ()) -> Row:
    """A row's own fields: no nulls, no links to a parent (but those in ``keep``)."""
    kept = set(keep)
    return {k: v for k, v in row.items() if v is not None and (k not in LINKS or k in kept)}


# --- services ---------------------------------------------------------------------------------


def list_services(tables: Tables) -> list[Row]:
    """Services in the list shape: their fields, their organization's."""
    nest = Nest(tables)
    return [_service_list(nest, row) for row in tables["services"]]


def full_services(tables: Tables) -> list[Row]:
    """Services fully nested, as ``service_full.json`` (the export's NDJSON lines too)."""
    nest = Nest(tables)
    return [_service_full(nest, row) for row in tables["services"]]


def _service_list(nest: Nest, row: Row) -> Row:
    doc = own(row)
    organization = nest.get("organizations", row["organization_id"])
    if organization is not None:
        doc["organization"] = own(organization)
    return doc


def _service_full(
    nest: Nest, row: Row, *, organization: bool = True, at_locations: bool = True
) -> Row:
    sid = row["id"]
    doc = own(row)
    doc["phones"] = [_phone(nest, p) for p in nest.under("phones", "service_id", sid)]
    doc["schedules"] = [own(s) for s in nest.under("schedules", "service_id", sid)]
    doc["service_areas"] = [own(a) for a in nest.under("service_areas", "service_id", sid)]
    if at_locations:
        doc["service_at_locations"] = [
            _at_location_full(nest, sal, service=False)
            for sal in nest.under("service_at_locations", "service_id", sid)
        ]
    doc["languages"] = [own(lg) for lg in nest.under("languages", "service_id", sid)]
    found = nest.get("organizations", row["organization_id"]) if organization else None
    if found is not None:
        doc["organization"] = _organization_full(nest, found)
    doc["cost_options"] = [own(c) for c in nest.under("cost_options", "service_id", sid)]
    doc["contacts"] = [_contact(nest, c) for c in nest.under("contacts", "service_id", sid)]
    doc["attributes"] = [_attribute(nest, a) for a in nest.under("attributes", "link_id", sid)]
    return doc


def _attribute(nest: Nest, row: Row) -> Row:
    doc = own(row)
    term = nest.get("taxonomy_terms", row["taxonomy_term_id"])
    if term is not None:
        doc["taxonomy_term"] = taxonomy_term(term, nest.get("taxonomies", term["taxonomy_id"]))
    return doc


# --- service_at_locations ---------------------------------------------------------------------


def list_service_at_locations(tables: Tables) -> list[Row]:
    """Service_at_locations in the list shape: their location's and service's fields."""
    nest = Nest(tables)
    docs = []
    for row in tables["service_at_locations"]:
        doc = own(row)
        location = nest.get("locations", row["location_id"])
        if location is not None:
            doc["location"] = own(location)
        service = nest.get("services", row["service_id"])
        if service is not None:
            doc["service"] = _service_list(nest, service)
        docs.append(doc)
    return docs


def full_service_at_locations(tables: Tables) -> list[Row]:
    """Service_at_locations fully nested, as ``service_at_location_full.json``."""
    nest = Nest(tables)
    return [_at_location_full(nest, row) for row in tables["service_at_locations"]]


def _at_location_full(nest: Nest, row: Row, *, service: bool = True) -> Row:
    sal_id = row["id"]
    doc = own(row)
    link = "service_at_location_id"
    doc["contacts"] = [_contact(nest, c) for c in nest.under("contacts", link, sal_id)]
    doc["phones"] = [_phone(nest, p) for p in nest.under("phones", link, sal_id)]
    doc["schedules"] = [own(s) for s in nest.under("schedules", link, sal_id)]
    location = nest.get("locations", row["location_id"])
    if location is not None:
        doc["location"] = _location(nest, location)
    found = nest.get("services", row["service_id"]) if service else None
    if found is not None:
        doc["service"] = _service_full(nest, found, at_locations=False)
    return doc


# --- organizations ----------------------------------------------------------------------------


def list_organizations(rows: list[Row]) -> list[Row]:
    """Organizations in the list shape: their own fields."""
    return [own(row) for row in rows]


def full_organizations(tables: Tables, *, full_service: bool = False) -> list[Row]:
    """Organizations fully nested, as ``organization_full.json``, with their published
    services: fully nested with ``full_service``, else their own fields only."""
    nest = Nest(tables)
    docs = []
    for row in tables["organizations"]:
        doc = _organization_full(nest, row)
        services = nest.under("services", "organization_id", row["id"])
        doc["services"] = [
            _service_full(nest, s, organization=False) if full_service else own(s) for s in services
        ]
        docs.append(doc)
    return docs


def _organization_full(nest: Nest, row: Row) -> Row:
    oid = row["id"]
    doc = own(row)
    doc["contacts"] = [_contact(nest, c) for c in nest.under("contacts", "organization_id", oid)]
    doc["phones"] = [_phone(nest, p) for p in nest.under("phones", "organization_id", oid)]
    doc["locations"] = [
        _location(nest, lo) for lo in nest.under("locations", "organization_id", oid)
    ]
    return doc


# --- the parts ----------------------------------------------------------------------------------


def _location(nest: Nest, row: Row) -> Row:
    lid = row["id"]
    doc = own(row)
    doc["languages"] = [own(lg) for lg in nest.under("languages", "location_id", lid)]
    doc["addresses"] = [own(a) for a in nest.under("addresses", "location_id", lid)]
    doc["contacts"] = [_contact(nest, c) for c in nest.under("contacts", "location_id", lid)]
    doc["accessibility"] = [own(a) for a in nest.under("accessibility", "location_id", lid)]
    doc["phones"] = [_phone(nest, p) for p in nest.under("phones", "location_id", lid)]
    doc["schedules"] = [own(s) for s in nest.under("schedules", "location_id", lid)]
    return doc


def _contact(nest: Nest, row: Row) -> Row:
    doc = own(row)
    doc["phones"] = [_phone(nest, p) for p in nest.under("phones", "contact_id", row["id"])]
    return doc


def _phone(nest: Nest, row: Row) -> Row:
    doc = own(row)
    doc["languages"] = [own(lg) for lg in nest.under("languages", "phone_id", row["id"])]
    return doc


# --- taxonomies ---------------------------------------------------------------------------------


def taxonomy_term(row: Row, taxonomy: Row | None) -> Row:
    """A taxonomy term, as ``taxonomy_term.json``: with its taxonomy's details."""
    doc = own(row, keep=("taxonomy_id",))
    if taxonomy is not None:
        doc["taxonomy_detail"] = own(taxonomy)
    return doc


def taxonomy(row: Row) -> Row:
    """A taxonomy, as ``taxonomy.json``."""
    return own(row)


def minimal(row: Row) -> Row:
    """A record's id and last change only (``minimal=true``)."""
    return {k: row[k] for k in ("id", "last_modified") if row.get(k) is not None}


def in_order(docs: Iterable[Row], ids: Iterable[Any]) -> list[Row]:
    """The documents of ``ids``, in their order (an id without a document is left out)."""
    by_id = {doc["id"]: doc for doc in docs}
    return [by_id[str(i)] for i in ids if str(i) in by_id]
