"""CSV rows for the tabular HSDS reader: headers, trimmed rows with their line numbers, packed rows.

Files are read as UTF-8 (with or without a BOM), and a file that is not fails before its first
record. A row can be packed into one string (its line number and cells joined by the unit
separator, which is why that character is replaced in every cell read), the form in which the
tabular reader keeps the rows it has indexed, in an ``Index`` by the id each row belongs to.
"""

from __future__ import annotations

import codecs
import csv
import sys
from collections.abc import Iterator
from pathlib import Path

from directory.ingest.records import FormatError

csv.field_size_limit(2**24)
SEP = "\x1f"  # ASCII unit separator: joins the cells of an indexed row


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


class Index:
    """Packed rows by the id they belong to. Ids are interned (the same location id keys several
    tables), and a lone row is kept bare: a one-item list would cost more than most rows."""

    __slots__ = ("_rows",)

    def __init__(self) -> None:
        self._rows: dict[str, str | list[str]] = {}

    def add(self, key: str, row: str) -> None:
        """Add a row under this id."""
        found = self._rows.get(key)
        if found is None:
            self._rows[sys.intern(key)] = row
        elif isinstance(found, str):
            self._rows[key] = [found, row]
        else:
            found.append(row)

    def add_each(self, keys: str, row: str) -> None:
        """Add a row under each id of a comma-separated list (real exports link one row, such
        as a site, to several services that way)."""
        for key in keys.split(","):
            if key.strip():
                self.add(key.strip(), row)

    def get(self, key: str) -> list[str]:
        """The rows under this id."""
        found = self._rows.get(key, [])
        return [found] if isinstance(found, str) else found

    def pop(self, key: str) -> list[str]:
        """The rows under this id, taken out of the index."""
        found = self._rows.pop(key, [])
        return [found] if isinstance(found, str) else found

    def __contains__(self, key: object) -> bool:
        return key in self._rows

    def items(self) -> Iterator[tuple[str, list[str]]]:
        """Every id with its rows."""
        return ((key, self.get(key)) for key in self._rows)
