"""Cards and listing pages say whether a service takes new clients (and since when), how long
ago it was verified, and mark it stale past ``DIRECTORY_STALE_AFTER_DAYS``, in English and in
Spanish; the search page filters on "Accepting new clients"."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import update
from sqlalchemy.orm import Session

from directory.listings.models import Service
from directory.listings.schemas import ServiceCreate
from directory.listings.service import create_service
from directory.search import postgres_words
from directory.search.sync import sync_batch
from tests.web.webutil import sign_up

CARD = re.compile(r'<li class="card">.*?</li>', re.S)
TAMPA = (27.99, -82.46)
HEARD = dt.datetime(2026, 11, 20, 15, 0, tzinfo=dt.UTC)  # Nov 20, 2026 in Tampa too


def listing(
    session: Session, key: str, *, verified_days_ago: int | None, **values: Any
) -> uuid.UUID:
    doc = {
        "name": f"Numbatfinch {key}",
        "curation_status": "published",
        "organization": {"name": f"Org {key}"},
        "needs": ["peer-support"],
        "locations": [{"latitude": TAMPA[0], "longitude": TAMPA[1]}],
        "provenance": {"source": "test", "external_id": f"stale-{key}"},
    }
    service_id = create_service(session, ServiceCreate.model_validate(doc))
    if verified_days_ago is not None:
        ago = dt.timedelta(days=verified_days_ago)
        values["last_verified_at"] = dt.datetime.now(dt.UTC) - ago
    if values:
        session.execute(update(Service).where(Service.id == service_id).values(**values))
    return service_id


def listings(session: Session) -> dict[str, uuid.UUID]:
    ids = {
        "fresh": listing(
            session,
            "fresh",
            verified_days_ago=10,
            capacity_status="accepting",
            capacity_updated_at=HEARD,
            verification_method="phone",
            verification_note="Front desk confirmed walk-in hours",
        ),
        "months": listing(session, "months", verified_days_ago=40, capacity_status="waitlist"),
        "edge": listing(session, "edge", verified_days_ago=179, capacity_status="full"),
        "stale": listing(session, "stale", verified_days_ago=200, capacity_status="unknown"),
        "never": listing(session, "never", verified_days_ago=None),
    }
    sync_batch(session)
    postgres_words.forget()
    return ids


def cards(client: TestClient, extra: str = "") -> dict[str, str]:
    page = client.get(f"/search?q=numbatfinch&postcode=33602{extra}")
    assert page.status_code == 200
    found = CARD.findall(page.text)
    return {key: card for card in found for key in re.findall(r"Numbatfinch (\w+)", card)}


def text(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def test_cards_say_capacity_and_verification_age_in_english(
    client: TestClient, session: Session
) -> None:
    listings(session)
    sign_up(client, session)
    found = {key: text(card) for key, card in cards(client).items()}
    assert "Accepting new clients (as of Nov 20, 2026)" in found["fresh"]
    assert "Verified less than a month ago" in found["fresh"]
    assert "Waitlist" in found["months"] and "as of" not in found["months"]
    assert "Verified 1 month ago" in found["months"]
    assert "Not accepting new clients right now" in found["edge"]
    assert "Verified 5 months ago" in found["edge"]
    assert "Verified 6 months ago Stale: check it before you refer" in found["stale"]
    assert "Not verified yet" in found["never"]
    for key in ("fresh", "months", "edge", "never"):
        assert "Stale" not in found[key], key
    for key in ("stale", "never"):  # unknown, or never asked: nothing said
        assert "clients" not in found[key] and "Waitlist" not in found[key], key


def test_cards_say_it_in_spanish(client: TestClient, session: Session) -> None:
    listings(session)
    sign_up(client, session)
    client.get("/language/es?next=/search")
    found = {key: text(card) for key, card in cards(client).items()}
    assert "Acepta nuevos clientes (a fecha de 20 nov 2026)" in found["fresh"]
    assert "Verificado hace menos de un mes" in found["fresh"]
    assert "Lista de espera" in found["months"]
    assert "Verificado hace 1 mes" in found["months"]
    assert "No acepta nuevos clientes por ahora" in found["edge"]
    assert "Verificado hace 5 meses" in found["edge"]
    assert "Verificado hace 6 meses Desactualizado: compruébalo antes de derivar" in found["stale"]
    assert "Aún sin verificar" in found["never"]


def test_stale_follows_the_setting(client: TestClient, session: Session) -> None:
    listings(session)
    sign_up(client, session)
    settings = client.app.state.settings  # type: ignore[attr-defined]
    client.app.state.settings = settings.model_copy(update={"stale_after_days": 30})  # type: ignore[attr-defined]
    found = {key: text(card) for key, card in cards(client).items()}
    assert "Stale" not in found["fresh"]  # 10 days
    assert "Verified 1 month ago Stale" in found["months"]  # 40 days
    assert "Verified 5 months ago Stale" in found["edge"]


def test_the_listing_page_says_capacity_and_the_verification_date(
    client: TestClient, session: Session
) -> None:
    ids = listings(session)
    sign_up(client, session)
    fresh = text(client.get(f"/listings/{ids['fresh']}").text)
    assert "New clients Accepting new clients (as of Nov 20, 2026)" in fresh
    assert re.search(
        r"Last verified Verified less than a month ago \(\w+ \d+, \d{4}\) by a phone call", fresh
    )
    assert "Front desk" not in fresh  # the note is for the console (who checked, with whom)
    stale = text(client.get(f"/listings/{ids['stale']}").text)
    assert "New clients" not in stale
    assert re.search(r"Verified 6 months ago \(\w+ \d+, \d{4}\) Stale: check it", stale)
    never = text(client.get(f"/listings/{ids['never']}").text)
    assert "Last verified Not verified yet" in never and "Stale" not in never


def test_the_accepting_filter_on_the_search_page(client: TestClient, session: Session) -> None:
    listings(session)
    sign_up(client, session)
    page = client.get("/search")
    assert re.search(
        r'<input type="checkbox" name="accepting" value="true">\s*Accepting', page.text
    )
    kept = cards(client, "&accepting=true")
    assert sorted(kept) == ["fresh", "never", "stale"]  # waitlist and full left out
    checked = client.get("/search?q=numbatfinch&postcode=33602&accepting=true").text
    assert 'name="accepting" value="true" checked' in checked
    assert sorted(cards(client)) == ["edge", "fresh", "months", "never", "stale"]
