"""Opening hours written as text ("Mon-Fri 9am-5pm", "24/7", "lunes a viernes de 9 a 5").

``spans`` reads a text only when every word of it is understood and the days and hours pair up
one way; anything else ("By appointment", "Mon-Fri 9-5 except holidays") gives ``[]`` so that the
caller keeps the text as it is. English and Spanish are read: most US sources write one of them.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

DAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
ALL_DAY = ("00:00", "23:59")  # 00:00-23:59 on every day is how a schedule says "open 24 hours"

# Spanish "mar" (martes) is left out: it is also March, and "Mar 1-5" is a date more often than
# Tuesday afternoon. A text using it stays text.
_DAY_WORDS = {
    "MO": ("mon", "monday", "mondays", "lun", "lunes"),
    "TU": ("tu", "tue", "tues", "tuesday", "tuesdays", "martes"),
    "WE": ("wed", "weds", "wednesday", "wednesdays", "mie", "miercoles"),
    "TH": ("th", "thu", "thur", "thurs", "thursday", "thursdays", "jue", "jueves"),
    "FR": ("fri", "friday", "fridays", "vie", "viernes"),
    "SA": ("sat", "saturday", "saturdays", "sab", "sabado", "sabados"),
    "SU": ("sun", "sunday", "sundays", "dom", "domingo", "domingos"),
}
DAY_BY_WORD = {word: code for code, words in _DAY_WORDS.items() for word in words}
CLOCK = re.compile(r"^(\d{1,2})(?::?(\d{2}))?(?::\d{2}(?:\.\d+)?)?\s*(am|pm)?$")

_DAY = r"(?:" + "|".join(sorted(DAY_BY_WORD, key=len, reverse=True)) + r")\b\.?"
_TIME = r"(?:noon|midnight|\d{1,2}(?::\d{2})?\s*(?:am|pm)?)"
_TO = r"\s*(?:-|to|until|till|through|thru|\ba\b|\bal\b|\bhasta\b)\s*"
_TOKENS = re.compile(
    "|".join(
        (
            r"(?P<always>24\s*/\s*7|24-7)",
            r"(?P<allday>(?:open\s*|abierto\s*)?24\s*(?:hours|hrs|hour|hr)(?:\s*(?:a|per)\s*day)?"
            r"|24\s*horas(?:\s*al\s*dia)?|around the clock)",
            r"(?P<everyday>(?:7|seven)\s*days(?:\s*(?:a|per)\s*week)?|daily|every\s*day|everyday"
            r"|(?:7|siete)\s*dias(?:\s*(?:a|de)\s*la\s*semana)?|todos\s*los\s*dias|diario)",
            r"(?P<weekdays>weekdays?)",
            r"(?P<weekends>weekends?|fines?\s*de\s*semana)",
            rf"(?P<dayrange>(?P<d1>{_DAY}){_TO}(?P<d2>{_DAY})|\bm\s*-\s*f\b)",
            rf"(?P<day>{_DAY})",
            rf"(?P<times>(?P<t1>{_TIME}){_TO}(?P<t2>{_TIME}))",
            r"(?P<closed>(?:closed|cerrado)\b)",
            r"(?P<filler>[\s,;.|/&:]+|(?:and|from|open|hours|hrs|are|is)\b"
            r"|(?:y|de|del|los|las|abierto|horario)\b)",
        )
    )
)


@dataclass(frozen=True)
class _Days:
    codes: frozenset[str]


@dataclass(frozen=True)
class _Times:
    span: tuple[str, str] | None  # None: closed on those days


def spans(text: str) -> list[tuple[frozenset[str], str, str]]:
    """(days, opens, closes) for each opening span the text states, or [] unless unambiguous."""
    items = _tokens(_prepare(text))
    pairs = _pair(items) if items else None
    if not pairs:
        return []
    opening: dict[tuple[str, str], set[str]] = {}
    closed: set[str] = set()
    for days, times in pairs:
        for span in times:
            if span is None:
                closed |= days
            else:
                opening.setdefault(span, set()).update(days)
    if not opening or any(closed & days for days in opening.values()):
        return []
    return [(frozenset(days), span[0], span[1]) for span, days in opening.items()]


def meridiem(hour: int, suffix: str | None) -> int | None:
    """The 24-hour hour of "9" with "am" or "pm" (None: "13pm"); without a suffix, unchanged."""
    if suffix is None:
        return hour
    if not 1 <= hour <= 12:
        return None
    return hour % 12 + (12 if suffix == "pm" else 0)


def hhmm(hour: int, minute: int) -> str | None:
    """``HH:MM``, with 24:00 read as 23:59 (the end of the day); None when not a time of day."""
    if hour == 24 and minute == 0:
        return "23:59"
    if not 0 <= hour <= 23 or not 0 <= minute <= 59:
        return None
    return f"{hour:02d}:{minute:02d}"


def _prepare(text: str) -> str:
    """Lower case without accents ("sábado" as "sabado"), one kind of dash, "a.m." as "am"."""
    lowered = text.lower().replace("\u2013", "-").replace("\u2014", "-")
    lowered = "".join(
        c for c in unicodedata.normalize("NFKD", lowered) if not unicodedata.combining(c)
    )
    lowered = re.sub(r"\b([ap])\.\s*m\.?", r"\1m", lowered)
    return re.sub(r"\s+", " ", lowered).strip()


def _tokens(text: str) -> list[_Days | _Times] | None:
    items: list[_Days | _Times] = []
    position = 0
    while position < len(text):
        found = _TOKENS.match(text, position)
        if found is None or found.end() == position:
            return None
        position = found.end()
        try:
            items.extend(_item(found))
        except ValueError:
            return None
    return items


def _item(found: re.Match[str]) -> list[_Days | _Times]:
    """What one token says (nothing for fillers); ValueError for hours that cannot be."""
    kind = found.lastgroup
    if kind in ("always", "allday"):
        prefix: list[_Days | _Times] = [_Days(frozenset(DAYS))] if kind == "always" else []
        return [*prefix, _Times(ALL_DAY)]
    if kind in ("everyday", "weekdays", "weekends"):
        chosen = {"everyday": DAYS, "weekdays": DAYS[:5], "weekends": DAYS[5:]}[kind]
        return [_Days(frozenset(chosen))]
    if kind == "dayrange":
        return [_Days(_day_range(found.group("d1") or "mon", found.group("d2") or "fri"))]
    if kind == "day":
        return [_Days(frozenset({DAY_BY_WORD[found.group("day").rstrip(".")]}))]
    if kind == "times":
        span = _span(found.group("t1"), found.group("t2"))
        if span is None:
            raise ValueError(f"not a range of hours: {found.group(0)!r}")
        return [_Times(span)]
    if kind == "closed":
        return [_Times(None)]
    return []


def _day_range(first: str, last: str) -> frozenset[str]:
    start = DAYS.index(DAY_BY_WORD[first.rstrip(".")])
    end = DAYS.index(DAY_BY_WORD[last.rstrip(".")])
    if end < start:
        end += 7
    return frozenset(DAYS[i % 7] for i in range(start, end + 1))


def _span(first: str, second: str) -> tuple[str, str] | None:
    """Opening and closing ``HH:MM``; a missing am/pm is read the way people write hours."""
    opens, closes = _parts(first), _parts(second)
    if opens is None or closes is None:
        return None
    (oh, om, o_fixed), (ch, cm, c_fixed) = opens, closes
    unmarked = not o_fixed and not c_fixed and not first.strip().startswith("0")  # not "08:00"
    if unmarked and 6 <= oh < ch < 12:
        return None  # "6-8", "7-9": a morning, or an evening group? Kept as text
    if not o_fixed and not c_fixed and oh <= 12 and ch <= 12:
        oh = oh + 12 if 1 <= oh <= 5 else oh  # "1-5" is an afternoon, "9-5" a working day
        ch = ch + 12 if ch < 12 and ch * 60 + cm <= oh * 60 + om else ch
    elif not o_fixed and c_fixed and oh < 12 and (oh + 12) * 60 + om < ch * 60 + cm:
        oh += 12  # "1-5pm": both in the afternoon
    elif o_fixed and not c_fixed and ch < 12 and ch * 60 + cm <= oh * 60 + om:
        ch += 12  # "9am-5": closes in the afternoon
    open_at = hhmm(oh, om)
    close_at = "23:59" if second.strip() == "midnight" else hhmm(ch, cm)
    if open_at is None or close_at is None or open_at == close_at:
        return None
    return open_at, close_at


def _parts(text: str) -> tuple[int, int, bool] | None:
    """Hour, minute, and whether am/pm (or noon/midnight) fixed the hour."""
    word = text.strip()
    if word in ("noon", "midnight"):
        return (12 if word == "noon" else 0), 0, True
    found = CLOCK.match(word)
    if found is None:
        return None
    hour, minute, suffix = int(found.group(1)), int(found.group(2) or 0), found.group(3)
    if suffix is None:
        return hour, minute, False
    fixed = meridiem(hour, suffix)
    return None if fixed is None else (fixed, minute, True)


def _pair(items: list[_Days | _Times]) -> list[tuple[set[str], list[tuple[str, str] | None]]]:
    """Day groups with their hours: ``D T [T] D T`` or ``T D T D``; anything else is ambiguous."""
    runs: list[tuple[str, list[_Days | _Times]]] = []
    for item in items:
        kind = "d" if isinstance(item, _Days) else "t"
        if runs and runs[-1][0] == kind:
            runs[-1][1].append(item)
        else:
            runs.append((kind, [item]))
    if (
        len(runs) == 1
        and runs[0][0] == "t"
        and all(isinstance(t, _Times) and t.span == ALL_DAY for t in runs[0][1])
    ):
        runs.insert(0, ("d", [_Days(frozenset(DAYS))]))
    if len(runs) % 2:
        return []
    pairs = []
    for first, second in zip(runs[::2], runs[1::2], strict=True):
        days_run, times_run = (first, second) if first[0] == "d" else (second, first)
        days = set().union(*(d.codes for d in days_run[1] if isinstance(d, _Days)))
        spans = [t.span for t in times_run[1] if isinstance(t, _Times)]
        pairs.append((days, spans))
    return pairs
