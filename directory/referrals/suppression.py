"""Small-number rules: how a group's exact figures become what a report may show.

The promise (``reports`` gives the definitions): no count of 1 to 4 of a program's referrals
is shown, nor can it be worked out from what is shown by a reader who knows these rules. A
count of 1 to 4 is shown as ``"<5"``; a rate only when its numerator, its denominator and their
difference are each 0 or at least 5; a median only over 5 referrals or more. Counts that add
up to a shown total are protected with it (complementary suppression, ``protect``), and rates
built on a withheld count are withheld too. The lists are in an order their cells decide.

Not covered: comparing two reports; and a reader who re-runs these rules on guessed tables to
see which cells they would have withheld (with 1, 5 and 100 under a total of 106, that the 5
is shown and the 100 withheld says the "<5" is 1: withholding the 5 would have sufficed
otherwise). The reader ``tests/referrals/test_suppression_properties.py`` checks against is
the one above.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Iterable, Mapping
from decimal import Decimal

from directory.referrals.report_schemas import (
    COUNTED_TERMINAL,
    ERROR,
    REASON_ORDER,
    SHOWN_STATUSES,
    TOP_REASONS,
    Count,
    FailingService,
    GroupFigures,
    ReasonCount,
    ReportGroup,
    ServiceToCheck,
)

SMALL = 5


def shown(count: int) -> Count:
    """A count as a report shows it: 1 to 4 become ``"<5"``."""
    return "<5" if 0 < count < SMALL else count


def rate(part: int, whole: int) -> float | None:
    """``part / whole`` with three decimals, or None when it would give away a count of 1 to 4
    (its own, its complement's or its whole's)."""
    small = any(0 < n < SMALL for n in (part, whole - part, whole))
    return round(part / whole, 3) if whole and not small else None


def protect(counts: dict[str, int], total: int) -> tuple[dict[str, Count | None], bool]:
    """The counts of a breakdown whose total the reader knows (shown as it is, or as ``"<5"``):
    1 to 4 become ``"<5"``, and where the total would then let one of them be worked out by
    subtraction (one small count alone, or small counts whose sum leaves one possibility),
    other counts are withheld as well (None), the fewest and smallest that suffice:
    complementary suppression. Also whether that sufficed: when not, the caller withholds the
    total (or, under a total of 1 to 4, every cell)."""
    small = {key for key, n in counts.items() if 0 < n < SMALL}
    hidden = set(small)
    others = sorted((n, key) for key, n in counts.items() if n >= SMALL)
    while others and _exposed(counts, hidden, small, total):
        enough = [k for _, k in others if not _exposed(counts, hidden | {k}, small, total)]
        chosen = enough[0] if enough else others[0][1]
        hidden.add(chosen)
        others = [(n, k) for n, k in others if k != chosen]
    safe = not _exposed(counts, hidden, small, total)
    return {key: None if key in hidden - small else shown(n) for key, n in counts.items()}, safe


def _exposed(
    counts: dict[str, int],
    hidden: set[str],
    small: set[str],
    total: int,
    floors: Mapping[str, int] | None = None,
) -> bool:
    """Whether a reader who knows the rules (a ``"<5"`` is 1 to 4, a withheld count 5 or
    more, a total shown as ``"<5"`` 1 to 4) can tell one hidden count exactly; ``floors``: what
    the reader knows besides, that a ``"<5"`` is at least so much."""
    rest = sum(n for key, n in counts.items() if key not in hidden)
    if total == 0 or total >= SMALL:
        least = most = total - rest
    else:
        least, most = 1 - rest, SMALL - 1 - rest
    floors = floors or {}
    bounds = {
        key: (float(floors.get(key, 1)), SMALL - 1.0) if key in small else (SMALL, math.inf)
        for key in hidden
    }
    for key in hidden:
        low = sum(bounds[k][0] for k in hidden if k != key)
        high = sum(bounds[k][1] for k in hidden if k != key)
        if max(bounds[key][0], least - high) == min(bounds[key][1], most - low):
            return True
    return False


def shown_group(figures: GroupFigures) -> ReportGroup:
    """One row of the report: the group's figures with the small-number rules applied."""
    total, terminal, completed = figures.total, figures.terminal, figures.statuses["completed"]
    by_status, closed_loop, safe = _statuses(figures.statuses, total, rate(terminal, total))
    exact = isinstance(by_status["completed"], int)  # else a rate would give it away
    reasons = _reason_cells(figures.reasons, figures.statuses["failed"], by_status["failed"])
    if by_status["failed"] == "<5" and reasons:
        reasons = _unless_they_narrow(reasons, figures.statuses, by_status, closed_loop, safe)
    return ReportGroup(
        key=figures.key,
        label=figures.label,
        referrals=shown(total) if safe else None,
        entered_in_error=shown(figures.statuses[ERROR]),
        by_status=by_status,
        closed_loop_rate=closed_loop,
        connection_rate=rate(completed, terminal) if closed_loop and exact else None,
        median_days_to_acceptance=_median(figures.to_acceptance, over=total),
        median_days_to_first_contact=_median(figures.to_first_contact, over=total),
        median_days_to_connection=_median(figures.to_connection, over=completed),
        connected_within_7_days=rate(figures.within_7, total) if exact else None,
        connected_within_30_days=rate(figures.within_30, total) if exact else None,
        follow_ups=shown(figures.follow_ups),
        follow_ups_on_time=rate(figures.follow_ups_on_time, figures.follow_ups),
        not_connected_reasons=reasons,
    )


def _median(value: Decimal | None, *, over: int) -> float | None:
    """A median, shown only over 5 referrals or more."""
    return float(value) if over >= SMALL and value is not None else None


def _statuses(
    statuses: dict[str, int], total: int, closed_loop: float | None
) -> tuple[dict[str, Count | None], float | None, bool]:
    """The status counts as shown, the closed-loop rate (None when it would undo them) and
    whether the total may be shown. A shown closed-loop rate tells the reader how many ended
    and how many are open, so each part is protected with its own sum."""
    counts = {s: statuses[s] for s in SHOWN_STATUSES}
    if closed_loop is not None:
        terminal = sum(counts[s] for s in COUNTED_TERMINAL)
        ended, ended_safe = protect({s: counts[s] for s in COUNTED_TERMINAL}, terminal)
        opened = {s: n for s, n in counts.items() if s not in COUNTED_TERMINAL}
        still, still_safe = protect(opened, total - terminal)
        if ended_safe and still_safe:
            return {s: {**ended, **still}[s] for s in SHOWN_STATUSES}, closed_loop, True
    cells, safe = protect(counts, total)
    if not safe and 0 < total < SMALL:  # e.g. four statuses under a total of 1-4: 1 each
        return dict.fromkeys(SHOWN_STATUSES), None, True
    return cells, None, safe


def _reason_cells(reasons: dict[str, int], failed: int, cell: Count | None) -> list[ReasonCount]:
    """The top reasons for not connecting; they add up to the failed count, so they are
    protected with it, and withheld when it is. Listed most first as far as the cells tell
    (see ``_rank``): listed by their exact counts, two ``"<5"`` in the order 3, 1 would give
    both away when the failed count is 4."""
    if cell is None:
        counts: dict[str, Count | None] = dict.fromkeys(reasons)
    else:
        counts, safe = protect(reasons, failed)
        if not safe and failed < SMALL:
            return []  # four reasons under a failed count of 1-4: one each
        if not safe:
            counts = dict.fromkeys(reasons)
    listed = sorted(counts, key=lambda outcome: _rank(counts[outcome], outcome))
    return [ReasonCount(outcome=o, count=counts[o]) for o in listed[:TOP_REASONS]]


def _rank(cell: Count | None, outcome: str) -> tuple[int, int, int, str]:
    """A reason's place in the list, from what its cell shows alone: exact counts (most
    first), then withheld ones (5 or more), then ``"<5"``; ties in ``REASON_ORDER``."""
    known = REASON_ORDER.index(outcome) if outcome in REASON_ORDER else len(REASON_ORDER)
    if isinstance(cell, int):
        return (0, -cell, known, outcome)
    return (1 if cell is None else 2, 0, known, outcome)


def _unless_they_narrow(
    reasons: list[ReasonCount],
    statuses: dict[str, int],
    by_status: dict[str, Count | None],
    closed_loop: float | None,
    total_shown: bool,
) -> list[ReasonCount]:
    """The reasons under a failed count shown as ``"<5"``, or none when listing them would
    give a status away. Each listed reason is one failed referral at least, so k reasons tell
    the reader "k or more failed": with 1 rejected and 3 failed as two "<5" beside 38
    cancelled in 42 ended, three reasons would tell 3 failed and so 1 rejected."""
    keys = COUNTED_TERMINAL if closed_loop is not None else set(SHOWN_STATUSES)
    if closed_loop is None and not total_shown:
        return reasons  # no shown sum to subtract from
    counts = {s: statuses[s] for s in keys}
    hidden = {s for s in keys if not isinstance(by_status[s], int)}
    small = {s for s in keys if by_status[s] == "<5"}
    narrowed = _exposed(counts, hidden, small, sum(counts.values()), {"failed": len(reasons)})
    return [] if narrowed else reasons


def shown_services(rows: Iterable[FailingService]) -> list[ServiceToCheck]:
    """The services to check as the report shows them, most first by what their cells show
    (the sum of the exact counts, then how many are "<5"), then by name: in the order of
    their hidden counts, three services of one "<5" each would be 4, 3 and 2."""
    services = [
        ServiceToCheck(
            service_id=row.service_id,
            name=row.name,
            no_capacity=shown(row.no_capacity),
            could_not_contact=shown(row.could_not_contact),
        )
        for row in rows
    ]

    def rank(service: ServiceToCheck) -> tuple[int, int, str, uuid.UUID]:
        cells = (service.no_capacity, service.could_not_contact)
        exact = sum(n for n in cells if isinstance(n, int))
        return (-exact, -cells.count("<5"), service.name, service.service_id)

    return sorted(services, key=rank)
