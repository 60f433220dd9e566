"""HSDS tabular packages (1.x and 3.0): CSV tables joined into one nested record per service.

The child tables are indexed first, by the id of the service, location or service-at-location
each row belongs to; services.csv is then streamed, and each service takes its rows out of the
index as it is joined, so that what is left at the end are the orphans. Indexed rows are kept as
one string each (line number and cells joined by the unit separator): a tuple of cells costs
about three times as much, and a package of 100,000 services must fit in a few hundred MB.

``datapackage.json`` is read but not trusted: a resource whose path does not exist is looked for
by its table name, and columns are taken from each file's own header.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from directory.ingest.common import clean, derived_id
from directory.ingest.formats.csv_rows import (
    Index,
    as_dict,
    cell,
    check_utf8,
    header_of,
    pack,
    rows_of,
    unpack,
)
from directory.ingest.records import FormatError, Rejection, SourceRecord

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
    **dict.fromkeys(("phones", "schedules", "regular_schedules", "languages"),
                    ("service_at_location", "service", "location")),
    **dict.fromkeys(("addresses", "physical_addresses", "postal_addresses", "accessibility",
                     "accessibility_for_disabilities"), ("location",)),
    **dict.fromkeys(("service_areas", "cost_options", "payments_accepted", "eligibility"),
                    ("service",)),
}
# fmt: on


@dataclass
class Child:
    """One child table held in memory: packed rows by the id of what they belong to."""

    key: str
    file: str
    header: tuple[str, ...]
    service: Index = field(default_factory=Index)
    location: Index = field(default_factory=Index)
    sal: Index = field(default_factory=Index)

    def dicts(self, rows: list[str]) -> list[dict[str, str]]:
        """The rows as dicts (blank cells left out)."""
        return [as_dict(self.header, unpack(row)[1]) for row in rows]


@dataclass
class Lookup:
    """A table read by its own id (organizations, locations, taxonomy terms)."""

    header: tuple[str, ...]
    rows: dict[str, str]

    def get(self, key: str | None) -> dict[str, str] | None:
        """The row with this id, as a dict."""
        found = self.rows.get(key or "")
        return None if found is None else as_dict(self.header, unpack(found)[1])


@dataclass
class Package:
    """The indexed package, and the rows rejected while indexing it."""

    services: Path
    lookups: dict[str, Lookup]
    children: list[Child]
    sal: Child  # service_at_location rows by service id (and by their own id)
    links: Child | None  # taxonomy links by service id: 3.0 attributes or 1.x services_taxonomy
    rejected: list[Rejection]


def detect_package(path: Path) -> bool:
    """A folder holding services.csv (or a datapackage.json naming a service table)."""
    folder = package_folder(path)
    return folder is not None and folder.is_dir() and "services" in tables(folder)


def package_folder(path: Path) -> Path | None:
    """The package folder for a folder, a datapackage.json or a services.csv path."""
    if path.is_dir():
        return path
    return path.parent if path.name.lower() in ("datapackage.json", "services.csv") else None


def read_package(path: Path) -> Iterator[SourceRecord | Rejection]:
    """One record per service with its joined rows; then one rejection per orphan row."""
    folder = package_folder(path)
    if folder is None or not folder.is_dir():
        raise FormatError(f"{path}: not an HSDS package folder")
    package = index_package(folder)
    yield from package.rejected
    yield from stream_services(package)
    yield from orphans(package)


def tables(folder: Path) -> dict[str, Path]:
    """Each known table's file: from datapackage.json where its path exists, else by name."""
    by_name = {p.name.lower(): p for p in folder.iterdir() if p.is_file()}
    declared = _declared(folder)
    found: dict[str, Path] = {}
    for key, names in TABLES.items():
        path = next((p for n in names if (p := declared.get(n) or by_name.get(f"{n}.csv"))), None)
        if path is not None:
            found[key] = path
    return found


def _declared(folder: Path) -> dict[str, Path]:
    try:
        data = json.loads((folder / "datapackage.json").read_text("utf-8-sig"))
    except (OSError, ValueError):
        return {}
    resources = data.get("resources") if isinstance(data, dict) else None
    declared: dict[str, Path] = {}
    for resource in resources if isinstance(resources, list) else []:
        if isinstance(resource, dict) and isinstance(resource.get("path"), str):
            path = folder / resource["path"].strip()
            if path.is_file():
                declared[str(resource.get("name") or path.stem).strip().lower()] = path
    return declared


# --- indexing -----------------------------------------------------------------------------------


def index_package(folder: Path) -> Package:
    """Read every child table into memory, keyed by what its rows belong to."""
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
    lookups = {key: _lookup(found[key]) for key in LOOKUPS if key in found}
    known = set(lookups["locations"].rows) if "locations" in lookups else set()
    sal = _index_sal(found.get("service_at_locations"), known, rejected)
    children = [
        _index_child(key, found[key], sal.sal, known, rejected) for key in PARENTS if key in found
    ]
    return Package(services, lookups, children, sal, _index_links(found), rejected)


def _lookup(path: Path) -> Lookup:
    header = header_of(path)
    by_id: dict[str, str] = {}
    for line, values in rows_of(path, len(header)):
        if key := cell(header, values, "id"):
            by_id.setdefault(sys.intern(key), pack(line, values))
    return Lookup(header, by_id)


def _index_sal(path: Path | None, locations: set[str], rejected: list[Rejection]) -> Child:
    sal = Child("service_at_locations", path.name if path else "", ())
    if path is None:
        return sal
    sal.header = header_of(path)
    for line, values in rows_of(path, len(sal.header)):
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
            if own_id:
                sal.sal.add(own_id, pack(line, values))
    return sal


def _missing(what: str, key: str) -> str:
    return f"no {what} with this id: {key!r}" if key else f"no {what.replace(' ', '_')}_id"


def _index_child(
    key: str, path: Path, sal_ids: Index, locations: set[str], rejected: list[Rejection]
) -> Child:
    """Rows by service-at-location, else service, else location (phones, schedules, ...)."""
    header = header_of(path)
    child = Child(key, path.name, header)
    parents = PARENTS[key]
    for line, values in rows_of(path, len(header)):
        ids = {p: cell(header, values, f"{p}_id") for p in parents}
        if ids.get("service_at_location") in sal_ids:
            child.sal.add(ids["service_at_location"], pack(line, values))
        elif ids.get("service"):
            child.service.add_each(ids["service"], pack(line, values))
        elif ids.get("location") in locations:
            child.location.add(ids["location"], pack(line, values))
        elif (named := next((p for p, v in ids.items() if v), None)) or len(parents) == 1:
            parent = named or parents[0]
            reason = _missing(parent.replace("_", " "), ids[parent])
            rejected.append(Rejection(path.name, line, f"{parent}_id", reason))
    return child


def _index_links(found: dict[str, Path]) -> Child | None:
    """Taxonomy links by service id: 3.0 attributes (by link_id) or 1.x services_taxonomy."""
    key = "attributes" if "attributes" in found else "services_taxonomy"
    if key not in found:
        return None
    header = header_of(found[key])
    links = Child(key, found[key].name, header)
    for line, values in rows_of(found[key], len(header)):
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
    for line, values in rows_of(package.services, len(header)):
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
        place["location"] = location
    for child in package.children:
        if rows := child.sal.get(place.get("id", "")):
            place[child.key] = child.dicts(rows)
    return place


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


def _orphan_links(links: Child) -> Iterator[tuple[tuple[str, int, str], str]]:
    """Taxonomy links to no service; attributes of other entities are not ours to check."""
    field_name = "link_id" if links.key == "attributes" else "service_id"
    for service_id, rows in links.service.items():
        for row in rows:
            line, values = unpack(row)
            entity = cell(links.header, values, "link_entity").lower()
            if links.key != "attributes" or entity in ("service", "services"):
                yield (links.file, line, field_name), service_id
