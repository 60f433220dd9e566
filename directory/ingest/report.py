"""The import report: counts, rejected rows with reasons, dropped values, and merges."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any

from directory.ingest.limits import REJECTIONS_KEPT
from directory.ingest.records import Ignored, Rejection

OUTCOMES = ("created", "updated", "unchanged", "merged", "deactivated")
LOADED = ("created", "updated", "unchanged", "merged")
IGNORED_SHOWN = 40  # lines of ignored tables and columns in the summary (all in --report)


def _kind(reason: str) -> str:
    """The reason without the value it quotes, for counting: "not a valid phone number in US:
    '12'" -> "not a valid phone number in US"; "duplicate of row 12" -> "duplicate of row N"."""
    return re.sub(r"(?<![\w-])\d+(?![\w-])", "N", reason.split(":")[0].strip())  # not "3166-1"


@dataclass
class ImportReport:
    """What one import did (or, with ``dry_run``, would do)."""

    format: str
    source: str
    path: str
    dry_run: bool = False
    full: bool = False
    read: int = 0
    counts: Counter[str] = field(default_factory=Counter)
    rejected: list[Rejection] = field(default_factory=list)  # the first REJECTIONS_KEPT
    rejected_count: int = 0
    by_reason: Counter[str] = field(default_factory=Counter)  # every rejection, by kind
    warnings: Counter[str] = field(default_factory=Counter)
    merges: list[dict[str, Any]] = field(default_factory=list)
    ignored: list[Ignored] = field(default_factory=list)
    tallies: Counter[str] = field(default_factory=Counter)  # "hours: parsed" -> n

    def count(self, outcome: str) -> None:
        self.counts[outcome] += 1

    def ignore(self, item: Ignored) -> None:
        self.ignored.append(item)

    def loaded(self) -> int:
        """Records that are listings after the import (new, changed, merged or already there)."""
        return sum(self.counts[outcome] for outcome in LOADED)

    def alarms(self) -> list[str]:
        """What must not pass quietly: every schedule row of a file lost, for one."""
        found = []
        rows = self.tallies["hours: rows"]
        kept = sum(self.tallies[k] for k in ("hours: structured", "hours: parsed", "hours: text"))
        if rows and not kept:
            found.append(f"WARNING: {rows} opening-hours rows read and none kept: check the hours")
        return found

    def reject(self, rejection: Rejection) -> None:
        """Count a rejected row; the first ``REJECTIONS_KEPT`` are kept whole, so that a file
        of a million bad rows does not hold a million rejections in memory."""
        self.rejected_count += 1
        self.by_reason[f"{rejection.field or 'row'}: {_kind(rejection.reason)}"] += 1
        if len(self.rejected) < REJECTIONS_KEPT:
            self.rejected.append(rejection)

    def warn(self, field_name: str, reason: str) -> None:
        self.warnings[f"{field_name}: {_kind(reason)}"] += 1

    def rejected_by_reason(self) -> Counter[str]:
        return Counter(self.by_reason)

    def to_json(self) -> dict[str, Any]:
        """The whole report as JSON-ready data (``--report FILE``)."""
        return {
            "format": self.format,
            "source": self.source,
            "path": self.path,
            "dry_run": self.dry_run,
            "full": self.full,
            "read": self.read,
            **{outcome: self.counts[outcome] for outcome in OUTCOMES},
            "rejected": self.rejected_count,
            "rejected_by_reason": dict(self.rejected_by_reason().most_common()),
            "warnings_by_reason": dict(self.warnings.most_common()),
            "rejections": [asdict(r) for r in self.rejected],
            "rejections_not_listed": self.rejected_count - len(self.rejected),
            "merges": self.merges,
            "ignored": [asdict(i) for i in self.ignored],
            "tallies": dict(sorted(self.tallies.items())),
            "alarms": self.alarms(),
        }

    def summary(self) -> list[str]:
        """The lines printed at the end of an import."""
        lines = [f"{self.path} ({self.format}, source {self.source}): read {self.read}"]
        counts = ", ".join(f"{self.counts[o]} {o}" for o in OUTCOMES)
        lines.append(f"dry run, nothing written: {counts}" if self.dry_run else counts)
        changed = ("created", "updated", "merged", "deactivated")
        if self.read and not any(self.counts[outcome] for outcome in changed):
            lines.append("nothing changed: every record is already up to date")
        lines.append(f"{self.rejected_count} rejected")
        lines += [f"  {n} x {reason}" for reason, n in self.rejected_by_reason().most_common(15)]
        if self.rejected_count > len(self.rejected):
            lines.append(f"  (--report lists the first {len(self.rejected):,} rows; all counted)")
        if self.warnings:
            lines.append(f"{sum(self.warnings.values())} values dropped or unmapped")
            lines += [f"  {n} x {reason}" for reason, n in self.warnings.most_common(15)]
        lines += self._tally_lines()
        lines += self._ignored_lines()
        return lines + self.alarms()

    def _tally_lines(self) -> list[str]:
        """ "hours: 2,410 rows, 2,380 structured, 30 text" (one line per group)."""
        groups: dict[str, list[str]] = {}
        order = sorted(
            self.tallies.items(), key=lambda kv: (not kv[0].endswith(": rows"), -kv[1], kv[0])
        )
        for key, n in order:  # "rows" first, then the biggest counts
            group, _, what = key.partition(": ")
            groups.setdefault(group, []).append(f"{n:,} {what}")
        return [f"{group}: {', '.join(parts)}" for group, parts in sorted(groups.items())]

    def _ignored_lines(self) -> list[str]:
        if not self.ignored:  # every reader names what it reads past
            return ["nothing ignored: every table, column and key of the file was read"]
        lines = [f"{len(self.ignored)} tables or columns not imported"]
        for item in self.ignored[:IGNORED_SHOWN]:
            what = item.file if item.column is None else f"{item.file} column {item.column!r}"
            rows = f"{item.rows:,} row{'s' if item.rows != 1 else ''}"
            lines.append(f"  {what}: {rows} ignored ({item.reason})")
        if len(self.ignored) > IGNORED_SHOWN:
            lines.append(f"  ... and {len(self.ignored) - IGNORED_SHOWN} more (see --report)")
        return lines
