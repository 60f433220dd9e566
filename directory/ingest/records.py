"""What a format reader produces: raw records, rejected rows, and the normalised documents."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from directory.errors import InvalidInput


class FormatError(InvalidInput):
    """The file cannot be read at all (wrong format, bad encoding, empty, not a package)."""


class RowRejected(Exception):
    """Raised by a normaliser: this record cannot become a listing."""

    def __init__(self, field: str | None, reason: str) -> None:
        super().__init__(reason)
        self.field = field
        self.reason = reason


@dataclass(frozen=True)
class SourceRecord:
    """One record as read from a file, before normalisation.

    ``raw`` must be JSON-serialisable: it is stored with the listing's provenance so that changed
    mappings can be re-applied without reading the file again (``directory ingest remap``).
    """

    external_id: str
    file: str
    row: int  # where a person finds it: CSV line number (header = 1), sheet row, JSON index + 1
    raw: dict[str, Any]


@dataclass(frozen=True)
class Rejection:
    """A row that could not be loaded, and why."""

    file: str
    row: int
    field: str | None
    reason: str
    external_id: str | None = None


@dataclass(frozen=True)
class Ignored:
    """A table, or a column of a table, that the reader read past: the report names it.

    ``column`` None means the whole table; ``rows`` counts the rows (for a column: the rows
    where it holds a value) that nothing of ours took in.
    """

    file: str
    column: str | None
    rows: int
    reason: str = "not imported"


ReadItem = SourceRecord | Rejection | Ignored  # what a format's reader yields


@dataclass
class Normalised:
    """A listing document in the shape of ``ServiceCreate`` (without provenance), and the values
    that were dropped on the way (a phone number that does not parse, an unknown code...)."""

    doc: dict[str, Any]
    warnings: list[tuple[str, str]] = field(default_factory=list)  # (field, reason)
    tallies: dict[str, int] = field(default_factory=dict)  # what happened, counted in the report

    def warn(self, field: str, reason: str) -> None:
        self.warnings.append((field, reason))

    def tally(self, what: str, n: int = 1) -> None:
        """Count something the report sums over the import ("hours: parsed", "needs: inferred")."""
        self.tallies[what] = self.tallies.get(what, 0) + n
