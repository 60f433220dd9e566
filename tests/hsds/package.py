"""Reading an exported HSDS package back in tests: its CSV files as typed rows."""

from __future__ import annotations

import csv
import io
import zipfile
from pathlib import Path
from typing import Any

from directory.hsds.columns import FILES, NUMBERS


def package_files(out: Path) -> dict[str, bytes]:
    """Every file of an export (a folder or a .zip) by name."""
    if out.suffix == ".zip":
        with zipfile.ZipFile(out) as archive:
            return {name: archive.read(name) for name in archive.namelist()}
    return {path.name: path.read_bytes() for path in sorted(out.iterdir())}


def table_rows(files: dict[str, bytes], table: str) -> list[dict[str, Any]]:
    """A table's rows as HSDS values: blank cells absent (None), number columns numbers."""
    text = files[FILES[table]].decode("utf-8")
    rows = []
    for row in csv.DictReader(io.StringIO(text, newline="")):
        typed: dict[str, Any] = {}
        for key, cell in row.items():
            if cell == "":
                typed[key] = None
            elif key in NUMBERS.get(table, ()):
                typed[key] = float(cell) if "." in cell else int(cell)
            else:
                typed[key] = cell
        rows.append(typed)
    return rows
