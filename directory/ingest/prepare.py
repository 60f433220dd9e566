"""From a raw record to a validated listing document: pure work, no database.

It runs in the loader's worker process on big files (see ``parallel``), so it must not touch the
session; what it finds wrong comes back as a rejection or as warnings.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from directory.geo import offline_zips
from directory.ingest.formats import Format
from directory.ingest.records import RowRejected, SourceRecord
from directory.listings.schemas import ServiceCreate
from directory.listings.service import content_hash


@dataclass
class Prepared:
    """A record's validated document and digest, or why it was rejected; and dropped values."""

    doc: ServiceCreate | None = None
    content_hash: str | None = None
    raw_json: str | None = None  # the raw record serialised once, for its provenance row
    rejection: tuple[str | None, str] | None = None  # (field, reason)
    warnings: list[tuple[str, str]] = field(default_factory=list)
    tallies: dict[str, int] = field(default_factory=dict)


def prepare(fmt: Format, item: SourceRecord, source: str) -> Prepared:
    """Normalise, place and validate one record."""
    raw_json = json.dumps(item.raw, default=str, ensure_ascii=False)
    # PostgreSQL stores no NUL characters, not even in the raw record ("\\u0000" in the JSON is
    # either one, or a backslash written in the text).
    if "\\u0000" in raw_json and (nul := _field_with_nul(item.raw)) is not None:
        return Prepared(rejection=(nul, "text contains a NUL character"))
    try:
        normalised = fmt.normalise(item.raw)
    except RowRejected as rejected:
        return Prepared(rejection=(rejected.field, rejected.reason))
    body = {**normalised.doc, "provenance": {"source": source, "external_id": item.external_id}}
    if boxes := postal_boxes(body):
        normalised.tally("addresses: P.O. boxes kept as postal, not as sites", boxes)
    warnings = [*normalised.warnings, *approximate_places(body)]
    try:
        doc = ServiceCreate.model_validate(body)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or None
        return Prepared(rejection=(where, first["msg"]), warnings=warnings)
    return Prepared(
        doc, content_hash(doc), raw_json=raw_json, warnings=warnings, tallies=normalised.tallies
    )


def postal_boxes(body: dict[str, Any]) -> int:
    """Make sites whose address is a P.O. box postal locations (a box is where mail goes, not a
    place to go: no point, never a site in search); how many there were."""
    found = 0
    for location in body.get("locations") or []:
        address = location.get("address") or {}
        if is_po_box(address.get("address_1")) and location.get("location_type") != "virtual":
            location |= {"location_type": "postal", "latitude": None, "longitude": None}
            location["address"] = address | {"address_type": "postal"}
            found += 1
    return found


def approximate_places(body: dict[str, Any]) -> list[tuple[str, str]]:
    """Give sites without coordinates their US ZIP's centroid, marked approximate.

    Returns warnings for physical sites that stay without a point.
    """
    warnings = []
    for location in body.get("locations") or []:
        address = location.get("address") or {}
        if location.get("location_type") == "postal":
            continue
        if location.get("latitude") is not None or address.get("country", "US") != "US":
            continue
        centroid = offline_zips().centroid(address.get("postal_code"))
        if centroid is None:
            if location.get("location_type", "physical") == "physical":
                warnings.append(("postal_code", "no coordinates and no known ZIP"))
            continue
        location["latitude"], location["longitude"] = centroid
        location["coordinates_approximate"] = True
    return warnings


_PO_BOX = re.compile(
    r"(?i)^\s*(?:p\.?\s*o\.?|post\s+office|postal)\s*(?:box|drawer|bin)\b|^\s*box\s+\d+\s*$"
    r"|^\s*apartado\s+(?:postal|de\s+correos)\b"
)


def is_po_box(text: Any) -> bool:
    """Whether an address line is a post-office box ("P.O. Box 12", "PO Drawer C", "Box 3")."""
    return isinstance(text, str) and _PO_BOX.search(text) is not None


def _field_with_nul(value: Any, path: str = "") -> str | None:
    """The path of the first string holding a NUL character, or None."""
    if isinstance(value, str):
        return (path or "row") if "\x00" in value else None
    children: Any = (
        value.items()
        if isinstance(value, dict)
        else (enumerate(value) if isinstance(value, list) else ())
    )
    for key, child in children:
        where = f"{path}.{key}" if path else str(key)
        found = where if "\x00" in str(key) else _field_with_nul(child, where)
        if found is not None:
            return found
    return None
