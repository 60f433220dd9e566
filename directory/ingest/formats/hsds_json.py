"""HSDS 3.0 JSON documents: a service, an organization with its services, a service at a location,
a list or an API page (``{"contents": [...]}``) of those, or NDJSON with one of them per line.

Each service becomes one record whose raw value is the service object itself (with its
organization's own fields nested under ``organization`` when it came inside one), which is the
shape the tabular reader builds too.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from directory.ingest.common import clean, derived_id
from directory.ingest.formats.hsds_usage import unread_keys
from directory.ingest.limits import load_json
from directory.ingest.records import FormatError, Ignored, ReadItem, Rejection, SourceRecord

JSON_SUFFIXES = (".json",)
NDJSON_SUFFIXES = (".ndjson", ".jsonl")
# Fields only a service has (HSDS 3.0 requires ``status``; the others cover looser exports).
_SERVICE_MARKS = (
    "status",
    "organization",
    "organization_id",
    "service_at_locations",
    "program",
    "program_id",
    "eligibility_description",
    "fees_description",
    "fees",
    "application_process",
    "interpretation_services",
    "service_areas",
    "cost_options",
    "wait_time",
    "accreditations",
)
_ORGANIZATION_MARKS = (
    "website",
    "tax_status",
    "tax_id",
    "year_incorporated",
    "legal_status",
    "logo",
    "parent_organization_id",
    "organization_identifiers",
    "locations",
)


def detect_json(path: Path) -> bool:
    """A .json file or NDJSON lines shaped like HSDS 3.0 services or organizations."""
    suffix = path.suffix.lower()
    if not path.is_file() or suffix not in JSON_SUFFIXES + NDJSON_SUFFIXES:
        return False
    try:
        if suffix in NDJSON_SUFFIXES:
            with path.open(encoding="utf-8-sig") as handle:
                first = next((line for line in handle if line.strip()), "")
            return _kind(load_json(first, path.name)) is not None
        return any(_kind(item) is not None for _, item in _items(_load(path))[:1])
    except (OSError, ValueError, FormatError):
        return False


def read_json(path: Path) -> Iterator[ReadItem]:
    """One record per service, in file order; duplicates and non-services rejected; then the
    keys the normaliser does not read, with the number of objects holding a value for each."""
    unread: Counter[str] = Counter()
    yield from _read_services(path, unread)
    for where, count in sorted(unread.items()):
        yield Ignored(path.name, where, count, "not imported")


def _read_services(path: Path, unread: Counter[str]) -> Iterator[SourceRecord | Rejection]:
    seen: dict[str, int] = {}
    for row, item in _document_items(path):
        for service in _services(item):
            if service is None:
                reason = f"not an HSDS service: {_describe(item)}"
                yield Rejection(path.name, row, None, reason)
                continue
            org = service.get("organization")
            org = org if isinstance(org, dict) else {}
            external_id = clean(service.get("id")) or derived_id(
                service.get("name"),
                service.get("organization_id") or org.get("id"),
                org.get("name"),
            )
            if external_id in seen:
                reason = f"duplicate of row {seen[external_id]}"
                yield Rejection(path.name, row, "id", reason, external_id=external_id)
                continue
            seen[external_id] = row
            unread_keys(service, "services", unread)
            yield SourceRecord(external_id, path.name, row, service)


def _document_items(path: Path) -> Iterator[tuple[int, Any]]:
    if path.suffix.lower() in NDJSON_SUFFIXES:
        yield from _ndjson(path)
        return
    items = _items(_load(path))
    if not any(_kind(item) for _, item in items):
        raise FormatError(
            f"{path.name}: not HSDS JSON (expected a service, an organization with services,"
            " a service at a location, or a list or page of them)"
        )
    if len(items) == 1 and _kind(items[0][1]) == "organization" and items[0][1].get("services"):
        # one organization: its services are the list, numbered from 1
        organization = items[0][1]
        for index, service in enumerate(organization["services"]):
            yield index + 1, {**organization, "services": [service]}
        return
    yield from items


def _load(path: Path) -> Any:
    data = path.read_bytes()
    if not data.strip():
        raise FormatError(f"{path.name}: empty file")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise FormatError(
            f"{path.name}: not UTF-8 text (byte 0x{data[error.start]:02x} at offset {error.start})"
        ) from None
    try:
        return load_json(text, path.name)
    except json.JSONDecodeError as error:
        raise FormatError(
            f"{path.name}: not valid JSON ({error.msg} at line {error.lineno} column {error.colno})"
        ) from None


def _items(document: Any) -> list[tuple[int, Any]]:
    """The document's items with their row numbers: a list, a page's contents, or itself."""
    if isinstance(document, dict) and isinstance(document.get("contents"), list):
        document = document["contents"]
    if isinstance(document, list):
        return [(index + 1, item) for index, item in enumerate(document)]
    return [(1, document)]


def _ndjson(path: Path) -> Iterator[tuple[int, Any]]:
    """NDJSON lines; a broken line after good ones is a rejected row, before any it is no NDJSON."""
    good = 0
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            if not raw.strip():
                continue
            try:
                item = load_json(raw.decode("utf-8-sig"), f"{path.name} line {number}")
            except (UnicodeDecodeError, json.JSONDecodeError) as error:
                if not good:
                    raise FormatError(f"{path.name}: line {number} is not JSON ({error})") from None
                yield number, _Broken(str(error))
                continue
            if not good and _kind(item) is None:
                raise FormatError(f"{path.name}: line {number} is not an HSDS service")
            good += 1
            yield number, item
    if not good:
        raise FormatError(f"{path.name}: empty file")


class _Broken:
    """An NDJSON line that does not parse (reported as a rejection, not a record)."""

    def __init__(self, error: str) -> None:
        self.error = error


def _kind(item: Any) -> str | None:
    """service | organization | service_at_location, or None for anything else."""
    if not isinstance(item, dict):
        return None
    if isinstance(item.get("services"), list):
        return "organization"
    if isinstance(item.get("service"), dict):
        return "service_at_location"
    if "name" not in item:
        return None
    if any(mark in item for mark in _SERVICE_MARKS):
        return "service"
    if any(mark in item for mark in _ORGANIZATION_MARKS):
        return "organization"
    return None


def _services(item: Any) -> list[dict[str, Any] | None]:
    """The services an item holds (None for an item that holds none)."""
    kind = _kind(item)
    if kind == "service":
        return [item]
    if kind == "service_at_location":
        place = {k: v for k, v in item.items() if k != "service"}
        return [{**item["service"], "service_at_locations": [place]}]
    if kind == "organization" and item.get("services"):
        own = {k: v for k, v in item.items() if not isinstance(v, list | dict)}
        return [
            {**s, "organization": s.get("organization") or own} if isinstance(s, dict) else None
            for s in item["services"]
        ]
    return [None]


def _describe(item: Any) -> str:
    if isinstance(item, _Broken):
        return f"the line is not JSON ({item.error})"
    if _kind(item) == "organization":
        return "an organization with no services"
    if isinstance(item, dict):
        return "an object with " + (", ".join(list(item)[:6]) or "no fields")
    return f"a JSON {type(item).__name__}"
