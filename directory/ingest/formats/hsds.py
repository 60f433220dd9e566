"""HSDS, Open Referral's Human Services Data Specification (1.x and 3.0): tabular packages and JSON.

Both readers give one raw record per service in the HSDS 3.0 nested shape (``hsds_tabular``,
``hsds_json``); 1.x tables keep their own names inside it (``regular_schedules``,
``physical_addresses``, ``accessibility_for_disabilities``, ``services_taxonomy``...).
``normalise`` maps that record onto ``ServiceCreate``: a pure function of the raw value, so that
improved mappings can be re-applied to stored records. A value that cannot be used is dropped with
a warning; only a service without a name is rejected.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from directory.hsds.columns import REGION_URN
from directory.ingest import common
from directory.ingest.formats import Format
from directory.ingest.formats.hsds_json import (
    JSON_SUFFIXES,
    NDJSON_SUFFIXES,
    detect_json,
    read_json,
)
from directory.ingest.formats.hsds_reach import _contacts, _languages, _phones, _schedules
from directory.ingest.formats.hsds_tabular import detect_package, read_package
from directory.ingest.formats.hsds_values import (
    SHORT,
    _cap,
    _country,
    _email,
    _list,
    _long,
    _short,
    _url,
    _valid,
)
from directory.ingest.formats.package_files import package_path
from directory.ingest.infer import infer_needs
from directory.ingest.mappings import accessibility_codes, regions, term_need
from directory.ingest.records import FormatError, Normalised, ReadItem, RowRejected
from directory.listings import vocabularies
from directory.listings.schemas import (
    AccessibilityIn,
    AddressIn,
    CostOptionIn,
    LocationIn,
    ServiceAreaIn,
)

STATUSES = {"active", "inactive", "defunct", "temporarily closed"}


def detect(path: Path) -> bool:
    """An HSDS package folder (or its datapackage.json), or HSDS 3.0 JSON / NDJSON."""
    return detect_package(path) or detect_json(path)


def read(path: Path) -> Iterator[ReadItem]:
    """One record per service, from a package folder or a JSON / NDJSON file."""
    if path.suffix.lower() in JSON_SUFFIXES + NDJSON_SUFFIXES and path.name != "datapackage.json":
        return read_json(path)
    if package_path(path) is not None:
        return read_package(path)
    raise FormatError(f"{path}: not an HSDS package folder, JSON or NDJSON file")


def normalise(raw: dict[str, Any]) -> Normalised:
    """The ``ServiceCreate`` document (without provenance) for one raw HSDS service."""
    result = Normalised(doc={})
    name = _short(raw.get("name"), result, "name")
    if name is None:
        raise RowRejected("name", "a service needs a name")
    doc = result.doc
    doc |= {"name": name, "status": _status(raw.get("status"), result)}
    doc["organization"] = _organization(raw, name, result)
    doc |= _service_fields(raw, result)
    places = [
        p for p in _list(raw.get("service_at_locations")) if isinstance(p.get("location"), dict)
    ]
    doc["locations"] = _cap([_location(p, result) for p in places], "locations", result)
    areas = _list(raw.get("service_areas")) + _list(raw.get("service_area"))
    doc["service_areas"] = _cap(_service_areas(areas, result), "service_areas", result)
    home = _home_country(doc)
    phones = _phones(_list(raw.get("phones")), result, "phones", home)
    doc["phones"] = _cap(phones, "phones", result)
    rows = _list(raw.get("schedules")) + _list(raw.get("regular_schedules"))
    rows += [{"description": text} for text in [_long(raw.get("hours"))] if text]
    holidays = _list(raw.get("holiday_schedules"))
    doc["schedules"] = _cap(_schedules(rows, result, "schedules", holidays), "schedules", result)
    contacts = _list(raw.get("contacts")) + [
        c for p in places for c in _list(p.get("contacts")) + _list(p["location"].get("contacts"))
    ]
    doc["contacts"] = _cap(_contacts(contacts, result, home), "contacts", result)
    spoken = _list(raw.get("languages")) + [
        row for p in places for row in _list(p["location"].get("languages"))
    ]
    doc["languages"] = _cap(_languages(spoken, result), "languages", result)
    doc["cost_options"] = _cap(_cost_options(raw, result), "cost_options", result)
    doc["needs"] = _cap(_needs(raw, result), "needs", result)
    # no taxonomy, or none of ours: the name, the description and any keywords tell
    infer_needs(doc, result, keywords=common.clean(raw.get("keywords")))
    return result


def assured(raw: dict[str, Any], source: str) -> tuple[dt.datetime, str] | None:
    """When the service was last checked (``assured_date``, not in the future) and by whom
    (``assurer_email``, else the source): the listing's verification."""
    text = common.clean(raw.get("assured_date")) or ""
    try:
        day = dt.date.fromisoformat(text[:10])
    except ValueError:
        return None
    if day > dt.datetime.now(dt.UTC).date():
        return None
    by = _email(raw.get("assurer_email"), Normalised(doc={}), "assurer_email") or source
    return dt.datetime.combine(day, dt.time(), dt.UTC), by


FORMAT = Format(name="hsds", detect=detect, read=read, normalise=normalise)


# --- the service and its organization -----------------------------------------------------------


def _status(value: Any, result: Normalised) -> str:
    text = (common.clean(value) or "active").lower().replace("_", " ").replace("-", " ")
    if text not in STATUSES:
        result.warn("status", f"unknown status, imported as active: {common.clean(value)!r}")
        return "active"
    return text


def _organization(raw: dict[str, Any], service_name: str, result: Normalised) -> dict[str, Any]:
    given = raw.get("organization")
    org: dict[str, Any] = given if isinstance(given, dict) else {}
    name = _short(org.get("name"), result, "organization.name")
    if name is None:
        link = common.clean(raw.get("organization_id"))
        reason = "organization not in the source, named after the service"
        result.warn(
            "organization",
            f"{reason}: {link!r}" if link else "no organization, named after the service",
        )
        return {"name": service_name}
    doc: dict[str, Any] = {"name": name}
    fields = {
        "alternate_name": _short(org.get("alternate_name")),
        "description": _long(org.get("description")),
        "email": _email(org.get("email"), result, "organization.email"),
        "url": _url(org.get("website") or org.get("url"), result, "organization.url"),
    }
    return doc | {k: v for k, v in fields.items() if v is not None}


def _service_fields(raw: dict[str, Any], result: Normalised) -> dict[str, Any]:
    eligibility = [row.get("eligibility") for row in _list(raw.get("eligibility"))]
    fields: dict[str, Any] = {
        "alternate_name": _short(raw.get("alternate_name"), result, "alternate_name"),
        "description": _long(raw.get("description")),
        "url": _url(raw.get("url"), result, "url"),
        "email": _email(raw.get("email"), result, "email"),
        "interpretation_services": _long(raw.get("interpretation_services")),
        "application_process": _long(raw.get("application_process")),
        "fees_description": _long(raw.get("fees_description") or raw.get("fees")),
        "eligibility_description": _long(
            raw.get("eligibility_description") or "; ".join(filter(None, eligibility))
        ),
        "alert": _long(raw.get("alert")),
    }
    for key in ("minimum_age", "maximum_age"):
        text = common.clean(raw.get(key))
        if text is not None and re.fullmatch(r"\d{1,3}(\.0+)?", text) and int(float(text)) <= 130:
            fields[key] = int(float(text))
        elif text is not None:
            result.warn(key, f"not an age: {text!r}")
    return {k: v for k, v in fields.items() if v is not None}


def _home_country(doc: dict[str, Any]) -> str:
    """Where the service's own phones dial from: its first location's country, else its first
    service area's, else the US (a short code such as 116 123 dials only in its country)."""
    for location in doc["locations"]:
        if location and (country := (location.get("address") or {}).get("country")):
            return str(country)
    regions = [code for area in doc["service_areas"] for code in area.get("regions") or []]
    return regions[0][:2] if regions else "US"


# --- locations ----------------------------------------------------------------------------------


def _location(place: dict[str, Any], result: Normalised) -> dict[str, Any] | None:
    loc: dict[str, Any] = place["location"]
    name = _short(loc.get("name"), result, "locations.name")
    doc: dict[str, Any] = {"name": name} if name else {}
    doc |= {k: v for k in ("description", "transportation") if (v := _long(loc.get(k)))}
    kind = (common.clean(loc.get("location_type")) or "physical").lower()
    doc["location_type"] = kind if kind in ("physical", "postal", "virtual") else "physical"
    doc |= _coordinates(loc, result)
    address = _address(loc, result)
    if address:
        doc["address"] = address
    doc["accessibility"] = _accessibility(loc, result)
    country = (address or {}).get("country", "US")
    phones = _list(loc.get("phones")) + _list(place.get("phones"))
    doc["phones"] = _cap(
        _phones(phones, result, "locations.phones", country), "locations.phones", result
    )
    rows = [
        row
        for source in (loc, place)
        for key in ("schedules", "regular_schedules")
        for row in _list(source.get(key))
    ]
    holidays = [row for source in (loc, place) for row in _list(source.get("holiday_schedules"))]
    doc["schedules"] = _cap(
        _schedules(rows, result, "locations.schedules", holidays), "locations.schedules", result
    )
    own = {k: v for k, v in doc.items() if k not in ("accessibility", "phones", "schedules")}
    return doc if _valid(LocationIn, own, result, "locations") else None  # parts checked above


def _coordinates(loc: dict[str, Any], result: Normalised) -> dict[str, float]:
    latitude, longitude = common.clean(loc.get("latitude")), common.clean(loc.get("longitude"))
    if latitude is None and longitude is None:
        return {}
    try:
        lat, lon = float(latitude or "nan"), float(longitude or "nan")
    except ValueError:
        lat = lon = float("nan")
    if not (-90 <= lat <= 90 and -180 <= lon <= 180) or (lat == 0 and lon == 0):
        result.warn("locations.latitude", f"not a valid point: {latitude!r}, {longitude!r}")
        return {}
    return {"latitude": lat, "longitude": lon}


def _address(loc: dict[str, Any], result: Normalised) -> dict[str, Any] | None:
    """The location's physical address, else its postal one (3.0 ``addresses`` or 1.x tables)."""
    rows = [(row.get("address_type") or "physical", row) for row in _list(loc.get("addresses"))]
    rows += [("physical", row) for row in _list(loc.get("physical_addresses"))]
    rows += [("postal", row) for row in _list(loc.get("postal_addresses"))]
    rows.sort(key=lambda pair: str(pair[0]).strip().lower() != "physical")
    for kind, row in rows:
        doc = {
            k: v
            for k in ("attention", "address_1", "city", "region", "state_province")
            if (v := _short(row.get(k)))
        }
        extra = ", ".join(filter(None, (_short(row.get(f"address_{n}")) for n in (2, 3, 4))))
        doc |= {"address_2": extra} if extra else {}
        doc["country"] = _country(row.get("country"), result)
        postal = common.zip5(row.get("postal_code")) if doc["country"] == "US" else None
        postal = postal or common.clean(row.get("postal_code"))
        doc |= {"postal_code": postal} if postal and len(postal) <= 16 else {}
        doc["address_type"] = "postal" if str(kind).strip().lower() == "postal" else "physical"
        if len(doc) > 2 and _valid(AddressIn, doc, result, "locations.address"):
            return doc
    return None


def _accessibility(loc: dict[str, Any], result: Normalised) -> list[dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    rows = _list(loc.get("accessibility")) + _list(loc.get("accessibility_for_disabilities"))
    for row in rows:
        text = common.clean(row.get("description") or row.get("accessibility"))
        if text is None:
            continue
        codes, free_text = accessibility_codes(text)
        if not codes:
            result.warn("locations.accessibility", f"no accessibility code: {text!r}")
        details = _short(row.get("details")) or (_short(text) if free_text else None)
        link = _url(row.get("url"), result, "locations.accessibility")
        for code in codes:
            entry = {"code": code} | ({"details": details} if details else {})
            entry |= {"url": link} if link else {}
            if code not in found and _valid(AccessibilityIn, entry, result, "accessibility"):
                found[code] = entry
    return list(found.values())


# --- service areas, cost options, needs ---------------------------------------------------------


def _service_areas(rows: list[dict[str, Any]], result: Normalised) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for row in rows:
        name = _short(row.get("name") or row.get("service_area") or row.get("description"))
        if name is None:
            continue
        entry: dict[str, Any] = {"name": name, "regions": _area_regions(row, name, result)}
        description = _long(row.get("description"))
        entry |= {"description": description} if description and description != name else {}
        if entry not in found and _valid(ServiceAreaIn, entry, result, "service_areas"):
            found.append(entry)
    return found


def _area_regions(row: dict[str, Any], name: str, result: Normalised) -> list[str]:
    """The regions our export writes in ``uri`` (``urn:iso:std:iso:3166:US-IL``), else those
    the name says (a US state, the whole country)."""
    written = [
        part.removeprefix(REGION_URN)
        for part in (common.clean(row.get("uri")) or "").split()
        if part.startswith(REGION_URN)
    ]
    found: list[str] = []
    for code in written:
        try:
            found.append(vocabularies.region(code))
        except ValueError:
            result.warn("service_areas", f"not an ISO 3166 region: {code!r}")
    return list(dict.fromkeys(found)) if written else regions(name)


def _cost_options(raw: dict[str, Any], result: Normalised) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for row in _list(raw.get("cost_options")):
        entry = _cost_option(row, result)
        if entry and entry not in found and _valid(CostOptionIn, entry, result, "cost_options"):
            found.append(entry)
    for row in _list(raw.get("payments_accepted")):  # HSDS 1.x: "cash", "Medicaid", ...
        payment = common.clean(row.get("payment"))
        entry = {"option": re.sub(r"[\s_]+", "-", payment.lower())[:64]} if payment else {}
        if entry and entry not in found and _valid(CostOptionIn, entry, result, "cost_options"):
            found.append(entry)
    fees = _short(raw.get("fees_description") or raw.get("fees"))
    if fees and re.match(r"(?i)free\b", fees) and not any(f["option"] == "free" for f in found):
        found.append({"option": "free", "description": fees})
    return found


def _cost_option(row: dict[str, Any], result: Normalised) -> dict[str, Any] | None:
    option = common.clean(row.get("option"))
    if option is None:
        return None
    entry: dict[str, Any] = {"option": option[:64]}
    if len(option) > 64:
        entry["amount_description"] = option[:SHORT]
    amount = common.clean(row.get("amount"))
    try:
        entry |= {"amount": str(Decimal(amount).quantize(Decimal("0.01")))} if amount else {}
    except InvalidOperation:
        result.warn("cost_options", f"not an amount: {amount!r}")
    currency = (common.clean(row.get("currency")) or "").upper()
    entry |= {"currency": currency} if re.fullmatch(r"[A-Z]{3}", currency) else {}
    if text := _short(row.get("amount_description")):
        entry["amount_description"] = text
    return entry


def _needs(raw: dict[str, Any], result: Normalised) -> list[str]:
    """Needs from taxonomy terms: AIRS/211 codes, else the term's name as free text."""
    terms = [link.get("taxonomy_term") for link in _list(raw.get("attributes"))]
    terms += [
        link.get("taxonomy") or {"id": link.get("taxonomy_id")}
        for link in _list(raw.get("services_taxonomy"))
    ]
    terms += _list(raw.get("taxonomy_terms"))
    found: list[str] = []
    for term in terms:
        if not isinstance(term, dict):
            continue
        need = term_need(term)
        if need is None:
            label = common.clean(term.get("code")) or common.clean(term.get("name"))
            result.warn("needs", f"unmapped taxonomy term: {label or term.get('id')!r}")
        elif need not in found:
            found.append(need)
    return found
