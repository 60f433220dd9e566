"""Horizontal bar charts drawn on the server: for each bar, the width of its SVG ``<rect>`` (an
attribute, since the Content-Security-Policy forbids inline styles) and the words the table
beside it uses. A small or withheld report cell is drawn hatched and never to scale: its true
value is not in the chart, and no other bar is scaled by it."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from babel.numbers import format_decimal, format_percent

from directory.web import i18n

# A report cell: a number, "<5" (a count of 1 to 4), or None (withheld, or not measurable).
Value = int | float | str | None


@dataclass(frozen=True)
class Words:
    """What a chart says in the page's language (made with the request's gettext)."""

    small: str  # a "<5" cell: "fewer than 5"
    withheld: str  # a None cell: "not shown"
    summary: str  # "%(title)s: %(count)s bars, the longest %(label)s (%(value)s)."
    hidden: str  # "Hatched bars are not drawn to scale: %(labels)s."
    empty: str  # "%(title)s: nothing to show."


@dataclass(frozen=True)
class Bar:
    label: str
    text: str  # the value as the table shows it
    percent: float  # the rect's width, in % of the track (0 for a hidden cell)
    hidden: bool  # small or withheld: hatched, of no measurable length


@dataclass(frozen=True)
class Chart:
    key: str  # unique on its page (the SVG pattern's id)
    title: str
    summary: str  # the chart in one sentence (its aria-label); the table is the full version
    bars: tuple[Bar, ...]


def measurable(value: Value) -> float | None:
    """A cell's number, or None when it is small ("<5") or withheld."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def plain(number: float) -> str:
    """A number without a needless decimal (12, 0.5)."""
    return f"{number:g}"


def cell_text(value: Value, words: Words, fmt: Callable[[float], str] = plain) -> str:
    """A cell as a table (and a chart) says it."""
    number = measurable(value)
    if number is not None:
        return fmt(number)
    return words.small if value == "<5" else words.withheld


def bar_chart(
    key: str,
    title: str,
    rows: Iterable[tuple[str, Value]],
    words: Words,
    *,
    fmt: Callable[[float], str] = plain,
    scale: float | None = None,
) -> Chart:
    """A chart of ``(label, cell)`` rows; bars are scaled to ``scale`` (rates: 1), else to the
    largest shown value."""
    cells = list(rows)
    numbers = [n for _, value in cells if (n := measurable(value)) is not None]
    top = scale if scale is not None else max(numbers, default=0.0)
    bars = tuple(
        Bar(
            label=label,
            text=cell_text(value, words, fmt),
            percent=_percent(measurable(value), top),
            hidden=measurable(value) is None,
        )
        for label, value in cells
    )
    return Chart(key=key, title=title, summary=_summary(title, bars, words), bars=bars)


def _percent(value: float | None, top: float) -> float:
    if value is None or top <= 0:
        return 0.0
    return round(min(max(value / top, 0.0), 1.0) * 100, 2)


def _summary(title: str, bars: tuple[Bar, ...], words: Words) -> str:
    """One sentence: how many bars and the longest (of those drawn to scale); which are
    hatched. Never a hidden cell's value: it is not known here."""
    shown = [bar for bar in bars if not bar.hidden]
    if not shown:
        text = words.empty % {"title": title}
    else:
        longest = max(shown, key=lambda bar: bar.percent)
        values = {"title": title, "count": len(bars), "label": longest.label}
        text = words.summary % {**values, "value": longest.text}
    hidden = [bar.label for bar in bars if bar.hidden]
    if hidden:
        text += " " + words.hidden % {"labels": ", ".join(hidden)}
    return text


def number_formats(lang: str) -> dict[str, Callable[[float], str]]:
    """How the page's language writes a count, a rate (as a percentage) and days."""
    locale = i18n.locale(lang)

    def count(n: float) -> str:
        return format_decimal(n, format="#,##0", locale=locale)

    pattern = locale.percent_formats[None].pattern  # "#,##0%", "#,##0 %": one decimal more
    at = pattern.rindex("0") + 1
    one_decimal = pattern[:at] + ".0" + pattern[at:]

    def rate(n: float) -> str:
        return format_percent(n, format=one_decimal, locale=locale)

    def days(n: float) -> str:
        return format_decimal(n, format="#,##0.0", locale=locale)

    return {"count": count, "rate": rate, "days": days}
