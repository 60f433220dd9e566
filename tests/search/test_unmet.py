"""Unmet needs: searches that found nothing are counted by need and area, never by their words,
and coordinators read the counts."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from directory.search import service
from directory.search.models import UnmetSearch
from directory.search.query import SearchQuery


def test_a_search_that_finds_nothing_is_counted_by_need_and_area(
    client: TestClient, session: Session, coordinator: dict[str, str], mentor: dict[str, str]
) -> None:
    words = "zyxwq grief group"  # a need named, and a word nothing has
    for _ in range(2):
        found = service.search(
            session, SearchQuery(q=words, postcode="99950", radius_km=1, need=["housing"])
        )
        assert found.total == 0
    service.search(session, SearchQuery(q="qqqqzz"))  # no need, no place
    service.search(session, SearchQuery(q="qqqqzz", page=2))  # a later page: not again
    assert service.search(session, SearchQuery(q="988")).total > 0  # found: not counted
    session.commit()
    rows = {(r.need, r.area): r.searches for r in session.scalars(select(UnmetSearch))}
    assert rows[("housing", "US-AK")] == 2
    assert rows[("support-groups", "US-AK")] == 2  # named by "grief group"...
    assert rows[("grief", "US-AK")] == 2  # ...both of its needs
    assert rows[("-", "-")] == 1
    stored = " ".join(f"{r.need} {r.area}" for r in session.scalars(select(UnmetSearch)))
    assert "zyxwq" not in stored and "qqqqzz" not in stored  # never the words typed

    report = client.get("/v1/reports/unmet-needs", headers=coordinator)
    assert report.status_code == 200, report.text
    first = report.json()[0]
    assert first["searches"] == 2 and first["area"] == "US-AK"
    assert client.get("/v1/reports/unmet-needs", headers=mentor).status_code == 403
    assert client.get("/v1/reports/unmet-needs?days=0", headers=coordinator).status_code == 422
