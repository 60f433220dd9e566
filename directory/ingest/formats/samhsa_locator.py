"""SAMHSA treatment locator export (CSV, geocoded): one facility per row, with coordinates.

Quirks: the first column is an unnamed row index (not an id: the file has none), ZIP codes lost
their leading zeros (CT ``6708``), missing values are the string ``NA``.
"""

from __future__ import annotations

import csv
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from directory.ingest.common import clean, phone_entry, unread_columns, url, zip5
from directory.ingest.formats import Format
from directory.ingest.formats.samhsa_codes import expand, facility, facility_id
from directory.ingest.infer import infer_needs
from directory.ingest.merge import repeat_id
from directory.ingest.records import (
    FormatError,
    Normalised,
    ReadItem,
    Rejection,
    SourceRecord,
)

REQUIRED = ("name1", "street1", "city", "state", "zip", "latitude", "longitude")
COLUMNS = (
    *REQUIRED,
    "name2",
    "street2",
    "zip4",
    "county",
    "phone",
    "intake_prompt",
    "intake1",
    "intake2",
    "website",
    "type_facility",
)
UNREAD = ("zip4", "county", "intake_prompt")  # kept in the raw record, not in the listing


def detect(path: Path) -> bool:
    """A CSV whose header has the locator's columns."""
    if path.suffix.lower() != ".csv" or not path.is_file():
        return False
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            header = next(csv.reader(handle), [])
    except (UnicodeDecodeError, OSError):
        return False
    return set(REQUIRED) <= {h.strip() for h in header}


def read(path: Path) -> Iterator[ReadItem]:
    """Stream the rows; a row keeps its CSV line number. A facility repeated on another row (same
    name and address) is read again under an id of its own, and the loader merges it."""
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            rows = csv.reader(handle)
            header = [h.strip() for h in next(rows, [])]
            missing = [c for c in REQUIRED if c not in header]
            if not header or missing:
                raise FormatError(
                    f"{path.name}: not a SAMHSA locator CSV "
                    f"(missing columns: {', '.join(missing) or 'all'})"
                )
            yield from _records(path.name, header, rows)
    except UnicodeDecodeError as error:
        raise FormatError(
            f"{path.name}: not UTF-8 text ({error.reason} at byte {error.start})"
        ) from None
    except csv.Error as error:
        raise FormatError(f"{path.name}: unreadable CSV ({error})") from None


def _records(name: str, header: list[str], rows: Iterator[list[str]]) -> Iterator[ReadItem]:
    seen: Counter[str] = Counter()
    filled: Counter[str] = Counter()
    for values in rows:
        line = rows.line_num  # type: ignore[attr-defined]
        if not any(v.strip() for v in values):
            continue
        if len(values) != len(header):
            yield Rejection(
                name, line, None, f"{len(values)} fields where the header has {len(header)}"
            )
            continue
        raw = {k: v for k, v in zip(header, values, strict=True) if k in COLUMNS}
        filled.update(k for k, v in zip(header, values, strict=True) if clean(v) is not None)
        yield SourceRecord(repeat_id(facility_id(raw), seen), name, line, raw)
    yield from unread_columns(name, filled, set(COLUMNS) - set(UNREAD))


def normalise(raw: dict[str, Any]) -> Normalised:
    """One facility: a physical site at its geocoded point, its phones and facility type (or,
    without one, the needs its name names: ``infer_needs``)."""
    result = facility(raw)
    result.doc["url"] = url(raw.get("website"))
    result.doc["locations"] = [_location(raw, result)]
    phones = [phone_entry(raw.get("phone"), result, "phone")]
    for column in ("intake1", "intake2"):
        phones.append(phone_entry(raw.get(column), result, column, description="Intake"))
    result.doc["phones"] = _unique(phones)
    facility_type = clean(raw.get("type_facility"))
    expand([facility_type] if facility_type else [], result.doc, result, field="type_facility")
    infer_needs(result.doc, result)  # no code, or none that names a need: the name tells
    return result


def _location(raw: dict[str, Any], result: Normalised) -> dict[str, Any]:
    location: dict[str, Any] = {
        "location_type": "physical",
        "address": {
            "address_1": clean(raw.get("street1")),
            "address_2": clean(raw.get("street2")),
            "city": clean(raw.get("city")),
            "state_province": clean(raw.get("state")),
            "postal_code": zip5(raw.get("zip")),
            "country": "US",
        },
    }
    try:
        latitude, longitude = float(raw["latitude"]), float(raw["longitude"])
    except (KeyError, TypeError, ValueError):
        result.warn("latitude", "no coordinates")
        return location
    if -90 <= latitude <= 90 and -180 <= longitude <= 180:
        location |= {"latitude": round(latitude, 6), "longitude": round(longitude, 6)}
    else:
        result.warn("latitude", f"coordinates out of range: {latitude}, {longitude}")
    return location


def _unique(phones: list[dict[str, Any] | None]) -> list[dict[str, Any]]:
    found: dict[tuple[str, str | None], dict[str, Any]] = {}
    for phone in phones:
        if phone is not None:
            found.setdefault((phone["number"], phone.get("extension")), phone)
    return list(found.values())


FORMAT = Format(name="samhsa-locator", detect=detect, read=read, normalise=normalise)
