"""CSV rows for the tabular HSDS reader: headers, trimmed rows with their line numbers, packed rows.

Files are read as UTF-8 (with or without a BOM), and a file that is not fails before its first
record. A row can be packed into one string (its line number and cells joined by the unit
separator, which is why that character is replaced in every cell read), the form in which the
tabular reader keeps the rows it has indexed, in an ``Index`` by the id each row belongs to. The
packed rows themselves wait in a temporary file (``Spill``): a package of 100,000 services holds
about a million child rows, and their text held in memory was most of an import's peak.
"""

from __future__ import annotations

import codecs
import csv
import mmap
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

from directory.ingest.records import FormatError

csv.field_size_limit(2**24)
SEP = "\x1f"  # ASCII unit separator: joins the cells of an indexed row
LENGTH_BITS = 32  # a spilled row's handle: its offset, then its length in these low bits
LENGTH_MASK = (1 << LENGTH_BITS) - 1
# Pages of the map read since this many rows go back to the page cache: else every page read
# would count in the process's memory until the end (the file is most of a package's size).
RELEASE_EVERY = 4_096
RELEASE = getattr(mmap, "MADV_DONTNEED", None)


def header_of(path: Path) -> tuple[str, ...]:
    """The column names: trimmed, lower-case, BOM-free."""
    with path.open(encoding="utf-8-sig", newline="") as handle:
        try:
            first = next(csv.reader(handle))
        except StopIteration:
            raise FormatError(f"{path.name}: empty file") from None
        except (UnicodeDecodeError, csv.Error) as error:
            raise FormatError(f"{path.name}: unreadable header ({error})") from None
    return tuple(h.strip().strip("\ufeff").strip().lower() for h in first)


def rows_of(path: Path, width: int) -> Iterator[tuple[int, tuple[str, ...]]]:
    """The non-blank rows after the header, trimmed, with the line each starts on."""
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.reader(handle)
        next(reader, None)
        while True:
            line = reader.line_num + 1
            try:
                values = next(reader)
            except StopIteration:
                return
            except UnicodeDecodeError as error:
                raise FormatError(f"{path.name}: not UTF-8 near line {line} ({error})") from None
            except csv.Error as error:
                raise FormatError(f"{path.name}: broken CSV at line {line} ({error})") from None
            if any(v.strip() for v in values):
                yield line, tuple(v.strip().replace(SEP, " ") for v in values[:width])


def check_utf8(path: Path) -> None:
    """Fail before the first record when a file is not UTF-8 text."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    line = 1
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError as error:
                at = line + chunk[: error.start].count(b"\n")
                raise FormatError(
                    f"{path.name}: not UTF-8 text (byte 0x{chunk[error.start]:02x} on line {at});"
                    " save it as UTF-8 and import it again"
                ) from None
            line += chunk.count(b"\n")
    try:
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        raise FormatError(
            f"{path.name}: not UTF-8 text (cut in the middle of a character)"
        ) from None


def as_dict(header: tuple[str, ...], values: tuple[str, ...] | list[str]) -> dict[str, str]:
    """A row as a dict of its non-blank cells (missing trailing cells are blank)."""
    return {h: v for h, v in zip(header, values, strict=False) if v and h}


def pack(line: int, values: tuple[str, ...]) -> str:
    """A row as one string: its line number and its cells."""
    return SEP.join((str(line), *values))


def unpack(row: str) -> tuple[int, list[str]]:
    """The line number and cells of a packed row."""
    line, *values = row.split(SEP)
    return int(line), values


def cell(header: tuple[str, ...], values: tuple[str, ...] | list[str], name: str) -> str:
    """One cell by column name ("" when the column or the cell is missing)."""
    position = header.index(name) if name in header else len(values)
    return values[position] if position < len(values) else ""


class Spill:
    """Packed rows written to a temporary file and read back by their place in it: a package's
    indexed rows (most of its size) wait on disk, not in the process's memory. A row is known by
    one int, its offset and length. Closed (and the file gone) at the end of the ``with``."""

    def __init__(self) -> None:
        self._file = tempfile.TemporaryFile(prefix="directory-ingest-")  # noqa: SIM115 (see close)
        self._size = 0
        self._map: mmap.mmap | None = None  # the file as written so far, for reading it back
        self._reads = 0

    def put(self, row: str) -> int:
        """Write a row; the handle to read it back with."""
        data = row.encode()
        if len(data) > LENGTH_MASK:
            raise FormatError(f"a row of {len(data):,} bytes: too long to import")
        self._file.write(data)
        handle = self._size << LENGTH_BITS | len(data)
        self._size += len(data)
        return handle

    def get(self, handle: int) -> str:
        """The row written under this handle."""
        length, offset = handle & LENGTH_MASK, handle >> LENGTH_BITS
        found = self._map
        if found is None or offset + length > len(found):
            found = self._remap()
        self._reads += 1
        if self._reads % RELEASE_EVERY == 0 and RELEASE is not None:
            found.madvise(RELEASE)
        return found[offset : offset + length].decode()

    def _remap(self) -> mmap.mmap:
        """Map the file as written so far (rows are read from the map: a read of its own for
        each of a million rows cost the loader 5 s at 100,000 services)."""
        self._file.flush()
        if self._map is not None:
            self._map.close()
        self._map = mmap.mmap(self._file.fileno(), 0, access=mmap.ACCESS_READ)
        return self._map

    def close(self) -> None:
        if self._map is not None:
            self._map.close()
        self._file.close()

    def __enter__(self) -> Spill:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


class Index:
    """Packed rows by the id they belong to, kept in a ``Spill``. Ids are interned (the same
    location id keys several tables), and a lone row's handle is kept bare: a one-item list would
    cost more than the handle."""

    __slots__ = ("_rows", "_spill")

    def __init__(self, spill: Spill) -> None:
        self._rows: dict[str, int | list[int]] = {}
        self._spill = spill

    def add(self, key: str, row: str) -> None:
        """Add a row under this id."""
        handle = self._spill.put(row)
        found = self._rows.get(key)
        if found is None:
            self._rows[sys.intern(key)] = handle
        elif isinstance(found, int):
            self._rows[key] = [found, handle]
        else:
            found.append(handle)

    def add_each(self, keys: str, row: str) -> None:
        """Add a row under each id of a comma-separated list (real exports link one row, such
        as a site, to several services that way)."""
        for key in keys.split(","):
            if key.strip():
                self.add(key.strip(), row)

    def get(self, key: str) -> list[str]:
        """The rows under this id."""
        return self._read(self._rows.get(key))

    def pop(self, key: str) -> list[str]:
        """The rows under this id, taken out of the index."""
        return self._read(self._rows.pop(key, None))

    def _read(self, found: int | list[int] | None) -> list[str]:
        if found is None:
            return []
        handles = [found] if isinstance(found, int) else found
        return [self._spill.get(handle) for handle in handles]

    def __contains__(self, key: object) -> bool:
        return key in self._rows

    def items(self) -> Iterator[tuple[str, list[str]]]:
        """Every id with its rows."""
        return ((key, self.get(key)) for key in self._rows)
