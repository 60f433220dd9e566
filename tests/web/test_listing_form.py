"""The listing editor's form and documents (no database): every field round-trips, the hours
editor writes schedules in one form, problems land on the field that caused them, rows are
added and removed without saving; and the three-way comparison of a stale editor."""

from __future__ import annotations

from typing import Any

import pytest

from directory.web.listing_form import canonical, form_document, form_values
from directory.web.listing_form_errors import FormInvalid, parse, rows_changed
from directory.web.listing_form_hours import hours_schedules, hours_values
from directory.web.listing_merge import Clash, changes, describe, merge, seal, settle, unseal


def _weekly(days: str, opens: str, closes: str, text: str | None) -> dict[str, Any]:
    return {
        "freq": "WEEKLY",
        "byday": days,
        "opens_at": opens,
        "closes_at": closes,
        "timezone": "America/New_York",
        "description": text,
    }


def _whole() -> dict[str, Any]:
    """A listing using every field the editor holds."""
    closure = {
        "freq": "DAILY",
        "valid_from": "2026-12-24",
        "valid_to": "2026-12-26",
        "timezone": "America/New_York",
        "description": "Closed for the holidays",
    }
    special = {
        **closure,
        "valid_from": "2026-12-31",
        "valid_to": "2026-12-31",
        "opens_at": "10:00",
        "closes_at": "14:00",
        "description": "Short day",
    }
    text = "Mon-Fri 9-5, Sat mornings"
    site = {
        "name": "Main office",
        "location_type": "physical",
        "description": "Second floor",
        "transportation": "Bus 4",
        "latitude": 27.9506,
        "longitude": -82.4572,
        "coordinates_approximate": True,
        "address": {
            "attention": "Front desk",
            "address_1": "100 Main St",
            "address_2": "Suite 2",
            "city": "Tampa",
            "region": "Hillsborough",
            "state_province": "FL",
            "postal_code": "33602",
            "country": "US",
            "address_type": "physical",
        },
        "accessibility": [
            {"code": "wheelchair", "details": "Ramp at the side", "url": "https://example.org/a"},
            {"code": "elevator", "details": None, "url": None},
        ],
        "phones": [{"number": "(813) 555-0100", "type": "voice", "extension": "12"}],
        "schedules": [
            _weekly("MO,TU,WE,TH,FR", "09:00", "12:00", None),
            _weekly("MO,TU,WE,TH,FR", "13:00", "17:00", None),
        ],
    }
    return {
        "name": "Peer Support Line",
        "alternate_name": "PSL",
        "description": "Peers who listen.",
        "url": "https://example.org/psl",
        "email": "psl@example.org",
        "status": "temporarily closed",
        "curation_status": "draft",
        "interpretation_services": "Any language by phone",
        "application_process": "Call us",
        "fees_description": "None",
        "eligibility_description": "Adults in Florida",
        "minimum_age": 18,
        "maximum_age": 99,
        "alert": "Moving in May",
        "capacity_status": "waitlist",
        "organization": {
            "name": "Peers Inc.",
            "alternate_name": "Peers",
            "description": "A peer-run nonprofit",
            "email": "hello@example.org",
            "url": "https://example.org/",
        },
        "needs": ["anxiety", "peer-support"],
        "languages": [{"code": "es", "note": "Tuesdays"}, {"code": "ase"}],
        "phones": [
            {"number": "(813) 555-0199", "type": "text", "description": "Text line"},
            {"number": "+52 55 1234 5678", "country": "MX", "type": "voice"},
        ],
        "service_areas": [
            {"name": "Tampa Bay", "description": "Two counties", "regions": ["US-FL"]},
        ],
        "cost_options": [
            {"option": "free", "amount_description": "For everyone"},
            {"option": "self-pay", "amount": "25.00", "currency": "USD"},
            {"option": "barter", "amount_description": "Local custom"},
        ],
        "schedules": [
            _weekly("MO,TU,WE,TH,FR", "09:00", "17:00", text),
            _weekly("SA", "09:00", "12:00", text),
            closure,
            special,
        ],
        "locations": [site, {"name": "Online", "location_type": "virtual"}],
    }


def test_every_field_round_trips_through_the_form() -> None:
    doc = canonical(_whole(), create=True)
    fields = form_values(doc)
    back, errors, _ = form_document(fields)
    assert errors == {}
    assert canonical(back, create=True) == doc
    assert fields["phone-1-country"] == "MX"
    assert fields["site-0-hours-MO-2-opens"] == "13:00"
    assert fields["hours-SU-closed"] == "on"
    assert fields["hours-exc-0-closed"] == "on"
    assert fields["need-peer-support"] == "on"


def test_an_update_leaves_out_what_it_cannot_change() -> None:
    doc = canonical(_whole(), create=False)
    assert "organization" not in doc and "curation_status" not in doc
    back, _, _ = form_document(form_values(doc))
    assert canonical(back, create=False) == doc


def test_the_hours_grid_groups_days_by_period() -> None:
    form = {
        "hours-tz": "America/Chicago",
        "hours-MO-1-opens": "9:00",
        "hours-MO-1-closes": "17:00",
        "hours-TU-1-opens": "13:00",
        "hours-TU-1-closes": "17:00",
        "hours-TU-2-opens": "09:00",
        "hours-TU-2-closes": "12:00",
        "hours-WE-1-opens": "09:00",
        "hours-WE-1-closes": "17:00",
    }
    errors: dict[str, str] = {}
    schedules = hours_schedules("hours", form, errors)
    assert errors == {}
    assert [(s["byday"], s["opens_at"], s["closes_at"]) for s in schedules] == [
        ("MO,WE", "09:00", "17:00"),
        ("TU", "09:00", "12:00"),
        ("TU", "13:00", "17:00"),
    ]
    assert {s["timezone"] for s in schedules} == {"America/Chicago"}
    shown = hours_values("hours", schedules)
    assert shown["hours-TU-1-opens"] == "09:00" and shown["hours-TU-2-opens"] == "13:00"
    assert shown["hours-TH-closed"] == "on"


def test_text_alone_is_a_schedule_of_its_own() -> None:
    schedules = hours_schedules("hours", {"hours-text": "By appointment"}, {})
    assert schedules == [{"description": "By appointment", "timezone": None}]
    assert hours_values("hours", schedules)["hours-text"] == "By appointment"


@pytest.mark.parametrize(
    ("fields", "name"),
    [
        ({"hours-MO-1-opens": "09:00"}, "hours-MO-1-closes"),
        ({"hours-MO-1-opens": "9am", "hours-MO-1-closes": "17:00"}, "hours-MO-1-opens"),
        (
            {"hours-MO-closed": "on", "hours-MO-1-opens": "09:00", "hours-MO-1-closes": "10:00"},
            "hours-MO-closed",
        ),
        ({"hours-exc-count": "1", "hours-exc-0-note": "Closed"}, "hours-exc-0-from"),
        (
            {
                "hours-exc-count": "1",
                "hours-exc-0-from": "2026-05-02",
                "hours-exc-0-to": "2026-05-01",
            },
            "hours-exc-0-to",
        ),
        ({"hours-exc-count": "1", "hours-exc-0-from": "May 2"}, "hours-exc-0-from"),
    ],
)
def test_hours_problems_name_their_field(fields: dict[str, str], name: str) -> None:
    errors: dict[str, str] = {}
    hours_schedules("hours", fields, errors)
    assert name in errors


def _posted(**changes: str) -> dict[str, str]:
    return {**form_values(canonical(_whole(), create=True)), **changes}


@pytest.mark.parametrize(
    ("changes", "name"),
    [
        ({"name": ""}, "name"),
        ({"minimum_age": "eighteen"}, "minimum_age"),
        ({"minimum_age": "200"}, "minimum_age"),
        ({"url": "not a site"}, "url"),
        ({"org-name": ""}, "org-name"),
        ({"lang-1-code": "xx"}, "lang-1-code"),
        ({"phone-0-number": "12"}, "phone-0-number"),
        ({"phone-1-country": "ZZ"}, "phone-1-country"),
        ({"area-0-regions": "US-XX"}, "area-0-regions"),
        ({"site-0-latitude": "north"}, "site-0-latitude"),
        ({"site-0-longitude": ""}, "site-0-latitude"),
        ({"site-0-postal_code": "1" * 20}, "site-0-postal_code"),
        ({"site-0-phone-0-number": "abc"}, "site-0-phone-0-number"),
        ({"cost-1-on": "on", "cost-1-amount": "a lot"}, "costs"),
        ({"hours-tz": "Mars/Olympus"}, "hours"),
    ],
)
def test_a_problem_lands_on_its_field(changes: dict[str, str], name: str) -> None:
    with pytest.raises(FormInvalid) as raised:
        parse(_posted(**changes), create=True)
    assert name in raised.value.errors, raised.value.errors


def test_a_problem_in_a_row_after_a_blank_one_names_its_own_row() -> None:
    fields = _posted(**{"phone-count": "3", "phone-0-number": "", "phone-0-description": ""})
    fields["phone-2-number"] = "nope"
    with pytest.raises(FormInvalid) as raised:
        parse(fields, create=True)
    assert set(raised.value.errors) == {"phone-2-number"}


def test_blank_rows_are_left_out() -> None:
    fields = rows_changed({**_posted(), "add": "site"})
    assert fields is not None and fields["site-count"] == "3"
    assert fields["site-2-hours-tz"] == "America/New_York"  # the service's time zone
    fields = rows_changed({**fields, "add": "site-0-phone"})
    assert fields is not None and fields["site-0-phone-1-country"] == "US"
    assert parse(fields, create=True) == canonical(_whole(), create=True)


def test_a_removed_row_moves_the_next_ones_up() -> None:
    fields = rows_changed({**_posted(), "remove": "site-0", "csrf": "x"})
    assert fields is not None and "csrf" not in fields
    assert fields["site-count"] == "1" and fields["site-0-name"] == "Online"
    assert parse(fields, create=True)["locations"] == [
        canonical(_whole(), create=True)["locations"][1]
    ]
    assert rows_changed({**_posted(), "add": "bogus"}) is None
    assert rows_changed(_posted()) is None


# ---- the three-way comparison ----------------------------------------------------------------

SEEN = {"phones": ["1"], "description": "old", "email": "a@x.org", "name": "N"}


def test_my_changes_apply_and_theirs_stay() -> None:
    current = {**SEEN, "email": "b@x.org"}
    mine = {**SEEN, "description": "mine"}
    found = merge(SEEN, current, mine)
    assert found.clashes == []
    assert found.theirs == ["email"]
    assert found.document == {**SEEN, "email": "b@x.org", "description": "mine"}
    assert changes(current, found.document) == {"description": "mine"}


def test_both_changed_the_same_field_differently() -> None:
    current = {**SEEN, "phones": ["2"]}
    mine = {**SEEN, "phones": ["3"], "description": "mine"}
    found = merge(SEEN, current, mine)
    assert found.clashes == [Clash("phones", ["1"], ["2"], ["3"])]
    assert found.document["phones"] == ["3"] and found.document["description"] == "mine"
    taken = settle(current, found.document, {"phones": "theirs"})
    assert changes(current, taken) == {"description": "mine"}
    kept = settle(current, found.document, {"phones": "mine"})
    assert changes(current, kept) == {"phones": ["3"], "description": "mine"}


def test_the_same_change_on_both_sides_is_no_clash() -> None:
    both = {**SEEN, "name": "M"}
    assert merge(SEEN, both, both).clashes == []


def test_the_seen_document_travels_in_the_form() -> None:
    doc = canonical(_whole(), create=False)
    assert unseal(seal(doc)) == doc
    assert unseal("not base64!") is None
    assert unseal(seal(["a list"])) is None  # type: ignore[arg-type]
    assert unseal(None) is None


def test_values_read_as_one_line() -> None:
    assert describe([{"number": "(813) 555-0100", "extension": None}, {"number": "2"}]) == (
        "(813) 555-0100; 2"
    )
    assert describe(None) == "" and describe(18) == "18"


def test_hours_read_without_their_codes() -> None:
    hours = {"freq": "WEEKLY", "byday": "MO", "opens_at": "09:00:00", "closes_at": "17:00:00"}
    assert describe([{**hours, "timezone": "America/New_York"}]) == "MO, 09:00, 17:00"


def test_numbers_in_form_fields_never_become_server_errors() -> None:
    """ "²" passes ``str.isdigit`` and 5,000 digits pass it too; neither reaches ``int``."""
    from directory.web.forms import whole_number
    from directory.web.listing_form_errors import rows_changed

    assert whole_number("12", most=100) == 12
    assert [whole_number(t, most=100) for t in ("²", "٣", "101", "-1", "", None, "9" * 5000)] == [
        None
    ] * 7
    assert rows_changed({"remove": "phone-" + "9" * 5000}) is None
    assert rows_changed({"remove": "phone-٣"}) is None
    assert rows_changed({"remove": "phone-1", "phone-count": "²"}) is not None
