"""The small-number rules of the outcome reports, as properties over generated groups.

The promise (``directory.referrals.reports``): a count of 1 to 4 is never shown; a rate or a
median never rests on one; and no count of 1 to 4 can be worked out from what a report shows
by a reader who knows the rules: a ``"<5"`` is 1 to 4, a withheld count 5 or more, the
statuses add up to the referrals and the reasons to the failed ones, a rate is its numerator
over its denominator; nor from the order of a list. The reader is written out here, apart
from ``suppression``: it looks for another group that fits everything shown but differs in
the small count, among groups up to three counts away (so it may miss a far one and fail
needlessly, never pass wrongly). Comparing two reports is outside the promise.
"""

from __future__ import annotations

import dataclasses
import itertools
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

from hypothesis import example, given, settings
from hypothesis import strategies as st

from directory.referrals.lifecycle import NOT_CONNECTED, STATUSES
from directory.referrals.report_schemas import (
    COUNTED_TERMINAL,
    ERROR,
    SHOWN_STATUSES,
    TOP_REASONS,
    Count,
    FailingService,
    GroupFigures,
    ReportGroup,
)
from directory.referrals.suppression import protect, shown_group, shown_services

# About 10 s for the file; the reader's search is most of it.
PROPERTY = settings(derandomize=True, deadline=None, max_examples=300, database=None)
OTHER_STATUSES = tuple(s for s in SHOWN_STATUSES if s != "failed")  # failed: its reasons' sum

# Counts as small programs have them: many zeros and counts of 1 to 4, some of 5 or more; and
# as tiny groups have them, where one count of 5 beside a 1 is all there is.
counts = st.sampled_from((0, 0, 0, 0, 0, 0, 1, 2, 3, 4, 1, 2, 3, 5, 6, 7, 8, 9, 15, 30))
tiny_counts = st.sampled_from((0, 0, 0, 0, 0, 1, 1, 2, 5, 6))
medians = st.one_of(st.none(), st.decimals(0, 60, places=1))


def small(n: int) -> bool:
    return 0 < n < 5


def as_the_sql_lists(reasons: dict[str, int]) -> dict[str, int]:
    """The failed referrals' outcomes as the SQL gives them: most first, ties by code."""
    kept = sorted((-n, code) for code, n in reasons.items() if n > 0)
    return {code: -n for n, code in kept}


def figures_of(statuses: dict[str, int], reasons: dict[str, int]) -> GroupFigures:
    """A group with these statuses (0 for the others) and reasons (their sum failed)."""
    every = {s: statuses.get(s, 0) for s in STATUSES} | {"failed": sum(reasons.values())}
    return GroupFigures(
        key=None,
        label=None,
        statuses=every,
        to_acceptance=None,
        to_first_contact=None,
        to_connection=None,
        within_7=0,
        within_30=0,
        reasons=as_the_sql_lists(reasons),
    )


@st.composite
def groups(draw: st.DrawFn) -> GroupFigures:
    """A group's exact figures: statuses, the failed ones' reasons, completed ones within 7
    and 30 days, follow-ups and medians."""
    count = draw(st.sampled_from((counts, tiny_counts)))
    reasons = as_the_sql_lists({code: draw(count) for code in NOT_CONNECTED})
    statuses = {s: draw(count) for s in STATUSES if s != "failed"}
    statuses["failed"] = sum(reasons.values())
    within_30 = draw(st.integers(0, statuses["completed"]))
    follow_ups = draw(counts)
    return GroupFigures(
        key=None,
        label=None,
        statuses=statuses,
        to_acceptance=draw(medians),
        to_first_contact=draw(medians),
        to_connection=draw(medians),
        within_7=draw(st.integers(0, within_30)),
        within_30=within_30,
        follow_ups=follow_ups,
        follow_ups_on_time=draw(st.integers(0, follow_ups)),
        reasons=reasons,
    )


def shows(cell: Count | None, n: int) -> bool:
    """Whether a cell shows ``n`` by the rules: itself, "<5" for 1 to 4, or withheld."""
    return cell is None or cell == ("<5" if small(n) else n)


@PROPERTY
@given(groups())
def test_a_count_of_1_to_4_is_never_shown(figures: GroupFigures) -> None:
    group = shown_group(figures)
    assert shows(group.referrals, figures.total)
    assert all(shows(group.by_status[s], figures.statuses[s]) for s in SHOWN_STATUSES)
    assert all(shows(r.count, figures.reasons[r.outcome]) for r in group.not_connected_reasons)
    alone = (
        (group.entered_in_error, figures.statuses[ERROR]),
        (group.follow_ups, figures.follow_ups),
    )
    assert all(cell is not None and shows(cell, n) for cell, n in alone)


@PROPERTY
@given(groups())
def test_a_rate_or_a_median_rests_on_no_small_count(figures: GroupFigures) -> None:
    group = shown_group(figures)
    total, terminal = figures.total, figures.terminal
    completed = figures.statuses["completed"]
    rates = {
        "closed_loop_rate": (terminal, total),
        "connection_rate": (completed, terminal),
        "connected_within_7_days": (figures.within_7, total),
        "connected_within_30_days": (figures.within_30, total),
        "follow_ups_on_time": (figures.follow_ups_on_time, figures.follow_ups),
    }
    for name, (part, whole) in rates.items():
        rate = getattr(group, name)
        if rate is not None:
            assert not any(small(n) for n in (part, whole - part, whole)), name
            assert rate == round(part / whole, 3), name
    # ... nor on a withheld count: one over the referrals needs them shown, one of the
    # completed ones needs that count shown.
    if group.closed_loop_rate is not None:
        assert group.referrals == total
    of_completed = (
        group.connection_rate,
        group.connected_within_7_days,
        group.connected_within_30_days,
    )
    if any(rate is not None for rate in of_completed):
        assert group.by_status["completed"] == completed
    medians_over = {
        "median_days_to_acceptance": total,
        "median_days_to_first_contact": total,
        "median_days_to_connection": completed,
    }
    for name, over in medians_over.items():
        assert getattr(group, name) is None or over >= 5, name


@PROPERTY
@given(st.dictionaries(st.sampled_from("abcdefg"), counts.filter(lambda n: not small(n))))
def test_nothing_is_withheld_without_a_small_count(cells: dict[str, int]) -> None:
    assert protect(cells, sum(cells.values())) == (cells, True)


# The reader: a world is what a reader may suppose is behind a report.


@dataclass(frozen=True)
class World:
    """The statuses but failed, and every reason of the failed ones (0 included)."""

    others: dict[str, int]
    reasons: dict[str, int]

    def status(self, name: str) -> int:
        return sum(self.reasons.values()) if name == "failed" else self.others[name]

    @property
    def total(self) -> int:
        return sum(self.status(s) for s in SHOWN_STATUSES)


def world_of(figures: GroupFigures) -> World:
    others = {s: figures.statuses[s] for s in OTHER_STATUSES}
    return World(others, {o: figures.reasons.get(o, 0) for o in NOT_CONNECTED})


def fits(cell: Count | None, n: int, *, withheld_from: int) -> bool:
    """Whether ``n`` could be behind a shown cell."""
    if cell is None:
        return n >= withheld_from
    return 1 <= n <= 4 if cell == "<5" else n == cell


def rate_fits(rate: float, part: int, whole: int) -> bool:
    """Whether ``rate`` could be ``part / whole`` as a report shows one."""
    if not 0 <= part <= whole or whole == 0:
        return False
    return not any(small(n) for n in (part, whole - part, whole)) and round(part / whole, 3) == rate


def could_be(group: ReportGroup, world: World) -> bool:
    """Whether a reader who sees ``group`` cannot rule ``world`` out."""
    if min(*world.others.values(), *world.reasons.values()) < 0:
        return False
    total, completed = world.total, world.status("completed")
    terminal = sum(world.status(s) for s in COUNTED_TERMINAL)
    everything = all(cell is None for cell in group.by_status.values())  # under a total "<5"
    cells_fit = fits(group.referrals, total, withheld_from=5) and all(
        fits(group.by_status[s], world.status(s), withheld_from=0 if everything else 5)
        for s in SHOWN_STATUSES
    )
    if not cells_fit:
        return False
    rates = (
        (group.closed_loop_rate, terminal, total),
        (group.connection_rate, completed, terminal),
    )
    if any(rate is not None and not rate_fits(rate, part, whole) for rate, part, whole in rates):
        return False
    for within in (group.connected_within_7_days, group.connected_within_30_days):
        if within is not None and not any(
            rate_fits(within, n, total) for n in range(completed + 1)
        ):
            return False
    over_total = (group.median_days_to_acceptance, group.median_days_to_first_contact)
    if total < 5 and any(median is not None for median in over_total):
        return False
    if completed < 5 and group.median_days_to_connection is not None:
        return False
    return _reasons_could_be(group, world)


def _reasons_could_be(group: ReportGroup, world: World) -> bool:
    """The listed reasons each fit their cells; fewer than the top 5 listed: there are no others."""
    listed = {r.outcome: r.count for r in group.not_connected_reasons}
    if not listed:  # none, or all withheld under a failed count of 1-4
        return True
    everything = all(cell is None for cell in listed.values())  # the failed count withheld
    if not all(
        world.reasons[o] >= 1 and fits(cell, world.reasons[o], withheld_from=1 if everything else 5)
        for o, cell in listed.items()
    ):
        return False
    unlisted = (o for o in NOT_CONNECTED if o not in listed)
    return len(listed) == TOP_REASONS or all(world.reasons[o] == 0 for o in unlisted)


Place = tuple[str, str]  # ("status", name), ("reason", code) or ("total", "")


def value(world: World, place: Place) -> int:
    kind, name = place
    if kind == "total":
        return world.total
    return world.status(name) if kind == "status" else world.reasons[name]


def neighbours(world: World) -> Iterator[World]:
    """Worlds one, two or three counts away (each by up to 3), nearest first."""
    places = [("others", s) for s in OTHER_STATUSES] + [("reasons", o) for o in NOT_CONNECTED]
    for size in (1, 2, 3):
        for chosen in itertools.combinations(places, size):
            for steps in itertools.product((-1, 1, -2, 2, -3, 3), repeat=size):
                moved = {"others": dict(world.others), "reasons": dict(world.reasons)}
                for (part, name), step in zip(chosen, steps, strict=True):
                    moved[part][name] += step
                yield World(**moved)


def worked_out(group: ReportGroup, world: World) -> list[tuple[Place, int]]:
    """The counts of 1 to 4 behind ``group`` that every world the reader allows agrees on
    (as far as worlds three counts away go)."""
    places: list[Place] = [("status", s) for s in SHOWN_STATUSES] + [("total", "")]
    places += [("reason", o) for o in NOT_CONNECTED]
    left = {place for place in places if small(value(world, place))}
    for other in neighbours(world):
        if not left:
            break
        changed = {place for place in left if value(other, place) != value(world, place)}
        if changed and could_be(group, other):
            left -= changed
    return sorted((place, value(world, place)) for place in left)


@PROPERTY
@given(groups())
# Four statuses of 1 under a total of 4 (each would be 1), and 1 failed beside 5 completed.
@example(figures_of({"requested": 1, "accepted": 1, "completed": 1}, {"no-show": 1}))
@example(figures_of({"completed": 5}, {"no-show": 1}))
# Found by this property: three reasons beside 1 rejected told 3 failed (fixed).
@example(
    figures_of(
        {"accepted": 38, "rejected": 1, "cancelled": 38, "in-progress": 26},
        {"no-show": 1, "not-eligible": 1, "other": 1},
    )
)
# ... and two reasons beside 5 rejected (withheld) told 2 failed.
@example(
    figures_of(
        {"rejected": 5, "cancelled": 9, "in-progress": 9, "on-hold": 6, "completed": 16},
        {"no-capacity": 1, "other": 1},
    )
)
def test_no_count_of_1_to_4_can_be_worked_out(figures: GroupFigures) -> None:
    group, world = shown_group(figures), world_of(figures)
    assert could_be(group, world)  # the reader's rules hold for the truth
    assert worked_out(group, world) == [], (figures, group)


@PROPERTY
@given(groups())
# Found by this property: "<5" reasons in the order of their counts (fixed).
@example(figures_of({"completed": 9}, {"other": 3, "no-show": 1}))
def test_the_order_of_the_reasons_gives_no_count_away(figures: GroupFigures) -> None:
    # Two reasons shown alike ("<5" both, or withheld both) trade their counts: the failed
    # count and every sum stay the same, and so must the report, order included.
    group = shown_group(figures)
    listed = {r.outcome: r.count for r in group.not_connected_reasons}
    for a, b in itertools.combinations(listed, 2):
        if listed[a] != listed[b] or isinstance(listed[a], int):
            continue
        reasons = figures.reasons | {a: figures.reasons[b], b: figures.reasons[a]}
        traded = shown_group(dataclasses.replace(figures, reasons=as_the_sql_lists(reasons)))
        # (Withheld ones may be chosen otherwise: then the cells differ, and the order may.)
        if {r.outcome: r.count for r in traded.not_connected_reasons} == listed:
            assert traded.not_connected_reasons == group.not_connected_reasons, (figures, a, b)


def most_first(rows: list[FailingService]) -> list[FailingService]:
    """The order that tells most: by the exact counts."""
    return sorted(rows, key=lambda r: (-(r.no_capacity + r.could_not_contact), r.name))


@st.composite
def failing_services(draw: st.DrawFn) -> list[FailingService]:
    """Services with 2 or more recent failures (as the SQL keeps), most first."""
    pairs = st.tuples(counts, counts).filter(lambda pair: sum(pair) >= 2)
    found = draw(st.lists(pairs, min_size=2, max_size=6))
    return most_first(
        [FailingService(uuid.UUID(int=n), f"Service {n}", *pair) for n, pair in enumerate(found)]
    )


@PROPERTY
@given(failing_services())
# Found by this property: "<5" services in the order of their counts (fixed).
@example(most_first([FailingService(uuid.UUID(int=n), f"Service {n}", n + 2, 0) for n in range(3)]))
def test_the_order_of_the_services_to_check_gives_no_count_away(
    rows: list[FailingService],
) -> None:
    listed = shown_services(rows)
    exact = {r.service_id: r for r in rows}
    assert sorted(s.service_id for s in listed) == sorted(exact)
    for s in listed:
        assert shows(s.no_capacity, exact[s.service_id].no_capacity)
        assert shows(s.could_not_contact, exact[s.service_id].could_not_contact)
        assert None not in (s.no_capacity, s.could_not_contact)
    # Two counts shown as "<5" trade places: the report must not change.
    cells = [(i, f) for i, row in enumerate(rows) for f in (2, 3) if small(row[f])]
    for (i, f), (j, g) in itertools.combinations(cells, 2):
        traded = [list(row) for row in rows]
        traded[i][f], traded[j][g] = rows[j][g], rows[i][f]
        others = [FailingService(*row) for row in traded]
        if all(r.no_capacity + r.could_not_contact >= 2 for r in others):
            assert shown_services(most_first(others)) == listed, (rows, i, f, j, g)
