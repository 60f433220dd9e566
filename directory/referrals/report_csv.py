"""An outcome report as CSV, one line per group, and CSV cells a spreadsheet will not run."""

from __future__ import annotations

import csv
import io

from directory.referrals.report_schemas import SHOWN_STATUSES, TOP_REASONS, ReferralReport

CSV_FIGURES = (
    "closed_loop_rate",
    "connection_rate",
    "median_days_to_acceptance",
    "median_days_to_first_contact",
    "median_days_to_connection",
    "connected_within_7_days",
    "connected_within_30_days",
    "follow_ups",
    "follow_ups_on_time",
)
CSV_REASONS = tuple(
    name for n in range(1, TOP_REASONS + 1) for name in (f"reason_{n}", f"reason_{n}_count")
)
CSV_COLUMNS = (
    "group_by",
    "key",
    "label",
    "referrals",
    "entered_in_error",
    *SHOWN_STATUSES,
    *CSV_FIGURES,
    *CSV_REASONS,
)


def to_csv(report: ReferralReport) -> str:
    """The report's groups as CSV: one line per group, statuses and reasons as columns; a
    withheld cell is empty."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for group in report.groups:
        reasons = [v for r in group.not_connected_reasons for v in (r.outcome, r.count)]
        cells = (
            report.group_by,
            group.key,
            spreadsheet_cell(group.label),
            group.referrals,
            group.entered_in_error,
            *(group.by_status[s] for s in SHOWN_STATUSES),
            *(getattr(group, name) for name in CSV_FIGURES),
            *reasons,
            *[None] * (len(CSV_REASONS) - len(reasons)),
        )
        writer.writerow(["" if value is None else value for value in cells])
    return out.getvalue()


def spreadsheet_cell(text: str | None) -> str | None:
    """A CSV cell a spreadsheet will not run as a formula (listing names, emails and anything
    else that comes from outside)."""
    if text and text[0] in "=+-@\t\r":
        return "'" + text
    return text
