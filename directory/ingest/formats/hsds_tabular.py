"""HSDS tabular packages (1.x and 3.0): CSV tables joined into one nested record per service.

The child tables are indexed first, by the id of the service, location or service-at-location
each row belongs to; services.csv is then streamed, and each service takes its rows out of the
index as it is joined, so that what is left at the end are the orphans. Indexed rows are packed
into one string each (line number and cells joined by the unit separator) and wait in a temporary
file, the index holding only their places in it (``csv_rows.Spill``): a package of 100,000
services must import in a few hundred MB.

``datapackage.json`` is read but not trusted: a resource whose path does not exist is looked for
by its table name, and columns are taken from each file's own header.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from directory.ingest.common import clean, derived_id
from directory.ingest.formats.csv_rows import (
    Index,
    Spill,
    as_dict,
    cell,
    check_utf8,
    header_of,
    pack,
    rows_of,
    unpack,
)
from directory.ingest.formats.hsds_usage import USED, Usage
from directory.ingest.formats.package_files import listing, locate, unpacked
from directory.ingest.records import FormatError, Ignored, ReadItem, Rejection, SourceRecord

# raw key -> the names its file or datapackage resource goes by (HSDS 3.0 first, then 1.x)
# fmt: off
TABLES: dict[str, tuple[str, ...]] = {
    "services": ("services", "service"),
    "organizations": ("organizations", "organization"),
    "locations": ("locations", "location"),
    "service_at_locations": ("service_at_location", "services_at_location",
                             "service_at_locations", "services_at_locations"),
    "phones": ("phones", "phone"),
    "schedules": ("schedules", "schedule"),
    "regular_schedules": ("regular_schedules", "regular_schedule"),
    "holiday_schedules": ("holiday_schedules", "holiday_schedule"),
    "contacts": ("contacts", "contact"),
    "languages": ("languages", "language"),
    "addresses": ("addresses", "address"),
    "physical_addresses": ("physical_addresses", "physical_address"),
    "postal_addresses": ("postal_addresses", "postal_address"),
    "accessibility": ("accessibility",),
    "accessibility_for_disabilities": ("accessibility_for_disabilities",),
    "service_areas": ("service_areas", "service_area"),
    "cost_options": ("cost_options", "cost_option"),
    "payments_accepted": ("payments_accepted", "payment_accepted"),
    "eligibility": ("eligibility", "eligibilities"),
    "attributes": ("attributes", "attribute"),
    "taxonomy_terms": ("taxonomy_terms", "taxonomy_term"),
    "services_taxonomy": ("services_taxonomy", "service_taxonomy"),
    "taxonomy": ("taxonomy",),
}
LOOKUPS = ("organizations", "locations", "taxonomy_terms", "taxonomy")  # read by their own id
# What a child row may belong to, most specific first. A row naming none of these (a phone of an
# organization or of a contact) is not ours to list, and is left out without a rejection.
PARENTS: dict[str, tuple[str, ...]] = {
    **dict.fromkeys(("phones", "schedules", "regular_schedules", "holiday_schedules",
                     "languages"), ("service_at_location", "service", "location")),
    "contacts": ("service_at_location", "service", "location"),
    **dict.fromkeys(("addresses", "physical_addresses", "postal_addresses", "accessibility",
                     "accessibility_for_disabilities"), ("location",)),
    **dict.fromkeys(("service_areas", "cost_options", "payments_accepted", "eligibility"),
                    ("service",)),
}
# fmt: on


@dataclass
class Child:
    """One child table, indexed: packed rows by the id of what they belong to."""

    key: str
    file: str
    header: tuple[str, ...]
    spill: Spill = field(repr=False)
    service: Index = field(init=False)
    location: Index = field(init=False)
    sal: Index = field(init=False)
    contact: Index = field(init=False)  # phones of contacts

    def __post_init__(self) -> None:
        self.service, self.location = Index(self.spill), Index(self.spill)
        self.sal, self.contact = Index(self.spill), Index(self.spill)

    def dicts(self, rows: list[str]) -> list[dict[str, str]]:
        """The rows as dicts (blank cells left out)."""
        return [as_dict(self.header, unpack(row)[1]) for row in rows]


@dataclass
class Lookup:
    """A table read by its own id (organizations, locations, taxonomy terms)."""

    header: tuple[str, ...]
    rows: Index  # one row by id: the first of its id

    def get(self, key: str | None) -> dict[str, str] | None:
        """The row with this id, as a dict."""
        found = self.rows.get(key or "")
        return as_dict(self.header, unpack(found[0])[1]) if found else None


@dataclass
class Package:
    """The indexed package, and the rows rejected while indexing it."""

    services: Path
    lookups: dict[str, Lookup]
    children: list[Child]
    sal: Child  # service_at_location rows by service id
    links: Child | None  # taxonomy links by service id: 3.0 attributes or 1.x services_taxonomy
    rejected: list[Rejection]
    usage: dict[str, Usage] = field(default_factory=dict)  # by file name
    other_files: list[Path] = field(default_factory=list)  # CSV files of no table we know
    contacts: set[str] = field(default_factory=set)  # contacts joined (a site's: maybe twice)


def detect_package(path: Path) -> bool:
    """A package (folder, datapackage.json or .zip) whose services table is shaped like HSDS."""
    files = listing(path)
    found = locate(files, TABLES, "services") if files is not None else {}
    if files is None or "services" not in found:
        return False
    return hsds_services(files.header(found["services"]))


def hsds_services(header: tuple[str, ...]) -> bool:
    """services.csv as HSDS has it: a name and an organization_id, or else an id and a status and
    no location_id (the Ohana API's services have those, and any CSV may have a name)."""
    columns = set(header)
    if "name" not in columns:
        return False
    ohana = "location_id" in columns
    return "organization_id" in columns or ({"id", "status"} <= columns and not ohana)


def read_package(path: Path) -> Iterator[ReadItem]:
    """One record per service with its joined rows; then one rejection per orphan row."""
    files = listing(path)
    if files is None:
        raise FormatError(f"{path}: not an HSDS package folder")
    if "services" not in locate(files, TABLES, "services"):
        raise FormatError(f"{path}: no services.csv (an HSDS package needs a services table)")
    with unpacked(path) as folder, Spill() as spill:  # a zip: extracted for the time of the read
        package = index_package(folder, spill)
        yield from package.rejected
        yield from stream_services(package)
        yield from orphans(package)
        yield from ignored(package)


def tables(folder: Path) -> dict[str, Path]:
    """Each known table's file: a path datapackage.json declares where it exists, else by name
    beside the services table (see ``package_files.locate``)."""
    files = listing(folder)
    found = locate(files, TABLES, "services") if files is not None else {}
    return {key: files.path / name for key, name in found.items()} if files else {}


# --- indexing -----------------------------------------------------------------------------------


def index_package(folder: Path, spill: Spill) -> Package:
    """Index every child table (its rows written to ``spill``), keyed by what they belong to."""
    found = tables(folder)
    if "services" not in found:
        raise FormatError(f"{folder}: no services.csv (an HSDS package needs a services table)")
    for path in found.values():
        check_utf8(path)
    services = found["services"]
    header = header_of(services)
    if "name" not in header:
        raise FormatError(f"{services.name}: no 'name' column (columns: {', '.join(header)})")
    rejected: list[Rejection] = []
    usage = {path.name: Usage(key, header_of(path)) for key, path in found.items()}
    lookups = {key: _lookup(found[key], usage, spill) for key in LOOKUPS if key in found}
    known = lookups["locations"].rows if "locations" in lookups else Index(spill)
    by_site = any("service_at_location_id" in used.header for used in usage.values())
    sites: set[str] | None = set() if by_site else None  # their own ids, if rows name them
    sal = _index_sal(found.get("service_at_locations"), known, rejected, usage, spill, sites)
    children = [
        _index_child(key, found[key], sites or set(), known, rejected, usage, spill)
        for key in PARENTS
        if key in found
    ]
    links = _index_links(found, usage, spill)
    package = Package(services, lookups, children, sal, links, rejected, usage)
    folders = {path.parent for path in found.values()}
    package.other_files = sorted(
        p
        for folder in folders
        for p in folder.iterdir()
        if p.suffix.lower() == ".csv" and p not in found.values()
    )
    return package


def _lookup(path: Path, usage: dict[str, Usage], spill: Spill) -> Lookup:
    header = header_of(path)
    by_id = Index(spill)
    for line, values in rows_of(path, len(header)):
        usage[path.name].count(values)
        if (key := cell(header, values, "id")) and key not in by_id:
            by_id.add(key, pack(line, values))
    return Lookup(header, by_id)


def _index_sal(
    path: Path | None,
    locations: Index,
    rejected: list[Rejection],
    usage: dict[str, Usage],
    spill: Spill,
    sites: set[str] | None,
) -> Child:
    """Sites by service id; their own ids added to ``sites`` (when given)."""
    sal = Child("service_at_locations", path.name if path else "", (), spill)
    if path is None:
        return sal
    sal.header = header_of(path)
    for line, values in rows_of(path, len(sal.header)):
        usage[path.name].count(values)
        service_id, location_id, own_id = (
            cell(sal.header, values, k) for k in ("service_id", "location_id", "id")
        )
        if location_id not in locations:
            rejected.append(
                Rejection(sal.file, line, "location_id", _missing("location", location_id))
            )
        elif not service_id:
            rejected.append(Rejection(sal.file, line, "service_id", "no service_id"))
        else:
            sal.service.add_each(service_id, pack(line, values))
            if own_id and sites is not None:
                sites.add(sys.intern(own_id))
    return sal


def _missing(what: str, key: str) -> str:
    return f"no {what} with this id: {key!r}" if key else f"no {what.replace(' ', '_')}_id"


def _index_child(
    key: str,
    path: Path,
    sal_ids: set[str],
    locations: Index,
    rejected: list[Rejection],
    usage: dict[str, Usage],
    spill: Spill,
) -> Child:
    """Rows by service-at-location, else service, else location (phones, schedules, ...); the
    phones of contacts by contact. Rows of organizations only are counted, not listed."""
    header = header_of(path)
    child = Child(key, path.name, header, spill)
    parents = PARENTS[key]
    used = usage[path.name]
    for line, values in rows_of(path, len(header)):
        used.count(values)
        ids = {p: cell(header, values, f"{p}_id") for p in parents}
        if (
            key == "phones"
            and not any(ids.values())
            and (contact := cell(header, values, "contact_id"))
        ):
            child.contact.add(contact, pack(line, values))
        elif ids.get("service_at_location") in sal_ids:
            child.sal.add(ids["service_at_location"], pack(line, values))
        elif ids.get("service"):
            child.service.add_each(ids["service"], pack(line, values))
        elif ids.get("location") in locations:
            child.location.add(ids["location"], pack(line, values))
        elif (named := next((p for p, v in ids.items() if v), None)) or len(parents) == 1:
            parent = named or parents[0]
            reason = _missing(parent.replace("_", " "), ids[parent])
            rejected.append(Rejection(path.name, line, f"{parent}_id", reason))
        else:
            used.unowned += 1
    return child


def _index_links(found: dict[str, Path], usage: dict[str, Usage], spill: Spill) -> Child | None:
    """Taxonomy links by service id: 3.0 attributes (by link_id) or 1.x services_taxonomy."""
    key = "attributes" if "attributes" in found else "services_taxonomy"
    if key not in found:
        return None
    header = header_of(found[key])
    links = Child(key, found[key].name, header, spill)
    for line, values in rows_of(found[key], len(header)):
        usage[links.file].count(values)
        if parent := cell(header, values, "link_id" if key == "attributes" else "service_id"):
            links.service.add(parent, pack(line, values))
    return links


# --- joining ------------------------------------------------------------------------------------


def stream_services(package: Package) -> Iterator[SourceRecord | Rejection]:
    """Stream services.csv: one record per service, joined; duplicate ids rejected."""
    header = header_of(package.services)
    organizations = package.lookups.get("organizations")
    seen: dict[str, int] = {}
    name = package.services.name
    used = package.usage[name]
    for line, values in rows_of(package.services, len(header)):
        used.count(values)
        row = as_dict(header, values)
        org = organizations.get(row.get("organization_id")) if organizations else None
        external_id = clean(row.get("id")) or derived_id(
            row.get("name"), row.get("organization_id"), (org or {}).get("name")
        )
        if external_id in seen:
            reason = f"duplicate of row {seen[external_id]}"
            yield Rejection(name, line, "id", reason, external_id=external_id)
            continue
        seen[external_id] = line
        yield SourceRecord(external_id, name, line, join_service(package, row, org))


def join_service(
    package: Package, row: dict[str, Any], org: dict[str, str] | None
) -> dict[str, Any]:
    """The service's row with its organization, locations and child rows nested in it."""
    raw: dict[str, Any] = dict(row)
    if org:
        raw["organization"] = org
    service_id = row.get("id", "")
    places = [_join_sal(package, r) for r in package.sal.service.pop(service_id)]
    if places:
        raw["service_at_locations"] = places
    for child in package.children:
        if rows := child.service.pop(service_id):
            raw[child.key] = child.dicts(rows)
    _contact_phones(package, raw)
    _join_terms(package, raw, service_id)
    return raw


def _join_sal(package: Package, packed: str) -> dict[str, Any]:
    place: dict[str, Any] = as_dict(package.sal.header, unpack(packed)[1])
    locations = package.lookups.get("locations")
    location: dict[str, Any] | None = locations.get(place.get("location_id")) if locations else None
    if location is not None:
        for child in package.children:
            if rows := child.location.get(place.get("location_id", "")):
                location[child.key] = child.dicts(rows)
        _contact_phones(package, location)
        place["location"] = location
    for child in package.children:
        if rows := child.sal.get(place.get("id", "")):
            place[child.key] = child.dicts(rows)
    _contact_phones(package, place)
    return place


def _contact_phones(package: Package, owner: dict[str, Any]) -> None:
    """Each joined contact takes its phones (phones.csv rows naming only its contact_id)."""
    phones = next((c for c in package.children if c.key == "phones"), None)
    if phones is None:
        return
    for contact in owner.get("contacts", []):
        package.contacts.add(contact.get("id", ""))
        if rows := phones.contact.get(contact.get("id", "")):
            contact["phones"] = phones.dicts(rows)


def _join_terms(package: Package, raw: dict[str, Any], service_id: str) -> None:
    """Taxonomy links with their terms: 3.0 ``attributes[].taxonomy_term``, 1.x
    ``services_taxonomy[].taxonomy`` (also from the deprecated ``taxonomy_ids`` column)."""
    terms = package.lookups.get("taxonomy_terms") or package.lookups.get("taxonomy")
    links = package.links
    key = links.key if links else "services_taxonomy"
    joined: list[dict[str, Any]] = links.dicts(links.service.pop(service_id)) if links else []
    joined += [
        {"taxonomy_id": t.strip()} for t in raw.get("taxonomy_ids", "").split(",") if t.strip()
    ]
    for link in joined:
        term = terms.get(link.get("taxonomy_term_id") or link.get("taxonomy_id")) if terms else None
        if term:
            link["taxonomy_term" if key == "attributes" else "taxonomy"] = term
    if joined:
        raw[key] = joined


def orphans(package: Package) -> Iterator[Rejection]:
    """The rows left in the index after every service took its own: one rejection per row."""
    missing: dict[tuple[str, int, str], list[str]] = {}
    for child in [package.sal, *package.children]:
        for service_id, rows in child.service.items():
            for row in rows:
                missing.setdefault((child.file, unpack(row)[0], "service_id"), []).append(
                    service_id
                )
    if package.links is not None:
        for key, service_id in _orphan_links(package.links):
            missing.setdefault(key, []).append(service_id)
    for (file, line, field_name), ids in sorted(missing.items()):
        listed = ", ".join(repr(i) for i in ids)
        these = "these ids" if len(ids) > 1 else "this id"
        yield Rejection(file, line, field_name, f"no service with {these}: {listed}")


def ignored(package: Package) -> Iterator[Ignored]:
    """Every table we do not read, every column we do not read that holds values, and the rows
    that belong to nothing we list, with their row counts."""
    for path in package.other_files:
        try:
            rows = sum(1 for _ in rows_of(path, 1))
        except FormatError:
            rows = 0
        yield Ignored(path.name, None, rows, "not a table this importer reads")
    phones = next((c for c in package.children if c.key == "phones"), None)
    if phones is not None:  # phones of contacts that belong to no service we list
        package.usage[phones.file].unowned += sum(
            len(rows) for key, rows in phones.contact.items() if key not in package.contacts
        )
    for file, usage in package.usage.items():
        if usage.unowned:
            reason = "rows of organizations or contacts, not of a service or location"
            yield Ignored(file, None, usage.unowned, reason)
        used = USED.get(usage.key, frozenset())
        for column in usage.header:
            if column and column not in used and usage.filled[column]:
                yield Ignored(file, column, usage.filled[column], "column not imported")


def _orphan_links(links: Child) -> Iterator[tuple[tuple[str, int, str], str]]:
    """Taxonomy links to no service; attributes of other entities are not ours to check."""
    field_name = "link_id" if links.key == "attributes" else "service_id"
    for service_id, rows in links.service.items():
        for row in rows:
            line, values = unpack(row)
            entity = cell(links.header, values, "link_entity").lower()
            if links.key != "attributes" or entity in ("service", "services"):
                yield (links.file, line, field_name), service_id
