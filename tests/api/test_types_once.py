"""One need code, one cost vocabulary: a listing, a referral, a listing filter and a search
agree on what they take."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.api.test_services import create
from tests.referrals.conftest import body, member


def test_a_need_code_in_capitals_means_the_same_to_a_listing_and_a_referral(
    client: TestClient, session: Session, coordinator: dict[str, str]
) -> None:
    made = create(client, coordinator, needs=["Anxiety", " grief "])
    assert {n["code"] for n in made["needs"]} == {"anxiety", "grief"}
    mentor = member(session, "mentor", "Harbor Peers")
    listed = client.get("/v1/services", params={"need": "Grief"}, headers=mentor)
    assert listed.status_code == 200, listed.text
    assert made["id"] in {item["id"] for item in listed.json()["items"]}
    referral = client.post(
        "/v1/referrals", json=body(made["id"], needs=["Anxiety"]), headers=mentor
    )
    assert referral.status_code == 201, referral.text
    assert referral.json()["needs"] == ["anxiety"]
    mine = client.get("/v1/referrals", params={"need": "ANXIETY"}, headers=mentor)
    assert mine.status_code == 200 and mine.json()["total"] == 1, mine.text


def test_a_malformed_need_code_is_refused_by_both(
    client: TestClient, session: Session, coordinator: dict[str, str]
) -> None:
    made = create(client, coordinator)
    response = client.patch(
        f"/v1/services/{made['id']}",
        json={"needs": ["anxiety!"]},
        headers={**coordinator, "If-Match": '"1"'},
    )
    assert response.status_code == 422 and response.json()["field"] == "needs.0", response.text
    mentor = member(session, "mentor", "Harbor Peers")
    referral = client.post(
        "/v1/referrals", json=body(made["id"], needs=["anxiety!"]), headers=mentor
    )
    assert referral.status_code == 422 and referral.json()["field"] == "needs.0", referral.text


def test_an_unknown_cost_option_is_a_422_like_an_unknown_need(
    client: TestClient, mentor: dict[str, str]
) -> None:
    asked = (
        client.get("/v1/search", params={"cost": "gold-bars"}, headers=mentor),
        client.post("/v1/search", json={"cost": ["free", "gold-bars"]}, headers=mentor),
    )
    for response in asked:
        assert response.status_code == 422, response.text
        assert response.json()["field"] == "cost" and "gold-bars" in response.json()["detail"]
    need = client.get("/v1/search", params={"need": "no-such-need"}, headers=mentor)
    assert need.status_code == 422 and need.json()["field"] == "need"
    known = client.get("/v1/search", params={"cost": "free,medicare"}, headers=mentor)
    assert known.status_code == 200, known.text


def test_a_search_reads_need_codes_and_costs_as_listings_do(
    client: TestClient, session: Session, coordinator: dict[str, str]
) -> None:
    """A search's ``need=Anxiety`` is ``anxiety`` (it was a 422); an unknown cost on the search
    page is a message, as in the API (the check is the search service's, not a route's)."""
    from tests.web.webutil import sign_up

    mentor = member(session, "mentor", "Harbor Peers")
    found = client.get(
        "/v1/search", params={"need": "Anxiety", "postcode": "33602"}, headers=mentor
    )
    assert found.status_code == 200, found.text
    assert client.get("/v1/search", params={"cost": "Free"}, headers=mentor).status_code == 200
    sign_up(client, session)
    page = client.get("/search", params={"q": "peer", "cost": "barter-only"})
    assert page.status_code in (200, 422) and "unknown cost option" in page.text
