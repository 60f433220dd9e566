"""A listing's lists are bounded far above any real listing: a document past a bound is a 422
naming the list, and the largest listing allowed still reads back in a bounded size."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from directory.listings.schemas import MAX_ITEMS
from tests.api.test_services import listing


def _phones(count: int) -> list[dict[str, Any]]:
    return [{"number": f"813-555-{100 + i % 100:04d}", "country": "US"} for i in range(count)]


def _site(index: int, phones: int = 1) -> dict[str, Any]:
    return {
        "name": f"Site {index}",
        "latitude": 27.9 + index / 1000,
        "longitude": -82.45,
        "phones": _phones(phones),
    }


def _with_items(field: str, count: int) -> dict[str, Any]:
    """A listing whose list ``field`` (a dotted path for a site's lists) has ``count`` items."""
    one = {
        "needs": lambda i: "anxiety",
        "languages": lambda i: {"code": "en"},
        "phones": lambda i: _phones(1)[0],
        "schedules": lambda i: {"description": f"Hours {i}"},
        "locations": lambda i: _site(i),
        "service_areas": lambda i: {"name": f"Area {i}"},
        "cost_options": lambda i: {"option": f"option-{i}"},
        "crisis_channels": lambda i: {"channel": "chat", "url": f"https://example.org/{i}"},
        "contacts": lambda i: {"name": f"Desk {i}"},
        "locations.phones": lambda i: _phones(1)[0],
        "locations.schedules": lambda i: {"description": f"Hours {i}"},
        "locations.accessibility": lambda i: {"code": "wheelchair"},
        "contacts.phones": lambda i: _phones(1)[0],
        "service_areas.regions": lambda i: "US-FL",
    }[field]
    items = [one(i) for i in range(count)]
    head, _, tail = field.partition(".")
    if not tail:
        return listing(**{head: items})
    parent = {"locations": _site(0), "contacts": {"name": "Desk"}, "service_areas": {"name": "A"}}
    return listing(**{head: [{**parent[head], tail: items}]})


def test_the_abusive_listing_is_refused(client: TestClient, coordinator: dict[str, str]) -> None:
    doc = listing(locations=[_site(i, phones=50) for i in range(200)])
    response = client.post("/v1/services", json=doc, headers=coordinator)
    assert response.status_code == 422, response.status_code
    fields = {f["field"] for f in response.json()["fields"]}
    assert "locations" in fields


@pytest.mark.parametrize("field", sorted(MAX_ITEMS))
def test_one_item_past_each_bound_is_a_422_naming_the_list(
    client: TestClient, coordinator: dict[str, str], field: str
) -> None:
    response = client.post(
        "/v1/services", json=_with_items(field, MAX_ITEMS[field] + 1), headers=coordinator
    )
    assert response.status_code == 422, response.text
    head, _, tail = field.partition(".")
    expected = f"{head}.0.{tail}" if tail else head
    assert response.json()["field"] == expected
    assert "at most" in response.json()["detail"]


def test_the_largest_listing_allowed_reads_back_bounded(
    client: TestClient, coordinator: dict[str, str]
) -> None:
    sites = [
        {**_site(i, phones=MAX_ITEMS["locations.phones"])} for i in range(MAX_ITEMS["locations"])
    ]
    doc = listing(locations=sites, phones=_phones(MAX_ITEMS["phones"]))
    made = client.post("/v1/services", json=doc, headers=coordinator)
    assert made.status_code == 201, made.text
    read = client.get(f"/v1/services/{made.json()['id']}", headers=coordinator)
    assert read.status_code == 200
    # measured 236 KB (200 sites x 50 phones read 2.3 MB before the bounds)
    assert len(read.content) < 300_000, len(read.content)
