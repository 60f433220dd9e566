"""Opening hours: free text read only when unambiguous, HSDS schedule rows of both versions."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import pytest

from directory.ingest.hours import (
    clock,
    day_code,
    holiday_schedules,
    parse_hours,
    schedules_from_rows,
)
from directory.ingest.records import Normalised
from directory.listings.schemas import ScheduleIn

WEEKDAYS = "MO,TU,WE,TH,FR"
EVERY_DAY = "MO,TU,WE,TH,FR,SA,SU"

# text -> [(byday, opens_at, closes_at), ...]
MUST_PARSE: dict[str, list[tuple[str, str, str]]] = {
    "8:00am-5:00pm, Mon-Fri": [(WEEKDAYS, "08:00", "17:00")],
    "Monday - Friday 9am to 5pm": [(WEEKDAYS, "09:00", "17:00")],
    "24 hours a day, 7 days a week": [(EVERY_DAY, "00:00", "23:59")],
    "24/7": [(EVERY_DAY, "00:00", "23:59")],
    "Open 24/7": [(EVERY_DAY, "00:00", "23:59")],
    "Open 24 hours": [(EVERY_DAY, "00:00", "23:59")],
    "Mon-Fri 24 hours": [(WEEKDAYS, "00:00", "23:59")],
    "Mon-Thu 9-5; Fri 9-12": [("MO,TU,WE,TH", "09:00", "17:00"), ("FR", "09:00", "12:00")],
    "M-F 9-5": [(WEEKDAYS, "09:00", "17:00")],
    "Tue 6-8pm": [("TU", "18:00", "20:00")],  # the pm decides both
    "Mon-Fri 08:00-10:00": [(WEEKDAYS, "08:00", "10:00")],  # a leading zero: a 24-hour clock
    "Monday through Friday from 8:30 a.m. to 4:30 p.m.": [(WEEKDAYS, "08:30", "16:30")],
    "Monday\u2013Friday, 9 AM\u20135 PM": [(WEEKDAYS, "09:00", "17:00")],
    "Mon. - Fri. 9:00-17:00": [(WEEKDAYS, "09:00", "17:00")],
    "Hours: Mon-Fri 8-4:30": [(WEEKDAYS, "08:00", "16:30")],
    "Weekdays 8am-6pm": [(WEEKDAYS, "08:00", "18:00")],
    "Weekends 10am-2pm": [("SA,SU", "10:00", "14:00")],
    "Daily 7am-7pm": [(EVERY_DAY, "07:00", "19:00")],
    "Mon, Wed, Fri 10am-3pm": [("MO,WE,FR", "10:00", "15:00")],
    "Tues & Thurs 1-5pm": [("TU,TH", "13:00", "17:00")],
    "Mon 9-12, 1-5": [("MO", "09:00", "12:00"), ("MO", "13:00", "17:00")],
    "Mon-Fri 9-5, Sat 10-2": [(WEEKDAYS, "09:00", "17:00"), ("SA", "10:00", "14:00")],
    "Mon-Fri 9-5, Sat-Sun closed": [(WEEKDAYS, "09:00", "17:00")],
    "Saturday noon-4pm": [("SA", "12:00", "16:00")],
    "Fri-Sun 8pm-midnight": [("FR,SA,SU", "20:00", "23:59")],
    "9am-5pm Monday-Friday, 10am-2pm Saturday": [
        (WEEKDAYS, "09:00", "17:00"),
        ("SA", "10:00", "14:00"),
    ],
    "Monday 9am-5pm; Wednesday 9am-5pm": [("MO,WE", "09:00", "17:00")],
    "Sun 1pm - 5pm": [("SU", "13:00", "17:00")],
    # as HSDS 1.x files write them in original_text / description
    "9:00am-4:00pm, Mon-Fri": [(WEEKDAYS, "09:00", "16:00")],
    "Mon, Wed 8:30-12": [("MO,WE", "08:30", "12:00")],
    "Monday - Friday 8:00 AM - 5:00 PM": [(WEEKDAYS, "08:00", "17:00")],
    "Mon-Thu 9am-7pm; Fri 9am-5pm": [("MO,TU,WE,TH", "09:00", "19:00"), ("FR", "09:00", "17:00")],
    "Tuesdays and Thursdays 1pm-4pm": [("TU,TH", "13:00", "16:00")],
    "8:30 a.m. to 4:30 p.m. Monday through Friday": [(WEEKDAYS, "08:30", "16:30")],
    # Spanish
    "lunes a viernes de 9 a 5": [(WEEKDAYS, "09:00", "17:00")],
    "24 horas": [(EVERY_DAY, "00:00", "23:59")],
    "Abierto las 24 horas": [(EVERY_DAY, "00:00", "23:59")],
    "24 horas al día, 7 días a la semana": [(EVERY_DAY, "00:00", "23:59")],
    "De lunes a viernes de 9:00 a 17:00": [(WEEKDAYS, "09:00", "17:00")],
    "del lunes al viernes de 8 a.m. a 4 p.m.": [(WEEKDAYS, "08:00", "16:00")],
    "Lun-Vie 9-5": [(WEEKDAYS, "09:00", "17:00")],
    "Lunes, miércoles y viernes 10-2": [("MO,WE,FR", "10:00", "14:00")],
    "Sábados 9am-1pm": [("SA", "09:00", "13:00")],
    "Todos los días 7 a 7": [(EVERY_DAY, "07:00", "19:00")],
    "Fines de semana 10 a 2": [("SA,SU", "10:00", "14:00")],
    "Lunes a viernes 9-5; sábado y domingo cerrado": [(WEEKDAYS, "09:00", "17:00")],
}

MUST_NOT_PARSE = [
    "",
    "Closed",
    "By appointment only",
    "Call for hours",
    "Hours vary by location",
    "9-5",  # which days?
    "10am-2pm",
    "Mon-Fri",  # which hours?
    "Monday 9am",  # until when?
    "Mon-Fri 9-5 except holidays",
    "Monday-Friday 9 am - 5 pm (closed for lunch 12-1)",
    "First Tuesday of the month 6-8pm",
    "Summer: Mon-Fri 9-5",
    "Mon-Fri 9-5, some Saturdays",
    "Mon-Fri 9-5; Fri closed",  # contradicts itself
    "Tues 25-30",
    "Mon-Fri 9:75-5",
    "Mon 5-5",
    "Open most weekdays",
    "Mon-Fri 9-5 Mon-Fri",  # days twice, one set of hours
    "By appointment",
    "Varies",
    "Mon 9-12 (except holidays)",  # which holidays?
    "Open 24/7 except Christmas",
    "Mar 1-5",  # March, more likely than Spanish martes
    "Tuesdays 6-8",  # a morning, or an evening group?
    "Thu 6:30-8:30",
    "Mon-Fri 7-9",
    "lunes a viernes de 9 a 5, excepto feriados",
    "Llame para el horario",
    "Con cita previa",
    "lunes a viernes",  # which hours?
]


@pytest.mark.parametrize(("text", "expected"), MUST_PARSE.items())
def test_parses_unambiguous_hours(text: str, expected: list[tuple[str, str, str]]) -> None:
    found = parse_hours(text, timezone=None)
    assert [(s["byday"], s["opens_at"], s["closes_at"]) for s in found] == expected
    for schedule in found:
        assert schedule["freq"] == "WEEKLY"
        assert schedule["description"] == text.strip()
        ScheduleIn.model_validate(schedule)


@pytest.mark.parametrize("text", MUST_NOT_PARSE)
def test_leaves_ambiguous_hours_alone(text: str) -> None:
    assert parse_hours(text, timezone=None) == []


def test_timezone_is_carried_when_given() -> None:
    found = parse_hours("Mon-Fri 9-5", timezone="America/Chicago")
    assert found[0]["timezone"] == "America/Chicago"
    assert "timezone" not in parse_hours("Mon-Fri 9-5", timezone=None)[0]


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("9:00", "09:00"),
        ("09:00:00", "09:00"),
        ("17:30", "17:30"),
        ("9 AM", "09:00"),
        ("5:30pm", "17:30"),
        ("12am", "00:00"),
        ("12pm", "12:00"),
        ("noon", "12:00"),
        ("17:00Z", "17:00"),
        ("09:00-05:00", "09:00"),  # HSDS 1.x allows a UTC offset
        ("24:00", "23:59"),
        ("25:00", None),
        ("9:75", None),
        ("", None),
        (None, None),
        ("soon", None),
    ],
)
def test_clock(written: Any, expected: str | None) -> None:
    assert clock(written) == expected


@pytest.mark.parametrize(
    ("written", "expected"),
    [("Monday", "MO"), ("tues", "TU"), ("Thu.", "TH"), ("SU", "SU"), (1, "MO"), ("7", "SU"),
     ("0", "SU"), ("Funday", None), (8, None), (None, None)],
)  # fmt: skip
def test_day_code(written: Any, expected: str | None) -> None:
    assert day_code(written) == expected


def _rows(result: Normalised, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    found = schedules_from_rows(rows, result, "schedules")
    for schedule in found:
        ScheduleIn.model_validate(schedule)
    return found


def test_hsds1_weekday_rows_group_into_weekly_schedules() -> None:
    result = Normalised(doc={})
    days = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"]
    rows = [
        {"weekday": d, "opens_at": "" if d in ("Sunday", "Saturday") else "9:00",
         "closes_at": "" if d in ("Sunday", "Saturday") else "17:00"}
        for d in days
    ]  # fmt: skip
    rows[4]["closes_at"] = "20:00"  # Thursday: late opening
    found = _rows(result, rows)
    assert found == [
        {"freq": "WEEKLY", "byday": "MO,TU,WE,FR", "opens_at": "09:00", "closes_at": "17:00"},
        {"freq": "WEEKLY", "byday": "TH", "opens_at": "09:00", "closes_at": "20:00"},
    ]
    assert result.warnings == []


def test_hsds1_afternoon_closing_written_as_morning() -> None:
    result = Normalised(doc={})
    found = _rows(result, [{"weekday": 1, "opens_at": "10:00", "closes_at": "4:00"}])
    assert found[0]["closes_at"] == "16:00"
    assert result.warnings == [
        ("schedules", "closes before it opens, read as pm: 10:00-04:00 -> 16:00")
    ]
    result = Normalised(doc={})
    overnight = _rows(result, [{"weekday": "Friday", "opens_at": "22:00", "closes_at": "20:00"}])
    assert (overnight[0]["opens_at"], overnight[0]["closes_at"]) == ("22:00", "20:00")
    assert "overnight" in result.warnings[0][1]


def test_unreadable_weekday_rows_are_warned_about() -> None:
    result = Normalised(doc={})
    rows = [{"weekday": "Funday", "opens_at": "9:00"}, {"weekday": "Mon", "opens_at": "nine"}]
    assert _rows(result, rows) == []
    assert len(result.warnings) == 2


def test_hsds3_rows_keep_their_rule() -> None:
    result = Normalised(doc={})
    row = {
        "freq": "monthly", "byday": "1MO", "interval": "1", "opens_at": "18:00:00",
        "closes_at": "20:00:00", "timezone": "America/New_York", "dtstart": "2024-01-01",
        "description": "First Monday of the month, 6-8pm", "notes": "Bring ID",
    }  # fmt: skip
    assert _rows(result, [row]) == [
        {"freq": "MONTHLY", "byday": "1MO", "interval": 1, "dtstart": "2024-01-01",
         "opens_at": "18:00", "closes_at": "20:00", "timezone": "America/New_York",
         "description": "First Monday of the month, 6-8pm", "notes": "Bring ID"},
    ]  # fmt: skip
    assert result.warnings == []


def test_hsds3_bad_parts_are_dropped_with_warnings() -> None:
    result = Normalised(doc={})
    row = {"freq": "WEEKLY", "byday": "XX", "timezone": 3, "until": "soon", "opens_at": "9:00"}
    assert _rows(result, [row]) == [{"freq": "WEEKLY", "opens_at": "09:00"}]
    assert len(result.warnings) == 3


def test_description_only_rows_are_parsed_or_kept_as_text() -> None:
    result = Normalised(doc={})
    found = _rows(result, [{"description": "Mon-Fri 9-5"}, {"description": "Call ahead"}])
    assert found == [
        {"freq": "WEEKLY", "byday": WEEKDAYS, "opens_at": "09:00", "closes_at": "17:00",
         "description": "Mon-Fri 9-5"},
        {"description": "Call ahead"},
    ]  # fmt: skip


def test_text_rows_read_original_text_with_or_without_a_weekday() -> None:
    """HSDS 1.x/2.0 rows with the hours only as text: the tabular reader leaves blank cells out,
    so the weekday is missing, but an empty string or a day with no times is read the same."""
    result = Normalised(doc={})
    rows = [
        {"original_text": "24 hours a day, 7 days a week"},
        {"weekday": "", "original_text": "M-F 9-5"},
        {"weekday": "Monday", "original_text": "Call for hours"},
        {"weekday": None, "description": "Mon, Wed 8:30-12", "original_text": "Mon, Wed 8:30-12"},
    ]
    assert _rows(result, rows) == [
        {"freq": "WEEKLY", "byday": EVERY_DAY, "opens_at": "00:00", "closes_at": "23:59",
         "description": "24 hours a day, 7 days a week"},
        {"freq": "WEEKLY", "byday": WEEKDAYS, "opens_at": "09:00", "closes_at": "17:00",
         "description": "M-F 9-5"},
        {"description": "Call for hours"},
        {"freq": "WEEKLY", "byday": "MO,WE", "opens_at": "08:30", "closes_at": "12:00",
         "description": "Mon, Wed 8:30-12"},
    ]  # fmt: skip
    assert result.warnings == []
    assert result.tallies == {"hours: rows": 4, "hours: parsed": 3, "hours: text": 1}


def test_description_and_original_text_are_both_kept() -> None:
    """Whichever of the two reads as hours is parsed; neither text is lost."""
    result = Normalised(doc={})
    found = _rows(result, [{"description": "Walk-in clinic", "original_text": "Mon-Fri 9-5"}])
    assert [(s["byday"], s["opens_at"], s["closes_at"]) for s in found] == [
        (WEEKDAYS, "09:00", "17:00")
    ]
    assert found[0]["description"] == "Walk-in clinic\nMon-Fri 9-5"
    result = Normalised(doc={})
    assert _rows(result, [{"description": "Varies", "original_text": "By appointment"}]) == [
        {"description": "Varies\nBy appointment"}
    ]
    assert result.tallies["hours: text"] == 1


def test_tallies_count_how_each_row_was_kept() -> None:
    result = Normalised(doc={})
    rows = [
        {"weekday": "Monday", "opens_at": "9:00", "closes_at": "17:00"},
        {"weekday": "Tuesday", "opens_at": "9:00", "closes_at": "17:00"},
        {"weekday": "Sunday"},  # HSDS 1.x: no times, closed that day
        {"weekday": "Funday", "opens_at": "9:00"},  # dropped, warned
        {"freq": "WEEKLY", "byday": "SA", "opens_at": "10:00", "closes_at": "14:00"},
        {"opens_at": "10:00"},  # no frequency, no text: dropped, warned
        {"description": "Sat 10-2"},
        {"original_text": "By appointment"},
        {"id": "row-with-nothing"},  # dropped, warned
    ]
    found = _rows(result, rows)
    assert len(found) == 4
    assert result.tallies == {
        "hours: rows": 9,
        "hours: structured": 3,
        "hours: closed days": 1,
        "hours: parsed": 1,
        "hours: text": 1,
    }
    assert len(result.warnings) == 3
    assert "no days, times or text" in result.warnings[-1][1]


def test_no_rows_no_tallies() -> None:
    result = Normalised(doc={})
    assert schedules_from_rows([], result, "schedules") == []
    assert result.tallies == {}


def _holidays(result: Normalised, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    found = holiday_schedules(rows, result, "schedules")
    for schedule in found:
        ScheduleIn.model_validate(schedule)
        assert "freq" not in schedule  # never read as weekly opening hours
    return found


def test_holiday_closures_and_special_hours() -> None:
    """As the HSDS 1.x sample package writes them: closed true/false, times only when open."""
    result = Normalised(doc={})
    rows = [
        {"closed": "true", "start_date": "2019-12-24", "end_date": "2019-12-26"},
        {"closed": "TRUE", "start_date": "2020-01-01", "end_date": "2020-01-01"},
        {"closed": "false", "opens_at": "10:00", "closes_at": "14:00",
         "start_date": "2019-12-24", "end_date": "2019-12-24"},
        {"closed": False, "opens_at": "09:00:00", "closes_at": "12:00:00",
         "start_date": "2019-11-28", "end_date": "2019-11-29"},
    ]  # fmt: skip
    assert _holidays(result, rows) == [
        {"valid_from": "2019-12-24", "valid_to": "2019-12-26",
         "description": "Closed 2019-12-24 to 2019-12-26"},
        {"valid_from": "2020-01-01", "valid_to": "2020-01-01",
         "description": "Closed on 2020-01-01"},
        {"valid_from": "2019-12-24", "valid_to": "2019-12-24", "opens_at": "10:00",
         "closes_at": "14:00", "description": "Open 10:00-14:00 on 2019-12-24"},
        {"valid_from": "2019-11-28", "valid_to": "2019-11-29", "opens_at": "09:00",
         "closes_at": "12:00", "description": "Open 09:00-12:00 from 2019-11-28 to 2019-11-29"},
    ]  # fmt: skip
    assert result.warnings == []
    assert result.tallies == {"hours: holiday": 4}


def test_holiday_rows_that_cannot_be_read_are_dropped_with_warnings() -> None:
    result = Normalised(doc={})
    rows = [
        {"closed": "true", "start_date": "24/12/2019", "end_date": "26/12/2019"},
        {"closed": "true", "start_date": "2019-12-24"},  # until when?
        {"closed": "true", "start_date": "2019-12-26", "end_date": "2019-12-24"},
        {"closed": "false", "start_date": "2019-12-24", "end_date": "2019-12-24"},  # no hours
        {"closed": "false", "opens_at": "ten", "closes_at": "14:00",
         "start_date": "2019-12-24", "end_date": "2019-12-24"},
    ]  # fmt: skip
    assert _holidays(result, rows) == []
    assert len(result.warnings) == 5
    assert "hours: holiday" not in result.tallies


def test_holiday_closed_wins_over_its_hours() -> None:
    result = Normalised(doc={})
    row = {"closed": "true", "opens_at": "10:00", "closes_at": "14:00",
           "start_date": "2019-12-24", "end_date": "2019-12-24"}  # fmt: skip
    assert _holidays(result, [row]) == [
        {
            "valid_from": "2019-12-24",
            "valid_to": "2019-12-24",
            "description": "Closed on 2019-12-24",
        }
    ]
    assert result.warnings == [
        ("schedules", "holiday closed all day, its hours ignored: 10:00-14:00")
    ]


def test_holiday_sample_package_row(datasets_dir: Path) -> None:
    with (datasets_dir / "hsds1-sample-package" / "holiday_schedules.csv").open() as file:
        rows = [{k: v for k, v in row.items() if v} for row in csv.DictReader(file)]
    result = Normalised(doc={})
    assert _holidays(result, rows) == [
        {"valid_from": "2019-12-24", "valid_to": "2019-12-26",
         "description": "Closed 2019-12-24 to 2019-12-26"}
    ]  # fmt: skip


def test_a_note_on_a_weekday_row_stays_with_its_days() -> None:
    rows = [
        {"weekday": "Monday", "opens_at": "9:00", "closes_at": "17:00"},
        {"weekday": "Tuesday", "opens_at": "9:00", "closes_at": "17:00"},
        {
            "weekday": "Wednesday",
            "opens_at": "9:00",
            "closes_at": "17:00",
            "description": "Walk-in",
        },
    ]
    result = Normalised({})
    assert schedules_from_rows(rows, result, "schedules") == [
        {"freq": "WEEKLY", "byday": "MO,TU", "opens_at": "09:00", "closes_at": "17:00"},
        {
            "freq": "WEEKLY",
            "byday": "WE",
            "opens_at": "09:00",
            "closes_at": "17:00",
            "description": "Walk-in",
        },
    ]
