"""The search page's cards say when a distance is measured to a ZIP code's centre (the listing's
address had no point of its own), in English and in Spanish."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from directory.geo import zip_centroid
from directory.listings.schemas import ServiceCreate
from directory.listings.service import create_service
from directory.search import postgres_words
from directory.search.sync import sync_batch
from tests.web.webutil import sign_up

DOWNTOWN_TAMPA_ZIP = "33602"
CARD = re.compile(r'<li class="card">.*?</li>', re.S)


def listing(
    session: Session, key: str, *, approximate: bool, point: tuple[float, float] = (27.99, -82.46)
) -> None:
    doc = {
        "name": f"Quokkafinch {key}",
        "curation_status": "published",
        "organization": {"name": f"Org {key}"},
        "needs": ["peer-support"],
        "locations": [
            {"latitude": point[0], "longitude": point[1], "coordinates_approximate": approximate}
        ],
        "provenance": {"source": "test", "external_id": key},
    }
    create_service(session, ServiceCreate.model_validate(doc))


def cards(client: TestClient) -> dict[str, str]:
    page = client.get(f"/search?q=quokkafinch&postcode={DOWNTOWN_TAMPA_ZIP}")
    assert page.status_code == 200
    found = CARD.findall(page.text)
    return {name: card for card in found for name in re.findall(r"Quokkafinch \w+", card)}


def test_a_card_says_its_distance_is_to_the_zip_centre(
    client: TestClient, session: Session
) -> None:
    listing(session, "centre", approximate=True)
    listing(session, "exact", approximate=False)
    here = zip_centroid(session, DOWNTOWN_TAMPA_ZIP) or (0, 0)
    listing(session, "here", approximate=True, point=here)
    sync_batch(session)
    postgres_words.forget()
    sign_up(client, session)
    english = cards(client)
    assert re.search(r"About \d+\.\d+ km away", english["Quokkafinch centre"])
    assert "centre of its ZIP code" in english["Quokkafinch centre"]
    assert "ZIP code" not in english["Quokkafinch exact"]
    assert re.search(r"\d+\.\d+ km away", english["Quokkafinch exact"])
    # the searcher's own ZIP centre: "0.0 km" would say more than anyone knows
    assert "In or near your ZIP code area" in english["Quokkafinch here"]
    client.get("/language/es?next=/search")
    spanish = cards(client)
    assert re.search(r"A unos \d+[.,]\d+ km", spanish["Quokkafinch centre"])
    assert "centro de su código postal" in spanish["Quokkafinch centre"]
    assert "código postal" not in spanish["Quokkafinch exact"]
    assert "En su zona de código postal" in spanish["Quokkafinch here"]
