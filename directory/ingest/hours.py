"""Opening hours as sources write them, turned into HSDS 3.0 weekly schedules.

``parse_hours`` reads free text ("Mon-Fri 9am-5pm", "24/7"; the grammar is in ``hours_text``)
only when it is unambiguous and returns ``[]`` otherwise, so that the caller keeps the text as a
description-only schedule. ``clock`` and ``day_code`` read the structured fields of HSDS 1.x rows
("9:00", "Monday", 1), ``schedules_from_rows`` turns HSDS schedule rows of any version into
schedule documents, and ``holiday_schedules`` does the same for HSDS 1.x dated closures.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from functools import lru_cache
from typing import Any

from directory.ingest import hours_text
from directory.ingest.records import Normalised
from directory.listings import vocabularies

DAYS = hours_text.DAYS
ALL_DAY = hours_text.ALL_DAY
# HSDS 1.x ``weekday`` numbers: ISO 8601 (1 = Monday ... 7 = Sunday); 0 is also read as Sunday.
_DAY_BY_NUMBER = {str(n): DAYS[n - 1] for n in range(1, 8)} | {"0": "SU"}


def parse_hours(text: str, *, timezone: str | None) -> list[dict[str, Any]]:
    """HSDS weekly schedules for opening hours written as text, or [] when not unambiguous."""
    return [
        weekly(days, opens, closes, timezone=timezone, description=text.strip())
        for days, opens, closes in hours_text.spans(text)
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
    return hours_text.DAY_BY_WORD.get(text) or _DAY_BY_NUMBER.get(text)


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
    found = hours_text.CLOCK.match(text)
    if found is None:
        return None
    hour = hours_text.meridiem(int(found.group(1)), found.group(3))
    return None if hour is None else hours_text.hhmm(hour, int(found.group(2) or 0))


def schedules_from_rows(
    rows: Iterable[Any], result: Normalised, field: str
) -> list[dict[str, Any]]:
    """Schedule documents from HSDS rows: 1.x ``weekday`` rows (one per day, grouped into weekly
    schedules), 3.0 RRULE rows (kept as they are), and rows with only text (parsed when
    unambiguous, else kept as text). The tallies let the import report say how many rows were
    read and how each was kept, so that a file whose hours all got lost does not pass quietly."""
    rows = [row for row in rows if isinstance(row, dict)]
    if rows:
        result.tally("hours: rows", len(rows))
    found = _weekdays([row for row in rows if _by_day(row)], result, field)
    found.extend(s for row in rows if not _by_day(row) for s in _rule(row, result, field))
    return found


def _by_day(row: dict[str, Any]) -> bool:
    """An HSDS 1.x day row: a weekday with times, or with nothing at all (closed that day).

    A weekday with only text is read as text: the text says more than the day does.
    """
    if _text(row.get("weekday")) is None:
        return False
    return any(_text(row.get(k)) for k in ("opens_at", "closes_at")) or not _texts(row)


def _weekdays(rows: list[dict[str, Any]], result: Normalised, field: str) -> list[dict[str, Any]]:
    # (opens, closes, the row's own words) -> days: a note on a day's row stays with that day
    spans: dict[tuple[str | None, str | None, str | None], set[str]] = {}
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
            note = _text(row.get("description")) or _text(row.get("original_text"))
            spans.setdefault((opens, closes, note), set()).add(day)
            result.tally("hours: structured")
        else:
            result.tally("hours: closed days")  # a day with no times, as HSDS 1.x writes closing
    ordered = sorted(spans.items(), key=lambda item: (min(map(DAYS.index, item[1])), str(item[0])))
    return [
        weekly(days, opens, closes, description=note) for (opens, closes, note), days in ordered
    ]


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


def holiday_schedules(rows: Iterable[Any], result: Normalised, field: str) -> list[dict[str, Any]]:
    """Schedule documents for HSDS 1.x ``holiday_schedules`` rows: dated closures, or dated
    special hours. They carry ``valid_from``/``valid_to`` and a description that says it plainly,
    and no ``freq``, so that nothing reads them as weekly opening hours."""
    found = []
    for row in rows:
        if isinstance(row, dict) and (schedule := _holiday(row, result, field)):
            result.tally("hours: holiday")
            found.append(schedule)
    return found


def _holiday(row: dict[str, Any], result: Normalised, field: str) -> dict[str, Any] | None:
    """One dated closure or special opening; None (with a warning) when its dates or hours are
    unreadable: a guessed date would tell people a service is shut when it is not."""
    written = [_text(row.get(k)) for k in ("start_date", "end_date")]
    first, last = (_date(text) for text in written)
    if first is None or last is None or last < first:
        result.warn(field, f"holiday dates not readable: {written[0]!r} to {written[1]!r}")
        return None
    dates = {"valid_from": first.isoformat(), "valid_to": last.isoformat()}
    opens, closes = clock(row.get("opens_at")), clock(row.get("closes_at"))
    if _closed(row.get("closed")):
        if opens or closes:
            result.warn(field, f"holiday closed all day, its hours ignored: {opens}-{closes}")
        when = f"on {first}" if first == last else f"{first} to {last}"
        return dates | {"description": f"Closed {when}"}
    if opens is None or closes is None:
        result.warn(field, f"holiday neither closed nor with readable hours: {row!r}"[:300])
        return None
    if closes <= opens:
        closes = _afternoon(opens, closes, result, field)
    when = f"on {first}" if first == last else f"from {first} to {last}"
    return dates | {
        "opens_at": opens,
        "closes_at": closes,
        "description": f"Open {opens}-{closes} {when}",
    }


def _date(text: str | None) -> dt.date | None:
    try:
        return dt.date.fromisoformat(text[:10]) if text else None
    except ValueError:
        return None


def _closed(value: Any) -> bool:
    """Whether a ``closed`` cell says so, as CSV and JSON write it ("true", "TRUE", True, 1)."""
    return str(value).strip().lower() in ("true", "t", "yes", "y", "1")


_RULE_TEXT = ("bymonthday", "byweekno", "byyearday")
_DATES = ("dtstart", "until", "valid_from", "valid_to")
_STRUCTURE = ("freq", "byday", "opens_at", "closes_at", *_RULE_TEXT)


def _rule(row: dict[str, Any], result: Normalised, field: str) -> list[dict[str, Any]]:
    """An HSDS 3.0 schedule row, or a row with only text, parsed when unambiguous."""
    texts = _texts(row)
    description = "\n".join(texts) or None  # both columns kept when they say different things
    extras = {k: v for k in ("attending_type", "notes") if (v := _text(row.get(k)))}
    if (link := _text(row.get("schedule_link"))) and " " not in link:
        extras["schedule_link"] = link
    zone = _zone(row.get("timezone"), result, field)
    if not any(_text(row.get(k)) for k in _STRUCTURE):
        if description is None:
            result.warn(field, f"a schedule with no days, times or text: {row!r}"[:300])
            return []
        parsed = next((p for text in texts if (p := parse_hours(text, timezone=zone))), [])
        result.tally("hours: parsed" if parsed else "hours: text")
        kept = parsed or [{}]
        extras |= _dates(row, result, field)  # the days a text applies to ("Closed ...")
        return [s | {"description": description} | extras for s in kept]
    schedule = _recurrence(row, result, field)
    schedule |= {k: v for k in ("opens_at", "closes_at") if (v := clock(row.get(k)))}
    schedule |= {"timezone": zone} if zone else {}
    schedule |= {"description": description} if description else {}
    if "freq" not in schedule and "description" not in schedule:
        result.warn(field, f"a schedule with no frequency and no description: {row!r}"[:300])
        return []
    result.tally("hours: structured")
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
        number = _text(row.get(key)) or ""
        if number.isascii() and number.isdigit() and 1 <= len(number) <= 6 and int(number) >= 1:
            schedule[key] = int(number)
    schedule |= {k: v for k in _RULE_TEXT if (v := _text(row.get(k)))}
    return schedule | _dates(row, result, field)


def _dates(row: dict[str, Any], result: Normalised, field: str) -> dict[str, str]:
    """The row's dates (``dtstart``, ``until``, ``valid_from``, ``valid_to``) that are dates."""
    found = {}
    for key in _DATES:
        if text := _text(row.get(key)):
            try:
                found[key] = dt.date.fromisoformat(text[:10]).isoformat()
            except ValueError:
                result.warn(field, f"{key} is not a date: {text!r}")
    return found


def _zone(value: Any, result: Normalised, field: str) -> str | None:
    text = _text(value)
    if text is None:
        return None
    try:
        return vocabularies.timezone(text)
    except ValueError:
        result.warn(field, f"not an IANA time zone: {text!r}")
        return None


def _texts(row: dict[str, Any]) -> list[str]:
    """The hours as text: ``description`` (all versions) and HSDS 1.x/2.0 ``original_text``."""
    return list(
        dict.fromkeys(t for k in ("description", "original_text") if (t := _text(row.get(k))))
    )


def _text(value: Any) -> str | None:
    text = str(value).strip() if value is not None else ""
    return text or None
