"""The merge rule and composition, on small hand-made cases."""

from __future__ import annotations

import uuid
from typing import Any

from directory.ingest.compose import compose
from directory.ingest.merge import Candidate, Merger, comparable, street
from directory.listings.schemas import ServiceCreate


def doc(name: str, address_1: str, phone: str = "(813) 555-0101") -> ServiceCreate:
    return ServiceCreate.model_validate(
        {
            "name": name,
            "organization": {"name": name},
            "phones": [{"number": phone}],
            "locations": [{"address": {"address_1": address_1 or None, "postal_code": "33602"}}],
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
