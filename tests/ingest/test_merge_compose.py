"""The merge rule and composition, on small hand-made cases."""

from __future__ import annotations

import uuid
from collections import Counter
from typing import Any

from directory.ingest.compose import compose
from directory.ingest.merge import (
    SAME_FILE,
    SAME_SOURCE,
    Candidate,
    Known,
    Merger,
    comparable,
    keys,
    repeat_id,
    street,
)
from directory.listings.schemas import ServiceCreate


def doc(
    name: str,
    address_1: str,
    phone: str = "(813) 555-0101",
    *,
    address_2: str | None = None,
    organization: str | None = None,
) -> ServiceCreate:
    address = {"address_1": address_1 or None, "address_2": address_2, "postal_code": "33602"}
    return ServiceCreate.model_validate(
        {
            "name": name,
            "organization": {"name": organization or name},
            "phones": [{"number": phone}],
            "locations": [{"address": address}],
        }
    )


def merger(*candidates: tuple[str, str, str]) -> tuple[Merger, list[uuid.UUID]]:
    found = Merger("b", "samhsa")
    ids = []
    for name, address_1, e164 in candidates:
        ids.append(uuid.uuid4())
        found.by_zip.setdefault("33602", []).append(
            Candidate(ids[-1], comparable(name), {e164}, {street(address_1)})
        )
    return found, ids


def test_same_name_street_and_zip_merge() -> None:
    found, ids = merger(("Bay Clinic Inc", "1 Main St", "+18135559999"))
    assert found.find(doc("Bay Clinic", "1 Main St.")) == (ids[0], "name 100 + ZIP + street")


def test_a_shared_phone_does_not_merge_sites_on_other_streets() -> None:
    found, _ = merger(("Bay Clinic", "9 Other Rd", "+18135550101"))
    assert found.find(doc("Bay Clinic", "1 Main St")) is None


def test_the_street_match_wins_over_a_sister_site_sharing_the_phone() -> None:
    found, ids = merger(("Bay Clinic", "", "+18135550101"), ("Bay Clinic", "1 Main St", "+1"))
    assert found.find(doc("Bay Clinic", "1 Main St"))[0] == ids[1]  # type: ignore[index]


def test_different_names_at_one_address_never_merge() -> None:
    found, _ = merger(("Harbor Detox Unit", "1 Main St", "+18135550101"))
    assert found.find(doc("Bay Youth Counseling", "1 Main St")) is None


def test_a_tie_is_ambiguous_and_a_listing_is_claimed_once() -> None:
    found, _ = merger(("Bay Clinic", "", "+18135550101"), ("Bay Clinic", "", "+18135550101"))
    assert found.find(doc("Bay Clinic", "")) is None
    single, _ = merger(("Bay Clinic", "1 Main St", "+1"))
    assert single.find(doc("Bay Clinic", "1 Main St")) is not None
    assert single.find(doc("Bay Clinic", "1 Main St")) is None  # already taken


def test_one_document_composes_to_itself() -> None:
    sites: list[dict[str, Any]] = [
        {"name": "Main", "address": {"postal_code": "60601"}},
        {"name": "Annex", "address": {"postal_code": "60601"}},
    ]
    only = {
        "name": "X",
        "locations": sites,
        "cost_options": [{"option": "fee", "amount": 10}, {"option": "fee", "amount": 50}],
    }
    assert compose([only]) == only


def test_two_sources_unite_and_keep_exact_coordinates() -> None:
    locator = {
        "name": "Bay Clinic",
        "needs": ["mental-health"],
        "locations": [
            {"address": {"postal_code": "33602"}, "latitude": 27.95, "longitude": -82.45}
        ],
    }
    directory = {
        "name": "Bay Clinic Inc",
        "description": "Walk-in",
        "needs": ["crisis"],
        "locations": [
            {
                "address": {"postal_code": "33602"},
                "latitude": 27.9,
                "longitude": -82.4,
                "coordinates_approximate": True,
            }
        ],
    }
    both = compose([directory, locator])
    assert both["name"] == "Bay Clinic Inc" and both["description"] == "Walk-in"
    assert both["needs"] == ["crisis", "mental-health"]
    assert len(both["locations"]) == 1
    assert (both["locations"][0]["latitude"], both["locations"][0]["coordinates_approximate"]) == (
        27.95,
        False,
    )


def test_a_repeated_id_gets_a_number_in_the_order_met() -> None:
    seen: Counter[str] = Counter()
    ids = [repeat_id(i, seen) for i in ("h-a", "h-b", "h-a", "h-a")]
    assert ids == ["h-a", "h-b", "h-a#2", "h-a#3"]
    again: Counter[str] = Counter()
    assert [repeat_id(i, again) for i in ("h-a", "h-b", "h-a", "h-a")] == ids  # stable


def test_the_same_place_is_name_organization_both_streets_and_zip() -> None:
    found = Merger("b", None)
    listing = uuid.uuid4()
    found.remember(keys(doc("Bay Clinic Inc", "1 Main St", address_2="Suite 4")), listing, 7)
    same = [
        doc("BAY CLINIC", "1 main st.", "(813) 555-0199", address_2="suite 4"),
        doc("The Bay Clinic, LLC", "1 Main St", address_2="Suite 4", organization="Bay Clinic"),
    ]
    for twin in same:
        assert found.same_place(keys(twin)) == Known(listing, SAME_FILE, 7)
    other = [
        doc("Bay Clinic", "1 Main St", address_2="Suite 5"),  # another suite
        doc("Bay Clinic", "1 Main St"),
        doc("Bay Clinic", "1 Main Street", address_2="Suite 4"),  # spelled otherwise: not sure
        doc("Bay Youth Clinic", "1 Main St", address_2="Suite 4"),
        doc("Bay Clinic", "1 Main St", address_2="Suite 4", organization="Harbor Health"),
    ]
    assert [found.same_place(keys(d)) for d in other] == [None] * len(other)
    assert keys(doc("Bay Clinic", "")) == []  # no street: never matched by place


def test_what_the_file_says_wins_over_an_earlier_import() -> None:
    found = Merger("b", None)
    earlier, now = uuid.uuid4(), uuid.uuid4()
    (key,) = keys(doc("Bay Clinic", "1 Main St"))
    found.by_place[key] = Known(earlier, SAME_SOURCE)
    found.remember([key], now, 2)
    found.remember([key], uuid.uuid4(), 3)  # the first of the file stays
    assert found.same_place([key]) == Known(now, SAME_FILE, 2)


def test_identical_sites_without_a_zip_unite_and_different_ones_do_not() -> None:
    telehealth = {"name": "Telehealth", "location_type": "virtual"}
    first = {
        "name": "X",
        "locations": [dict(telehealth), {"name": "Hotline", "location_type": "virtual"}],
    }
    second = {"name": "X", "phones": [{"number": "988"}], "locations": [dict(telehealth)]}
    sites = compose([first, second])["locations"]
    assert [site["name"] for site in sites] == ["Telehealth", "Hotline"]
