"""What an import refuses to take in, so that one hostile or broken file cannot exhaust the
machine, and the checks that enforce it before the expensive work starts.

Measured on real files: the 2022 SAMHSA directory has 9,038 rows in 1.3 MB (7.8 MB unpacked,
about 860 bytes a row, so MAX_ROWS of such rows is about 430 MB); an HSDS record nests about 6
levels deep. A generated sheet of 200,000 rows takes about 32 s to parse, but 0.5 s to count:
a longer sheet is refused by counting its rows before any is parsed.
"""

from __future__ import annotations

import json
import re
import zipfile
import zlib
from pathlib import Path
from typing import Any

from directory.ingest.records import FormatError

MAX_ROWS = 500_000  # rows of one sheet (an XLSX of 2,000,000 rows took 152 s and 2.2 GB)
MAX_UNPACKED_XLSX = 512 << 20  # bytes a workbook's members may declare once unpacked
MAX_JSON_DEPTH = 64  # nested arrays and objects in a JSON document
REJECTIONS_KEPT = 1_000  # rejected rows the report keeps in full; the rest are only counted
SHRINK_SHARE = 0.2  # --full refuses to deactivate more than this share of a source's listings...
SHRINK_LISTINGS = 50  # ...when that is also more than this many (without --allow-shrink)


def too_many_rows(name: str, sheet: str, limit: int) -> FormatError:
    """The refusal of a sheet longer than ``limit`` rows."""
    return FormatError(
        f"{name}: sheet {sheet!r} has more than {limit:,} rows, the most one import reads;"
        " split the file"
    )


_ROW = re.compile(rb"<(?:[A-Za-z_][\w.-]{0,7}:)?row[\s>/]")  # a <row> of SpreadsheetML: < 16 bytes


def check_rows(path: Path, member: str, sheet: str, limit: int) -> None:
    """Refuse a sheet of more than ``limit`` rows by counting the ``<row>`` elements of its zip
    member before any is parsed: unpacking takes about a second per 300 MB where parsing took
    32 s for 200,000 rows."""
    rows, pending = 0, b""
    try:
        with zipfile.ZipFile(path) as archive, archive.open(member) as handle:
            while rows <= limit and (chunk := handle.read(1 << 20)):
                data = pending + chunk
                cut = len(data) - 16  # a row starting past here may be cut: the next round's
                rows += sum(1 for found in _ROW.finditer(data) if found.start() < cut)
                pending = data[cut:]
            rows += len(_ROW.findall(pending))
    except (zipfile.BadZipFile, KeyError, OSError, EOFError, zlib.error):
        return  # the reader says what is wrong in its own words
    if rows > limit:
        raise too_many_rows(path.name, sheet, limit)


def check_unpacked(path: Path, limit: int) -> None:
    """Refuse a zip-based file (XLSX) whose members declare more than ``limit`` bytes unpacked.

    Reading a member stops at its declared size (zipfile checks the CRC there), so the declared
    sizes bound what parsing can inflate: a zip bomb is refused before any of it is unpacked.
    """
    try:
        with zipfile.ZipFile(path) as archive:
            total = sum(member.file_size for member in archive.infolist())
    except (zipfile.BadZipFile, OSError):
        return  # not a zip at all: the reader says so in its own words
    if total > limit:
        raise FormatError(
            f"{path.name}: unpacks to {total / (1 << 20):,.0f} MB, more than the"
            f" {limit / (1 << 20):,.0f} MB one import reads; split the file"
        )


def load_json(text: str, name: str, *, depth: int = MAX_JSON_DEPTH) -> Any:
    """Parsed JSON, refusing (FormatError) a document nested deeper than ``depth``.

    ``json.JSONDecodeError`` is left to the caller, which words it for its format.
    """
    try:
        document = json.loads(text)
    except RecursionError:
        document = None
    else:
        if nesting(document, depth) <= depth:
            return document
    raise FormatError(f"{name}: JSON nested more than {depth} levels deep; not a directory file")


def nesting(document: Any, stop: int) -> int:
    """How deep arrays and objects nest in a parsed document (counting stops past ``stop``)."""
    deepest = 0
    pending: list[tuple[Any, int]] = [(document, 0)]
    while pending and deepest <= stop:
        value, level = pending.pop()
        if isinstance(value, dict):
            value = list(value.values())
        if isinstance(value, list):
            deepest = max(deepest, level + 1)
            pending.extend((child, level + 1) for child in value)
    return deepest
