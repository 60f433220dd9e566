"""Bar charts drawn on the server: scaling, zero, and hidden (small or withheld) cells that are
drawn the same whatever lies behind them, and never give a number away."""

from __future__ import annotations

import random
import re

import pytest

from directory.web.charts import Bar, Chart, Value, Words, bar_chart, cell_text, number_formats
from directory.web.templating import environment

WORDS = Words(
    small="fewer than 5",
    withheld="not shown",
    summary="%(title)s: %(count)s bars; the longest is %(label)s (%(value)s).",
    hidden="Hatched: %(labels)s.",
    empty="%(title)s: nothing.",
)


def draw(chart: Chart) -> str:
    """The chart as the pages draw it (the template's macro)."""
    source = '{% from "console/_chart.html" import bar_chart %}{{ bar_chart(chart) }}'
    return environment("en").from_string(source).render(chart=chart)


def rows_of(html: str) -> list[str]:
    return re.findall(r"<li>(.*?)</li>", html, flags=re.S)


def test_bars_scale_to_the_largest_shown_value() -> None:
    chart = bar_chart("c", "Referrals", [("A", 40), ("B", 10), ("C", 0)], WORDS)
    assert [bar.percent for bar in chart.bars] == [100.0, 25.0, 0.0]
    assert [bar.text for bar in chart.bars] == ["40", "10", "0"]
    assert chart.summary == "Referrals: 3 bars; the longest is A (40)."
    html = draw(chart)
    widths = re.findall(r'class="shown" x="0" y="0" width="([^"]*)"', html)
    assert widths == ["100.0%", "25.0%", "0.0%"]  # zero: a bar of no length, still a row
    assert 'role="img" aria-label="Referrals: 3 bars; the longest is A (40)."' in html
    assert 'aria-hidden="true"' in html and "style=" not in html


def test_rates_scale_to_one_and_stay_inside_the_track() -> None:
    fmt = number_formats("en")["rate"]
    chart = bar_chart("r", "Rate", [("A", 0.5), ("B", 0.123), ("C", 1.7)], WORDS, fmt=fmt, scale=1)
    assert [bar.percent for bar in chart.bars] == [50.0, 12.3, 100.0]
    assert [bar.text for bar in chart.bars] == ["50.0%", "12.3%", "170.0%"]


def test_nothing_to_scale_by() -> None:
    empty = bar_chart("e", "Nothing", [], WORDS)
    assert empty.bars == () and empty.summary == "Nothing: nothing."
    zeros = bar_chart("z", "Zeros", [("A", 0), ("B", 0)], WORDS)
    assert [bar.percent for bar in zeros.bars] == [0.0, 0.0]


def test_hidden_cells_are_hatched_and_carry_no_number() -> None:
    chart = bar_chart("h", "Referrals", [("A", 12), ("B", "<5"), ("C", None)], WORDS)
    assert chart.bars[1:] == (
        Bar(label="B", text="fewer than 5", percent=0.0, hidden=True),
        Bar(label="C", text="not shown", percent=0.0, hidden=True),
    )
    assert chart.bars[0].percent == 100.0  # the hidden ones do not set the scale
    assert chart.summary == "Referrals: 3 bars; the longest is A (12). Hatched: B, C."
    _, small, withheld = rows_of(draw(chart))
    for row in (small, withheld):
        assert 'class="shown"' not in row
        assert 'width="100%"' in row and 'fill="url(#h-hatch-' in row
        assert set(re.findall(r'width="([^"]*)"', row)) == {"100%", "8", "4"}  # the hatch only
        assert not re.search(r"[0-46-9]", re.sub(r"<[^>]*>", "", row))  # words, not figures


def test_only_hidden_cells_say_nothing_of_size() -> None:
    chart = bar_chart("o", "Referrals", [("A", "<5"), ("B", None)], WORDS)
    assert chart.summary == "Referrals: nothing. Hatched: A, B."


@pytest.mark.parametrize("seed", range(20))
def test_a_chart_is_the_same_whatever_the_small_counts_behind_it(seed: int) -> None:
    """Two programs whose small counts differ (1 or 4 referrals: both "<5") draw the same."""
    chance = random.Random(seed)
    labels = [f"group {n}" for n in range(chance.randint(1, 8))]
    shown = {label: chance.choice([0, 5, 9, 30, 120]) for label in labels}
    small = {label for label in labels if chance.random() < 0.4}

    def report(true_small: int) -> list[tuple[str, Value]]:
        counts = {label: true_small if label in small else n for label, n in shown.items()}
        return [(label, "<5" if 0 < n < 5 else n) for label, n in counts.items()]

    assert draw(bar_chart("p", "T", report(1), WORDS)) == draw(
        bar_chart("p", "T", report(4), WORDS)
    )


def test_cell_words_in_spanish() -> None:
    fmt = number_formats("es")
    assert cell_text(0.767, WORDS, fmt["rate"]).replace("\xa0", " ") == "76,7 %"
    assert cell_text(12345, WORDS, fmt["count"]) == "12.345"
    assert cell_text(17.0, WORDS, fmt["days"]) == "17,0"
    assert cell_text("<5", WORDS, fmt["count"]) == "fewer than 5"
    assert cell_text(True, WORDS) == "not shown"  # not a figure
