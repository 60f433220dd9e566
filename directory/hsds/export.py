"""``directory export hsds OUT``: the published listings as an HSDS 3.0 package or NDJSON.

OUT a folder: one CSV per table (the spec's file names and column order) and a
``datapackage.json`` describing them; OUT ending ``.zip``: the same files in a zip; OUT ending
``.ndjson``: one full service document per line (``documents.full_services``).

Deterministic, so that two exports of the same data are the same bytes: rows sorted by id, one
CSV dialect (comma, minimal quoting, ``\\n`` line ends, UTF-8 without BOM), numbers as Python
writes them, the zip's entries in a fixed order with a fixed date. Memory stays bounded: each
table is streamed from a server-side cursor, NDJSON is built a batch of services at a time.
Nothing is written in place: the export goes into a private folder made beside OUT and is
renamed into place once complete (an existing OUT folder is replaced as a whole); a failure
leaves OUT as it was and nothing else behind. A link at OUT is refused, never followed.
"""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import tempfile
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from directory.errors import InvalidInput
from directory.hsds.columns import COLUMNS, FILES, NUMBERS, REFERENCES, TABLES
from directory.hsds.tables import read_tables, row_of, table_queries
from directory.listings.models import Service

BATCH = 1_000  # rows fetched at a time; services per NDJSON batch
ZIP_DATE = (1980, 1, 1, 0, 0, 0)  # the earliest date a zip can hold: no export time inside
PACKAGE_NAME = "directory-hsds-export"
FILE_SUFFIXES = (".zip", ".ndjson")  # any other OUT is a folder


def export_hsds(session: Session, out: Path, *, force: bool = False) -> dict[str, int]:
    """Write the export; the number of rows per table (``services`` only, for NDJSON)."""
    suffix = out.suffix.lower()
    _refuse_overwrite(out, folder=suffix not in FILE_SUFFIXES, force=force)
    if suffix == ".ndjson":
        with _staged(out) as path, path.open("xb") as handle:
            return {"services": write_ndjson(session, handle)}
    if suffix == ".zip":
        with (
            _staged(out) as path,
            path.open("xb") as handle,
            zipfile.ZipFile(handle, "w") as archive,
        ):
            return write_package(session, lambda name: _zip_entry(archive, name))
    with _staged(out) as folder:
        folder.mkdir()
        return write_package(session, lambda name: (folder / name).open("xb"))


def _refuse_overwrite(out: Path, *, folder: bool, force: bool) -> None:
    """One line saying why OUT cannot be (over)written, rather than an operating system error."""
    if out.name in ("", ".", ".."):  # "." and ".." cannot be renamed: the export needs a name
        raise InvalidInput(f"{out}: name the export's folder or file", field="out")
    if out.is_symlink():  # never write, nor delete, where a link points
        raise InvalidInput(f"{out} is a symbolic link: give the path it points to", field="out")
    if not out.exists():
        return
    if folder and not out.is_dir():
        raise InvalidInput(
            f"{out} exists and is not a folder: name a folder, or a file ending in .zip or .ndjson",
            field="out",
        )
    if not folder and not out.is_file():
        kind = "a folder" if out.is_dir() else "not a regular file"
        raise InvalidInput(f"{out} is {kind}: a {out.suffix} export is a file", field="out")
    if force or (folder and not any(out.iterdir())):
        return
    what = "a folder that is not empty" if folder else "an existing file"
    raise InvalidInput(f"{out} is {what}: give --force to replace it", field="out")


@contextmanager
def _staged(out: Path) -> Iterator[Path]:
    """Where to write ``out``'s new content: a path in a private folder made beside it (a new
    name, mode 700, so nothing planted there is followed); moved into place once the body is
    done. The private folder and whatever is left in it go, whatever happens."""
    out.parent.mkdir(parents=True, exist_ok=True)
    private = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.", suffix=".partial"))
    try:
        new = private / out.name
        yield new
        _swap(new, out, aside=private / "previous")
    finally:
        shutil.rmtree(private, ignore_errors=True)


def _swap(new: Path, out: Path, *, aside: Path) -> None:
    """Put ``new`` at ``out``: a file in one rename; a folder replaces an existing one whole
    (moved ``aside`` first, put back if the new one cannot take its place)."""
    if not new.is_dir() or out.is_symlink() or not out.is_dir():
        os.replace(new, out)  # a rename never follows a link at out, whenever it appeared
        return
    os.rename(out, aside)
    try:
        os.rename(new, out)
    except BaseException:
        os.rename(aside, out)
        raise


def _zip_entry(archive: zipfile.ZipFile, name: str) -> IO[bytes]:
    info = zipfile.ZipInfo(name, date_time=ZIP_DATE)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = 0o644 << 16
    return archive.open(info, "w")


# --- the tabular package ------------------------------------------------------------------------


def write_package(session: Session, open_file: Any) -> dict[str, int]:
    """Each table's CSV, then ``datapackage.json``, through ``open_file(name) -> binary file``."""
    counts: dict[str, int] = {}
    for name, query in table_queries().items():
        with open_file(FILES[name]) as raw, _text(raw) as handle:
            writer = csv.writer(handle, lineterminator="\n")
            writer.writerow(COLUMNS[name])
            count = 0
            for found in session.execute(query, execution_options={"yield_per": BATCH}).mappings():
                writer.writerow([_cell(v) for v in row_of(name, found).values()])
                count += 1
            counts[name] = count
    with open_file("datapackage.json") as handle:
        handle.write(_json_bytes(datapackage()))
    return counts


@contextmanager
def _text(raw: IO[bytes]) -> Iterator[IO[str]]:
    handle = io.TextIOWrapper(raw, encoding="utf-8", newline="")
    try:
        yield handle
    finally:
        handle.flush()
        handle.detach()


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def datapackage() -> dict[str, Any]:
    """The package's description: one tabular resource per table, with its fields' types."""
    return {
        "name": PACKAGE_NAME,
        "title": "Published listings in Open Referral HSDS 3.0",
        "profile": "tabular-data-package",
        "resources": [_resource(name) for name in TABLES],
    }


def _resource(name: str) -> dict[str, Any]:
    return {
        "name": name,
        "path": FILES[name],
        "profile": "tabular-data-resource",
        "format": "csv",
        "mediatype": "text/csv",
        "encoding": "utf-8",
        "schema": {
            "fields": [_field(name, column) for column in COLUMNS[name]],
            "primaryKey": "id",
            "foreignKeys": [
                {"fields": column, "reference": {"resource": REFERENCES[column], "fields": "id"}}
                for column in COLUMNS[name]
                if column in REFERENCES
            ],
        },
    }


def _field(table: str, column: str) -> dict[str, Any]:
    if column in NUMBERS.get(table, ()):
        return {"name": column, "type": "number"}
    if column == "id" or column.endswith("_id"):
        return {"name": column, "type": "string", "format": "uuid"}
    return {"name": column, "type": "string"}


def _json_bytes(value: Any) -> bytes:
    return (json.dumps(value, ensure_ascii=False, indent=2) + "\n").encode("utf-8")


# --- NDJSON -------------------------------------------------------------------------------------


def write_ndjson(session: Session, handle: IO[bytes]) -> int:
    """One full service document per line, by service id; the number of services."""
    from directory.hsds.documents import full_services

    published = (
        select(Service.id).where(Service.curation_status == "published").order_by(Service.id)
    )
    ids = list(session.scalars(published))  # 16 bytes a service: the documents are batched
    count = 0
    for start in range(0, len(ids), BATCH):
        documents = full_services(read_tables(session, ids[start : start + BATCH]))
        for document in sorted(documents, key=lambda d: str(d["id"])):
            line = json.dumps(document, ensure_ascii=False, separators=(",", ":"))
            handle.write(line.encode("utf-8") + b"\n")
        count += len(documents)
    return count
