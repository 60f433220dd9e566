"""The file formats the ingest reads, by name; ``detect`` picks one for ``auto``."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from directory.ingest.records import FormatError, Normalised, ReadItem


@dataclass(frozen=True)
class Format:
    """A format: how to recognise a file, read its records, and normalise one record."""

    name: str
    detect: Callable[[Path], bool]
    read: Callable[[Path], Iterator[ReadItem]]
    normalise: Callable[[dict[str, Any]], Normalised]


def formats() -> dict[str, Format]:
    """Every known format, by name (imported here: the format modules import this one)."""
    from directory.ingest.formats import (
        crisis_lines,
        hsds,
        ohana,
        samhsa_directory,
        samhsa_locator,
    )

    found = (samhsa_locator, samhsa_directory, hsds, ohana, crisis_lines)
    return {module.FORMAT.name: module.FORMAT for module in found}


def resolve(name: str, path: Path) -> Format:
    """The named format, or the one that recognises the file when ``name`` is ``auto``."""
    known = formats()
    if not path.exists():
        raise FormatError(f"{path}: no such file or folder")
    if name != "auto":
        if name not in known:
            raise FormatError(f"unknown format {name!r}; known: {', '.join(sorted(known))}")
        return known[name]
    for candidate in known.values():
        if candidate.detect(path):
            return candidate
    raise FormatError(f"{path}: not a format this directory reads ({', '.join(sorted(known))})")
