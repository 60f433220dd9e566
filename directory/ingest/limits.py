"""What an import refuses to take in, so that one hostile or broken file cannot exhaust the
machine, and the checks that enforce it before the expensive work starts.

Measured on real files: the 2022 SAMHSA directory has 9,038 rows in 1.3 MB (7.8 MB unpacked,
about 860 bytes a row, so MAX_ROWS of such rows is about 430 MB); an HSDS record nests about 6
levels deep. A generated sheet of 200,000 rows takes about 32 s to parse, but 0.5 s to count:
a longer workbook is refused by counting its rows before any is parsed.
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


def too_many_rows(name: str, limit: int) -> FormatError:
    """The refusal of a workbook longer than ``limit`` rows."""
    return FormatError(
        f"{name}: more than {limit:,} rows, the most one import reads; split the file"
    )


_ROW = re.compile(rb"<(?:[A-Za-z_][\w.-]{0,7}:)?row[\s>/]")  # a <row> of SpreadsheetML: < 16 bytes


def check_workbook(path: Path, *, rows: int, unpacked: int) -> None:
    """Refuse an XLSX that would unpack past ``unpacked`` bytes or holds more than ``rows``
    rows, before openpyxl opens it: openpyxl reads through a sheet that does not declare its
    size just to open the workbook (25 s for 600,000 rows). Both checks are cheap: the declared
    sizes bound what a member unpacks to (zipfile stops there and checks the CRC), and counting
    the ``<row>`` elements of every XML member unpacks about 300 MB a second."""
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
            total = sum(member.file_size for member in members)
            if total > unpacked:
                raise FormatError(
                    f"{path.name}: unpacks to {total / (1 << 20):,.0f} MB, more than the"
                    f" {unpacked / (1 << 20):,.0f} MB one import reads; split the file"
                )
            found = 0
            for member in members:
                if member.filename.lower().endswith(".xml") and found <= rows:
                    found += _rows_in(archive, member, rows - found)
    except (zipfile.BadZipFile, KeyError, OSError, EOFError, zlib.error):
        return  # the reader says what is wrong in its own words
    if found > rows:
        raise too_many_rows(path.name, rows)


def _rows_in(archive: zipfile.ZipFile, member: zipfile.ZipInfo, limit: int) -> int:
    """The ``<row>`` elements of a member, counted up to just past ``limit``."""
    rows, pending = 0, b""
    with archive.open(member) as handle:
        while rows <= limit and (chunk := handle.read(1 << 20)):
            data = pending + chunk
            cut = len(data) - 16  # a row starting past here may be cut: the next round's
            rows += sum(1 for found in _ROW.finditer(data) if found.start() < cut)
            pending = data[cut:]
    return rows + len(_ROW.findall(pending))


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
