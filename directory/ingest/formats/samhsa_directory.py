"""SAMHSA National Directories of Mental Health and of Substance Use Treatment Facilities (XLSX,
the same columns): one facility per row.

Sheet "Facilities List" holds the facilities (no ids, no coordinates: the loader places a listing
at its ZIP centroid later); ``service_code_info`` lists the facility's SAMHSA codes, expanded by
``samhsa_codes.expand`` (the codes of both directories); a row whose codes name no need gets the
needs its name names (``infer.infer_needs``). Sheet "Service Code Reference" explains the codes.
"""

from __future__ import annotations

import datetime as dt
import zipfile
import zlib
from collections import Counter
from collections.abc import Generator, Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import openpyxl
import phonenumbers
from openpyxl.utils.exceptions import InvalidFileException

from directory.ingest import limits
from directory.ingest.common import clean, phone_entry, unread_columns, zip5
from directory.ingest.formats import Format
from directory.ingest.formats.samhsa_codes import expand, facility, facility_id, split_codes
from directory.ingest.infer import infer_needs
from directory.ingest.merge import repeat_id
from directory.ingest.records import (
    FormatError,
    Ignored,
    Normalised,
    ReadItem,
    Rejection,
    SourceRecord,
)

FACILITIES = "Facilities List"
REFERENCE = "Service Code Reference"
REQUIRED = ("name1", "street1", "city", "state", "zip", "service_code_info")
REFERENCE_COLUMNS = ("category_code", "category_name", "service_code", "service_name")
PHONE_COLUMNS = (
    ("phone", None),
    ("intake1", "Intake"),
    ("intake2", "Intake"),
    ("intake1a", "Intake"),
    ("intake2a", "Intake"),
)
READ = {"name1", "name2", "street1", "street2", "city", "state", "zip", "service_code_info"} | {
    column for column, _ in PHONE_COLUMNS
}
EXTENSIONS = (".xlsx", ".xlsm")
# What openpyxl and the zip and XML layers under it raise for a damaged or foreign file.
BROKEN = (
    InvalidFileException,
    zipfile.BadZipFile,
    KeyError,
    OSError,
    EOFError,
    zlib.error,
    ElementTree.ParseError,
    ValueError,
    TypeError,
)


def detect(path: Path) -> bool:
    """An XLSX workbook with a "Facilities List" sheet (reads only the workbook's sheet list)."""
    if path.suffix.lower() not in EXTENSIONS or not path.is_file():
        return False
    try:
        with zipfile.ZipFile(path) as archive:
            workbook = ElementTree.fromstring(archive.read("xl/workbook.xml"))
    except (zipfile.BadZipFile, KeyError, OSError, ElementTree.ParseError):
        return False
    return any(
        sheet.get("name") == FACILITIES for sheet in workbook.iter() if sheet.tag.endswith("}sheet")
    )


def read(path: Path) -> Iterator[ReadItem]:
    """Stream the facilities; a record keeps its sheet row number (the header is row 1). A
    facility repeated on another row (same name and address, other phones or codes) is read
    again under an id of its own, and the loader merges it. Then the columns and sheets that
    nothing reads, counted."""
    seen: Counter[str] = Counter()
    filled: Counter[str] = Counter()
    # Opened once: opening reads through every sheet that does not declare its size.
    with _workbook(path) as workbook:
        for row, raw in sheet_rows(path, FACILITIES, REQUIRED, workbook=workbook):
            filled.update(k for k, v in raw.items() if clean(v) is not None)
            if clean(raw["name1"]) is None:
                yield Rejection(path.name, row, "name1", "missing name")
                continue
            yield SourceRecord(repeat_id(facility_id(raw), seen), path.name, row, raw)
        yield from unread_columns(f"{path.name} {FACILITIES}", filled, READ)
        yield from _other_sheets(path, workbook)


def _other_sheets(path: Path, workbook: Any) -> Iterator[Ignored]:
    """The workbook's other sheets: the code reference is ours already (samhsa.yaml)."""
    for sheet in workbook.sheetnames:
        if sheet != FACILITIES:
            rows = sum(1 for row in workbook[sheet].iter_rows(values_only=True) if any(row))
            why = "the codes are mapped in samhsa.yaml" if sheet == REFERENCE else "not read"
            yield Ignored(f"{path.name} {sheet}", None, max(rows - 1, 0), why)


def reference_rows(path: Path) -> list[dict[str, str | None]]:
    """The rows of the "Service Code Reference" sheet (code, name, category, description)."""
    return [raw for _, raw in sheet_rows(path, REFERENCE, REFERENCE_COLUMNS)]


def sheet_rows(
    path: Path, sheet: str, required: tuple[str, ...], *, workbook: Any = None
) -> Iterator[tuple[int, dict[str, str | None]]]:
    """(row number, {column: text}) for each non-empty row of a sheet whose header (row 1) has
    the ``required`` columns; FormatError when the file or the sheet cannot be read, or holds
    more than ``limits.MAX_ROWS`` rows (counted before it is opened: see ``_workbook``).
    ``workbook``: the file already open (else it is opened here)."""
    if workbook is None:
        with _workbook(path) as opened:
            yield from sheet_rows(path, sheet, required, workbook=opened)
        return
    cap = limits.MAX_ROWS
    if sheet not in workbook.sheetnames:
        raise FormatError(
            f"{path.name}: no sheet {sheet!r} in this workbook "
            f"(sheets: {', '.join(workbook.sheetnames)})"
        )
    with closing(_values(path, workbook[sheet].iter_rows(values_only=True))) as rows:
        header = [clean(name) for name in next(rows, ())]
        missing = [column for column in required if column not in header]
        if missing:
            raise FormatError(
                f"{path.name}: sheet {sheet!r} lacks the columns "
                f"{', '.join(missing)} in its first row"
            )
        for number, values in enumerate(rows, start=2):
            if number > cap:
                raise limits.too_many_rows(path.name, cap)  # rows not written as <row>
            texts = [_text(value) for value in values]
            if any(text is not None and text.strip() for text in texts):
                texts += [None] * (len(header) - len(texts))
                yield number, {k: v for k, v in zip(header, texts, strict=False) if k}


@contextmanager
def _workbook(path: Path) -> Iterator[Any]:
    limits.check_workbook(path, rows=limits.MAX_ROWS, unpacked=limits.MAX_UNPACKED_XLSX)
    try:
        workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except BROKEN as error:
        raise FormatError(f"{path.name}: not a readable XLSX workbook ({_reason(error)})") from None
    try:
        yield workbook
    finally:
        workbook.close()


def _values(
    path: Path, rows: Generator[tuple[Any, ...], None, None]
) -> Generator[tuple[Any, ...], None, None]:
    """The rows of a sheet, turning a damaged archive found mid-way into a FormatError."""
    try:
        while True:
            try:
                values = next(rows)
            except StopIteration:
                return
            except BROKEN as error:
                raise FormatError(
                    f"{path.name}: damaged XLSX workbook ({_reason(error)})"
                ) from None
            yield values
    finally:
        rows.close()  # frees the zip member's file handle


def _reason(error: Exception) -> str:
    return str(error) or type(error).__name__


def _text(value: Any) -> str | None:
    """A cell as JSON-friendly text, as given (ZIP 6708 stays "6708"; 6708.0 too)."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    return str(value)


def normalise(raw: dict[str, Any]) -> Normalised:
    """One facility: its site, phones and everything its service codes say."""
    result = facility(raw)
    location = _location(raw, result)
    result.doc["locations"] = [location] if location else []
    result.doc["phones"] = _phones(raw, result)
    expand(
        split_codes(clean(raw.get("service_code_info"))),
        result.doc,
        result,
        field="service_code_info",
    )
    infer_needs(result.doc, result)  # no code that names a need: the name tells
    return result


def _location(raw: dict[str, Any], result: Normalised) -> dict[str, Any] | None:
    """The physical site, without coordinates; None when the row has no address at all."""
    address = {
        "address_1": clean(raw.get("street1")),
        "address_2": clean(raw.get("street2")),
        "city": clean(raw.get("city")),
        "state_province": clean(raw.get("state")),
        "postal_code": zip5(raw.get("zip")),
    }
    if clean(raw.get("zip")) is not None and address["postal_code"] is None:
        result.warn("zip", f"not a US ZIP code: {clean(raw.get('zip'))!r}")
    if not any(address.values()):
        result.warn("street1", "no address")
        return None
    given = {key: value for key, value in address.items() if value is not None}
    return {"location_type": "physical", "address": given | {"country": "US"}}


def _phones(raw: dict[str, Any], result: Normalised) -> list[dict[str, Any]]:
    """The main and intake phones, each number once (``800-KIDSDOC`` is ``800-543-7362``)."""
    found: dict[tuple[str, str | None], dict[str, Any]] = {}
    for column, description in PHONE_COLUMNS:
        entry = phone_entry(raw.get(column), result, column, description=description)
        if entry is not None:
            key = phonenumbers.format_number(
                phonenumbers.parse(entry["number"], entry["country"]),
                phonenumbers.PhoneNumberFormat.E164,
            )
            found.setdefault((key, entry.get("extension")), entry)
    return list(found.values())


FORMAT = Format(name="samhsa-directory", detect=detect, read=read, normalise=normalise)
