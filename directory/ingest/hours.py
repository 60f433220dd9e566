"""Opening hours as sources write them, turned into HSDS 3.0 weekly schedules.

``parse_hours`` reads free text ("Mon-Fri 9am-5pm", "24/7") only when it is unambiguous and
returns ``[]`` otherwise, so that the caller keeps the text as a description-only schedule.
``clock`` and ``day_code`` read the structured fields of HSDS 1.x rows ("9:00", "Monday", 1), and
``schedules_from_rows`` turns HSDS schedule rows of either version into schedule documents.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from directory.ingest.records import Normalised
from directory.listings import vocabularies

DAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
ALL_DAY = ("00:00", "23:59")  # 00:00-23:59 on every day is how a schedule says "open 24 hours"

_DAY_WORDS = {
    "MO": ("mon", "monday", "mondays"),
    "TU": ("tu", "tue", "tues", "tuesday", "tuesdays"),
    "WE": ("wed", "weds", "wednesday", "wednesdays"),
    "TH": ("th", "thu", "thur", "thurs", "thursday", "thursdays"),
    "FR": ("fri", "friday", "fridays"),
    "SA": ("sat", "saturday", "saturdays"),
    "SU": ("sun", "sunday", "sundays"),
}
_DAY_BY_WORD = {word: code for code, words in _DAY_WORDS.items() for word in words}
# HSDS 1.x ``weekday`` numbers: ISO 8601 (1 = Monday ... 7 = Sunday); 0 is also read as Sunday.
_DAY_BY_NUMBER = {str(n): DAYS[n - 1] for n in range(1, 8)} | {"0": "SU"}

_DAY = r"(?:" + "|".join(sorted(_DAY_BY_WORD, key=len, reverse=True)) + r")\b\.?"
_TIME = r"(?:noon|midnight|\d{1,2}(?::\d{2})?\s*(?:am|pm)?)"
_TO = r"\s*(?:-|to|until|till|through|thru)\s*"
_TOKENS = re.compile(
    "|".join(
        (
            r"(?P<always>24\s*/\s*7|24-7)",
            r"(?P<allday>(?:open\s*)?24\s*(?:hours|hrs|hour|hr)(?:\s*(?:a|per)\s*day)?"
            r"|around the clock)",
            r"(?P<everyday>(?:7|seven)\s*days(?:\s*(?:a|per)\s*week)?|daily|every\s*day|everyday)",
            r"(?P<weekdays>weekdays?)",
            r"(?P<weekends>weekends?)",
            rf"(?P<dayrange>(?P<d1>{_DAY}){_TO}(?P<d2>{_DAY})|\bm\s*-\s*f\b)",
            rf"(?P<day>{_DAY})",
            rf"(?P<times>(?P<t1>{_TIME}){_TO}(?P<t2>{_TIME}))",
            r"(?P<closed>closed\b)",
            r"(?P<filler>[\s,;.|/&:]+|(?:and|from|open|hours|hrs|are|is)\b)",
        )
    )
)
_CLOCK = re.compile(r"^(\d{1,2})(?::?(\d{2}))?(?::\d{2}(?:\.\d+)?)?\s*(am|pm)?$")


@dataclass(frozen=True)
class _Days:
    codes: frozenset[str]


@dataclass(frozen=True)
class _Times:
    span: tuple[str, str] | None  # None: closed on those days


def parse_hours(text: str, *, timezone: str | None) -> list[dict[str, Any]]:
    """HSDS weekly schedules for opening hours written as text, or [] when not unambiguous."""
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
    return [
        weekly(days, span[0], span[1], timezone=timezone, description=text.strip())
        for span, days in opening.items()
    ]


def weekly(
    days: Iterable[str],
    opens_at: str | None,
    closes_at: str | None,
    *,
    timezone: str | None = None,
    description: str | None = None,
) -> dict[str, Any]:
    """One WEEKLY schedule document for the given RRULE days (kept in week order)."""
    chosen = set(days)
    schedule: dict[str, Any] = {"freq": "WEEKLY", "byday": ",".join(d for d in DAYS if d in chosen)}
    if opens_at:
        schedule["opens_at"] = opens_at
    if closes_at:
        schedule["closes_at"] = closes_at
    if timezone:
        schedule["timezone"] = timezone
    if description:
        schedule["description"] = description
    return schedule


def day_code(value: Any) -> str | None:
    """The RRULE day of a weekday written as a name, an abbreviation or an ISO number."""
    text = str(value or "").strip().lower().rstrip(".")
    if text.upper() in DAYS:
        return text.upper()
    return _DAY_BY_WORD.get(text) or _DAY_BY_NUMBER.get(text)


def clock(value: Any) -> str | None:
    """``HH:MM`` for a time of day as written ("9:00", "09:00:00", "9 AM", "17:00Z"), else None.

    A UTC offset is dropped: schedules carry their time zone separately.
    """
    return _clock(str(value or ""))


@lru_cache(maxsize=4096)  # a file repeats the same few times thousands of times
def _clock(value: str) -> str | None:
    text = re.sub(r"(?:z|[+-]\d{2}:?\d{2})$", "", str(value or "").strip().lower()).strip()
    text = text.replace(".", "")
    if text in ("noon", "midnight"):
        return "12:00" if text == "noon" else "00:00"
    found = _CLOCK.match(text)
    if found is None:
        return None
    minute = int(found.group(2) or 0)
    hour = _meridiem(int(found.group(1)), found.group(3))
    if hour == 24 and minute == 0:
        return "23:59"
    if hour is None or not 0 <= hour <= 23 or not 0 <= minute <= 59:
        return None
    return f"{hour:02d}:{minute:02d}"


def _meridiem(hour: int, suffix: str | None) -> int | None:
    if suffix is None:
        return hour
    if not 1 <= hour <= 12:
        return None
    return hour % 12 + (12 if suffix == "pm" else 0)


def _prepare(text: str) -> str:
    lowered = text.lower().replace("\u2013", "-").replace("\u2014", "-")
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
        return [_Days(frozenset({_DAY_BY_WORD[found.group("day").rstrip(".")]}))]
    if kind == "times":
        span = _span(found.group("t1"), found.group("t2"))
        if span is None:
            raise ValueError(f"not a range of hours: {found.group(0)!r}")
        return [_Times(span)]
    if kind == "closed":
        return [_Times(None)]
    return []


def _day_range(first: str, last: str) -> frozenset[str]:
    start = DAYS.index(_DAY_BY_WORD[first.rstrip(".")])
    end = DAYS.index(_DAY_BY_WORD[last.rstrip(".")])
    if end < start:
        end += 7
    return frozenset(DAYS[i % 7] for i in range(start, end + 1))


def _span(first: str, second: str) -> tuple[str, str] | None:
    """Opening and closing ``HH:MM``; a missing am/pm is read the way people write hours."""
    opens, closes = _parts(first), _parts(second)
    if opens is None or closes is None:
        return None
    (oh, om, o_fixed), (ch, cm, c_fixed) = opens, closes
    if not o_fixed and not c_fixed and oh <= 12 and ch <= 12:
        oh = oh + 12 if 1 <= oh <= 5 else oh  # "1-5" is an afternoon, "9-5" a working day
        ch = ch + 12 if ch < 12 and ch * 60 + cm <= oh * 60 + om else ch
    elif not o_fixed and c_fixed and oh < 12 and (oh + 12) * 60 + om < ch * 60 + cm:
        oh += 12  # "1-5pm": both in the afternoon
    elif o_fixed and not c_fixed and ch < 12 and ch * 60 + cm <= oh * 60 + om:
        ch += 12  # "9am-5": closes in the afternoon
    open_at = clock(f"{oh}:{om:02d}")
    close_at = "23:59" if second.strip() == "midnight" else clock(f"{ch}:{cm:02d}")
    if open_at is None or close_at is None or open_at == close_at:
        return None
    return open_at, close_at


def _parts(text: str) -> tuple[int, int, bool] | None:
    """Hour, minute, and whether am/pm (or noon/midnight) fixed the hour."""
    word = text.strip()
    if word in ("noon", "midnight"):
        return (12 if word == "noon" else 0), 0, True
    found = _CLOCK.match(word)
    if found is None:
        return None
    hour, minute, suffix = int(found.group(1)), int(found.group(2) or 0), found.group(3)
    if suffix is None:
        return hour, minute, False
    fixed = _meridiem(hour, suffix)
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


def schedules_from_rows(
    rows: Iterable[Any], result: Normalised, field: str
) -> list[dict[str, Any]]:
    """Schedule documents from HSDS rows: 1.x ``weekday`` rows (one per day, grouped into weekly
    schedules), 3.0 RRULE rows (kept as they are), and rows with only a description (parsed when
    unambiguous, else kept as text)."""
    rows = [row for row in rows if isinstance(row, dict)]
    found = _weekdays([row for row in rows if "weekday" in row], result, field)
    for row in rows:
        if "weekday" not in row:
            found.extend(_rule(row, result, field))
    return found


def _weekdays(rows: list[dict[str, Any]], result: Normalised, field: str) -> list[dict[str, Any]]:
    spans: dict[tuple[str | None, str | None], set[str]] = {}
    for row in rows:
        day = day_code(row.get("weekday"))
        opens, closes = clock(row.get("opens_at")), clock(row.get("closes_at"))
        written = [str(row.get(k) or "").strip() for k in ("opens_at", "closes_at")]
        if day is None or (written[0] and opens is None) or (written[1] and closes is None):
            result.warn(field, f"unreadable opening hours: {row.get('weekday')!r} {written}")
            continue
        if opens is not None and closes is not None and closes <= opens:
            closes = _afternoon(opens, closes, result, field)
        if opens is not None or closes is not None:
            spans.setdefault((opens, closes), set()).add(day)
    ordered = sorted(spans.items(), key=lambda item: (min(map(DAYS.index, item[1])), str(item[0])))
    return [weekly(days, opens, closes) for (opens, closes), days in ordered]


def _afternoon(opens: str, closes: str, result: Normalised, field: str) -> str:
    """A closing time before the opening one: "10:00"-"4:00" means 16:00; else kept overnight."""
    hour, minute = int(closes[:2]), closes[3:]
    if hour < 12 and f"{hour + 12:02d}:{minute}" > opens:
        result.warn(
            field, f"closes before it opens, read as pm: {opens}-{closes} -> {hour + 12}:{minute}"
        )
        return f"{hour + 12:02d}:{minute}"
    result.warn(field, f"closes before it opens, kept as overnight hours: {opens}-{closes}")
    return closes


_RULE_TEXT = ("bymonthday", "byweekno", "byyearday")
_DATES = ("dtstart", "until", "valid_from", "valid_to")
_STRUCTURE = ("freq", "byday", "opens_at", "closes_at", *_RULE_TEXT)


def _rule(row: dict[str, Any], result: Normalised, field: str) -> list[dict[str, Any]]:
    """An HSDS 3.0 schedule row, or a description-only one parsed when unambiguous."""
    description = _text(row.get("description"))
    extras = {k: v for k in ("attending_type", "notes") if (v := _text(row.get(k)))}
    if (link := _text(row.get("schedule_link"))) and " " not in link:
        extras["schedule_link"] = link
    zone = _zone(row.get("timezone"), result, field)
    if not any(_text(row.get(k)) for k in _STRUCTURE):
        if description is None:
            return []
        parsed = parse_hours(description, timezone=zone)
        return [{**s, **extras} for s in parsed] or [{"description": description, **extras}]
    schedule = _recurrence(row, result, field)
    schedule |= {k: v for k in ("opens_at", "closes_at") if (v := clock(row.get(k)))}
    schedule |= {"timezone": zone} if zone else {}
    schedule |= {"description": description} if description else {}
    if "freq" not in schedule and "description" not in schedule:
        result.warn(field, f"a schedule with no frequency and no description: {row!r}"[:300])
        return []
    return [schedule | extras]


def _recurrence(row: dict[str, Any], result: Normalised, field: str) -> dict[str, Any]:
    schedule: dict[str, Any] = {}
    freq = (_text(row.get("freq")) or "").upper()
    if freq in ("WEEKLY", "MONTHLY", "DAILY", "YEARLY"):
        schedule["freq"] = freq
    elif freq:
        result.warn(field, f"unknown schedule frequency: {freq!r}")
    if byday := _text(row.get("byday")):
        try:
            schedule["byday"] = vocabularies.byday(byday)
            schedule.setdefault("freq", "WEEKLY")
        except ValueError as error:
            result.warn(field, str(error))
    if (wkst := (_text(row.get("wkst")) or "").upper()) in DAYS:
        schedule["wkst"] = wkst
    for key in ("interval", "count"):
        if (number := _text(row.get(key))) and number.isdigit() and int(number) >= 1:
            schedule[key] = int(number)
    schedule |= {k: v for k in _RULE_TEXT if (v := _text(row.get(k)))}
    for key in _DATES:
        if text := _text(row.get(key)):
            try:
                schedule[key] = dt.date.fromisoformat(text[:10]).isoformat()
            except ValueError:
                result.warn(field, f"{key} is not a date: {text!r}")
    return schedule


def _zone(value: Any, result: Normalised, field: str) -> str | None:
    text = _text(value)
    if text is None:
        return None
    try:
        return vocabularies.timezone(text)
    except ValueError:
        result.warn(field, f"not an IANA time zone: {text!r}")
        return None


def _text(value: Any) -> str | None:
    text = str(value).strip() if value is not None else ""
    return text or None
