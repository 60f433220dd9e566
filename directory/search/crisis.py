"""The crisis rule: the crisis lines that serve a searcher's place, in their language.

A crisis line is a published listing with crisis channels and an ``area`` document (it is
reached by phone, text or chat). A line serves a searcher when its regions include the
searcher's country or state. The country's own national line comes first (988 in the US),
then lines open around the clock, national before state, then by name. Demo listings are never
crisis lines: they are fictional. That is read from their provenance, not from the index, so an
index built before a listing was marked cannot bring one back.
"""

from __future__ import annotations

from typing import Any, Literal

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from directory.listings.demo import demo_services
from directory.listings.models import Provenance
from directory.search.models import SearchDocument, SearchResult
from directory.search.query import CrisisBlock, CrisisLine
from directory.search.vocabulary import vocabulary


def _lines(regions: list[str]) -> Select[Any]:
    """The crisis lines that serve any of these regions (demo listings never)."""
    d, shown = SearchDocument, SearchResult
    return (
        select(d.service_id, shown.body, d.regions, d.languages)
        .join(shown, shown.id == d.id)
        .where(
            d.kind == "area",
            func.jsonb_array_length(shown.body["crisis_channels"]) > 0,
            d.regions.overlap(regions),
            d.service_id.not_in(demo_services()),
        )
    )


def crisis_block(
    session: Session,
    *,
    reason: Literal["query", "need", "requested"],
    country: str,
    region: str | None,
    language: str | None,
) -> CrisisBlock:
    """The crisis lines for a place and language, best first."""
    regions = [r for r in (country, region) if r]
    rows = list(session.execute(_lines(regions)).all())
    if language:  # lines in the searcher's language; every line when none offers it
        spoken = [row for row in rows if language in row.languages]
        rows = spoken or rows
    first = _first_line(session, country)
    rows.sort(key=lambda row: _rank(row, first, country))
    return CrisisBlock(
        reason=reason,
        country=country,
        region=region,
        language=language,
        lines=[_line(row) for row in rows],
    )


def _first_line(session: Session, country: str) -> Any:
    key = vocabulary().first_lines.get(country)
    if key is None:
        return None
    source, external_id = key
    return session.scalar(
        select(Provenance.service_id).where(
            Provenance.source == source, Provenance.external_id == external_id
        )
    )


def _rank(row: Any, first: Any, country: str) -> tuple[bool, bool, bool, str]:
    channels = row.body["crisis_channels"]
    return (
        row.service_id != first,
        not any(c.get("open_24_7") for c in channels),
        country not in row.regions,
        row.body["name"].casefold(),
    )


def _line(row: Any) -> CrisisLine:
    body = row.body
    return CrisisLine(
        service_id=row.service_id,
        name=body["name"],
        organization=body["organization"],
        phones=body["phones"],
        channels=body["crisis_channels"],
        languages=row.languages,
        website=body["website"],
        hours=body["hours"],
        serves=row.regions,
    )
