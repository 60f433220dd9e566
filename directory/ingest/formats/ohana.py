"""Ohana API's CSV export (codeforamerica/ohana-api): one record per service, in the HSDS shape.

The export (the admin's "Download CSV" zip, the files of ``data/sample-csv/``) has one file per
table, with the columns of ``app/views/admin/csv/*.csv.shaper``. Ohana is location-centred: a
service belongs to one location (``services.location_id``), a location to one organization
(``locations.organization_id``); addresses, mail addresses, phones, contacts and schedules belong
to a location or a service (phones also to a contact). List columns (languages, accessibility,
service areas, accepted payments, taxonomy ids) are joined with ", ".

Each service is built into the HSDS 3.0 nested record that ``hsds.normalise`` maps (organization,
``service_at_locations[].location`` with its addresses, phones and schedules), so the HSDS
mappings apply. What nothing takes in is reported: files, columns, rows of organizations.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from directory.ingest.common import clean, derived_id
from directory.ingest.formats import Format, hsds
from directory.ingest.formats.csv_rows import as_dict, check_utf8, header_of, rows_of
from directory.ingest.formats.package_files import listing, locate, unpacked
from directory.ingest.records import (
    FormatError,
    Ignored,
    Normalised,
    ReadItem,
    Rejection,
    SourceRecord,
)

TABLES: dict[str, tuple[str, ...]] = {
    key: (key,)
    for key in (
        "services", "locations", "organizations", "addresses", "mail_addresses", "phones",
        "contacts", "regular_schedules", "holiday_schedules", "taxonomy",
    )
}  # fmt: skip
_ADDRESS = ("id", "location_id", "address_1", "address_2", "city", "state_province",
            "postal_code", "country")  # fmt: skip
# The columns read, by table (app/views/admin/csv/*.csv.shaper); every other column holding values
# is reported, and so is every file not named here (programs.csv, for one).
USED: dict[str, frozenset[str]] = {
    key: frozenset(columns)
    for key, columns in {
        "services": ("id", "location_id", "name", "alternate_name", "description", "status",
                     "email", "website", "application_process", "interpretation_services",
                     "fees", "eligibility", "audience", "accepted_payments", "languages",
                     "service_areas", "taxonomy_ids", "keywords"),
        "locations": ("id", "organization_id", "name", "description", "short_desc", "latitude",
                      "longitude", "transportation", "accessibility", "languages", "virtual",
                      "email", "website", "hours"),
        "organizations": ("id", "name", "alternate_name", "description", "email", "website"),
        "addresses": _ADDRESS,
        "mail_addresses": (*_ADDRESS, "attention"),
        "phones": ("id", "location_id", "service_id", "contact_id", "organization_id", "number",
                   "extension", "number_type", "department", "country_prefix"),
        "contacts": ("id", "location_id", "service_id", "organization_id", "name", "title",
                     "email", "department"),
        "regular_schedules": ("id", "location_id", "service_id", "weekday", "opens_at",
                              "closes_at"),
        "holiday_schedules": ("id", "location_id", "service_id", "start_date", "end_date",
                              "closed", "opens_at", "closes_at"),
        "taxonomy": ("taxonomy_id", "name"),
    }.items()
}  # fmt: skip
# Ohana's phone types (voice, fax, tty, hotline; sms in later versions) as HSDS has them.
PHONE_TYPES = {
    "voice": "voice",
    "fax": "fax",
    "tty": "textphone",
    "hotline": "voice",
    "sms": "text",
}


def detect(path: Path) -> bool:
    """A folder or zip whose services.csv has Ohana's ``location_id`` (and no organization_id),
    beside a locations.csv with ``organization_id``."""
    files = listing(path)
    found = locate(files, TABLES, "services") if files is not None else {}
    if files is None or "services" not in found or "locations" not in found:
        return False
    services, locations = (set(files.header(found[k])) for k in ("services", "locations"))
    return (
        {"id", "name", "location_id"} <= services
        and "organization_id" not in services
        and {"id", "organization_id"} <= locations
    )


@dataclass
class Table:
    """One file read into memory: its rows as dicts (blank cells left out), with line numbers."""

    key: str
    file: str
    header: tuple[str, ...]
    rows: list[tuple[int, dict[str, str]]] = field(default_factory=list)
    filled: Counter[str] = field(default_factory=Counter)
    unowned: int = 0  # rows of organizations (or of their contacts), not of anything we list

    @classmethod
    def read(cls, key: str, path: Path) -> Table:
        header = header_of(path)
        table = cls(key, path.name, header)
        for line, values in rows_of(path, len(header)):
            row = as_dict(header, values)
            table.rows.append((line, row))
            table.filled.update(row.keys())
        return table


@dataclass
class Parts:
    """Child rows by the id of the location, service or contact they belong to."""

    by: dict[str, dict[str, list[dict[str, Any]]]] = field(default_factory=dict)

    def add(self, key: str, parent: str, row: dict[str, Any]) -> None:
        self.by.setdefault(key, {}).setdefault(parent, []).append(row)

    def get(self, key: str, parent: str) -> list[dict[str, Any]]:
        """Copies of the rows (a location's rows go into each of its services' records)."""
        return [dict(row) for row in self.by.get(key, {}).get(parent, [])]


def read(path: Path) -> Iterator[ReadItem]:
    """One record per service with its location and organization; then rejections and what was
    left out."""
    files = listing(path)
    if files is None or "services" not in locate(files, TABLES, "services"):
        raise FormatError(f"{path}: no services.csv (an Ohana export has one)")
    with unpacked(path) as folder:
        yield from _read(folder)


def _read(folder: Path) -> Iterator[ReadItem]:
    files = listing(folder)
    assert files is not None
    found = {key: files.path / name for key, name in locate(files, TABLES, "services").items()}
    for file in found.values():
        check_utf8(file)
    tables = {key: Table.read(key, file) for key, file in found.items()}
    services = tables["services"]
    if "name" not in services.header:
        raise FormatError(f"{services.file}: no 'name' column")
    empty = Table("", "", ())
    locations = {r["id"]: (line, r) for line, r in tables.get("locations", empty).rows if "id" in r}
    organizations = {r["id"]: r for _, r in tables.get("organizations", empty).rows if "id" in r}
    terms = {
        r["taxonomy_id"]: r for _, r in tables.get("taxonomy", empty).rows if "taxonomy_id" in r
    }
    known = {
        "service": {r["id"] for _, r in services.rows if "id" in r},
        "location": set(locations),
        "contact": set(),  # filled as contacts are indexed, before phones
    }
    parts, rejected = Parts(), list[Rejection]()
    for key in ("contacts", "phones", "addresses", "mail_addresses", "regular_schedules",
                "holiday_schedules"):  # fmt: skip
        if key in tables:
            rejected += _index(tables[key], known, parts)
    yield from rejected
    used: set[str] = set()
    seen: dict[str, int] = {}
    for line, row in services.rows:
        location = locations.get(row.get("location_id", ""), (0, None))[1]
        org = organizations.get((location or {}).get("organization_id", ""))
        external_id = clean(row.get("id")) or derived_id(
            row.get("name"), row.get("location_id"), (location or {}).get("name")
        )
        if external_id in seen:
            reason = f"duplicate of row {seen[external_id]}"
            yield Rejection(services.file, line, "id", reason, external_id=external_id)
            continue
        seen[external_id] = line
        if location is not None:
            used.add(location["id"])
        raw = service_raw(row, location, org, parts, terms)
        yield SourceRecord(external_id, services.file, line, raw)
    for location_id, (line, _) in locations.items():
        if location_id not in used:
            reason = "no service at this location: Ohana lists it, we list services"
            yield Rejection(tables["locations"].file, line, None, reason)
    yield from _ignored(tables, files.path, set(found.values()))


def _index(table: Table, known: dict[str, set[str]], parts: Parts) -> Iterator[Rejection]:
    """File each row under what it belongs to; reject rows naming an id that is not there. Rows
    of organizations (and phones of their contacts) are counted, not listed."""
    parents = ("location",) if table.key.endswith("addresses") else ("service", "location")
    parents = ("contact", *parents) if table.key == "phones" else parents
    for line, row in table.rows:
        parent = next((p for p in parents if row.get(f"{p}_id")), None)
        link = row.get(f"{parent}_id", "")
        if parent is None or (parent == "contact" and link in known.get("unowned contact", ())):
            if parent is None and not row.get("organization_id"):
                needed = " or ".join(f"{p}_id" for p in parents)
                yield Rejection(table.file, line, f"{parents[-1]}_id", f"no {needed}")
            else:
                table.unowned += 1
            continue
        if link not in known[parent]:
            yield Rejection(table.file, line, f"{parent}_id", f"no {parent} with this id: {link!r}")
            continue
        parts.add(table.key, f"{parent}:{link}", row)
        if table.key == "contacts" and row.get("id"):
            known["contact"].add(row["id"])
    if table.key == "contacts":  # the others belong to organizations
        ids = {row["id"] for _, row in table.rows if row.get("id")}
        known["unowned contact"] = ids - known["contact"]


def _ignored(tables: dict[str, Table], folder: Path, read_files: set[Path]) -> Iterator[Ignored]:
    """Files we do not read, columns we do not read that hold values, rows of organizations."""
    folders = {path.parent for path in read_files} | {folder}
    for path in sorted(p for f in folders for p in f.iterdir() if p.suffix.lower() == ".csv"):
        if path not in read_files:
            try:
                rows = sum(1 for _ in rows_of(path, 1))
            except FormatError:
                rows = 0
            yield Ignored(path.name, None, rows, "not a table this importer reads")
    for table in tables.values():
        if table.unowned:
            reason = "rows of organizations or their contacts, not of a service or location"
            yield Ignored(table.file, None, table.unowned, reason)
        for column in table.header:
            if column and column not in USED[table.key] and table.filled[column]:
                yield Ignored(table.file, column, table.filled[column], "column not imported")


# --- the HSDS record ----------------------------------------------------------------------------


def service_raw(
    row: dict[str, str],
    location: dict[str, str] | None,
    org: dict[str, str] | None,
    parts: Parts,
    terms: dict[str, dict[str, str]],
) -> dict[str, Any]:
    """An Ohana service as an HSDS 3.0 service record (see the module's docstring)."""
    place = location or {}
    eligibility = [row.get("eligibility"), _prefixed("Audience", row.get("audience"))]
    raw: dict[str, Any] = _some(
        id=row.get("id"),
        name=row.get("name"),
        alternate_name=row.get("alternate_name"),
        description=row.get("description"),
        status=row.get("status"),
        url=row.get("website") or place.get("website"),  # Ohana's sites are often the location's
        email=row.get("email") or place.get("email"),
        application_process=row.get("application_process"),
        interpretation_services=row.get("interpretation_services"),
        fees_description=row.get("fees"),
        eligibility_description="\n\n".join(filter(None, eligibility)),
        location_id=row.get("location_id"),
        organization_id=place.get("organization_id"),
        keywords=row.get("keywords"),  # what the service is about: needs are inferred from them
    )
    if org:
        raw["organization"] = _some(**{k: org.get(k) for k in USED["organizations"]})
    key = f"service:{row.get('id', '')}"
    raw |= _some(
        languages=[{"name": name} for name in _split(row.get("languages"))],
        service_areas=[{"name": name} for name in _split(row.get("service_areas"))],
        payments_accepted=[{"payment": name} for name in _split(row.get("accepted_payments"))],
        attributes=[{"taxonomy_term": _term(t, terms)} for t in _split(row.get("taxonomy_ids"))],
        phones=[_phone(p) for p in parts.get("phones", key)],
        contacts=[_contact(c, parts) for c in parts.get("contacts", key)],
        **_hours(parts, key),
    )
    if location is not None:
        key = f"location:{location['id']}"
        contacts = [_contact(c, parts) for c in parts.get("contacts", key)]
        raw["service_at_locations"] = [
            {"location": location_raw(location, parts)} | _some(contacts=contacts)
        ]
    return raw


def location_raw(location: dict[str, str], parts: Parts) -> dict[str, Any]:
    """An Ohana location as an HSDS 3.0 location: mail addresses are its postal addresses."""
    key = f"location:{location['id']}"
    addresses = [
        _some(address_type="physical", **{k: a.get(k) for k in _ADDRESS[2:]})
        for a in parts.get("addresses", key)
    ] + [
        _some(address_type="postal", **{k: a.get(k) for k in ("attention", *_ADDRESS[2:])})
        for a in parts.get("mail_addresses", key)
    ]
    hours = [{"description": text} for text in [location.get("hours")] if text]
    virtual = (location.get("virtual") or "").strip().lower() in ("true", "t", "yes", "1")
    return _some(
        id=location.get("id"),
        name=location.get("name"),
        description=location.get("description") or location.get("short_desc"),
        transportation=location.get("transportation"),
        latitude=location.get("latitude"),
        longitude=location.get("longitude"),
        location_type="virtual" if virtual else "physical",
        addresses=addresses,
        phones=[_phone(p) for p in parts.get("phones", key)],
        **_hours(parts, key, hours),
        accessibility=[{"description": a} for a in _split(location.get("accessibility"))],
        languages=[{"name": name} for name in _split(location.get("languages"))],
    )


def _phone(row: dict[str, str]) -> dict[str, Any]:
    number, prefix = row.get("number", ""), (row.get("country_prefix") or "").lstrip("+")
    if prefix and not number.startswith("+"):
        number = f"+{prefix} {number}"
    kind = (row.get("number_type") or "voice").lower()
    return _some(
        number=number,
        extension=row.get("extension"),
        type=PHONE_TYPES.get(kind, kind),
        description=row.get("department"),
    )


def _contact(row: dict[str, str], parts: Parts) -> dict[str, Any]:
    phones = [_phone(p) for p in parts.get("phones", f"contact:{row.get('id', '')}")]
    fields = {k: row.get(k) for k in ("name", "title", "department", "email")}
    return _some(**fields, phones=phones)


def _hours(parts: Parts, key: str, text: list[dict[str, str]] | None = None) -> dict[str, Any]:
    """Weekly hours, and holidays: dated ones as HSDS writes them (ISO dates; Ohana writes
    "December 24, 2015"); yearly ones (year 1: "January 01, 0001", Ohana's "every year") as
    words beside the weekly hours ("Closed every year on January 1"), as no date can say it."""
    holidays = parts.get("holiday_schedules", key)
    yearly = [{"description": words} for h in holidays if (words := _every_year(h))]
    return _some(
        regular_schedules=[*parts.get("regular_schedules", key), *(text or []), *yearly],
        holiday_schedules=[_dated(h) for h in holidays if not _every_year(h)],
    )


def _dated(row: dict[str, str]) -> dict[str, Any]:
    dates = {k: _date(row.get(k)) for k in ("start_date", "end_date")}
    return row | {k: d.isoformat() for k, d in dates.items() if d}


def _every_year(row: dict[str, str]) -> str | None:
    """ "Closed every year from June 1 to September 1" for a holiday of year 1, else None."""
    first, last = _date(row.get("start_date")), _date(row.get("end_date"))
    if first is None or first.year != 1 or (last is not None and last.year != 1):
        return None
    when = f"on {first:%B} {first.day}"
    if last is not None and last != first:
        when = f"from {first:%B} {first.day} to {last:%B} {last.day}"
    if (row.get("closed") or "").strip().lower() in ("true", "t", "yes", "1"):
        return f"Closed every year {when}"
    opens, closes = row.get("opens_at"), row.get("closes_at")
    return f"Open {opens}-{closes} every year {when}" if opens and closes else None


def _date(text: str | None) -> dt.date | None:
    for pattern in ("%B %d, %Y", "%m/%d/%Y", "%m/%d/%y", "%Y-%m-%d"):
        try:
            return dt.datetime.strptime((text or "").strip(), pattern).date()
        except ValueError:
            continue
    return None


def _term(taxonomy_id: str, terms: dict[str, dict[str, str]]) -> dict[str, str]:
    name = terms.get(taxonomy_id, {}).get("name")
    return {"id": taxonomy_id} | ({"name": name} if name else {})


def _split(value: str | None) -> list[str]:
    """A list column ("Spanish, Tagalog") as its items."""
    return [part.strip() for part in re.split(r",", value or "") if part.strip()]


def _prefixed(label: str, value: str | None) -> str | None:
    return f"{label}: {value}" if clean(value) else None


def _some(**values: Any) -> dict[str, Any]:
    """The values that are there (no blanks, no empty lists)."""
    return {k: v for k, v in values.items() if v not in (None, "", [], {})}


def normalise(raw: dict[str, Any]) -> Normalised:
    """The HSDS mapping, and a word when the service's location is not in the export."""
    result = hsds.normalise(raw)
    location_id = clean(raw.get("location_id"))
    if location_id and not raw.get("service_at_locations"):
        result.warn("locations", f"no location with this id: {location_id!r}")
    return result


FORMAT = Format(name="ohana", detect=detect, read=read, normalise=normalise)
