"""The HSDS 3.0 tables of our listings: every row valid against the spec's schemas, foreign keys
that resolve, published listings only."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from directory.hsds.columns import REFERENCES
from directory.hsds.tables import COLUMNS, TABLES, read_tables
from directory.listings.models import Service
from tests.hsds.schemas import validate_table_row


def check_tables(tables: dict[str, list[dict[str, Any]]], spec: Path) -> None:
    """Every row valid, in the spec's columns, ids unique and sorted, every reference found."""
    assert list(tables) == list(TABLES)
    ids = {name: {row["id"] for row in rows} for name, rows in tables.items()}
    for name, rows in tables.items():
        assert [list(row) for row in rows[:1]] in ([], [list(COLUMNS[name])])
        assert [row["id"] for row in rows] == sorted(ids[name])
        assert len(ids[name]) == len(rows), name
        for row in rows:
            validate_table_row(spec, name, row)
            for key, target in REFERENCES.items():
                if row.get(key) is not None:
                    assert row[key] in ids[target], (name, key, row)
    for row in tables["attributes"]:
        assert row["link_entity"] == "service" and row["link_id"] in ids["services"]


def test_seeded_listings_are_valid_hsds(session: Session, hsds_spec: Path) -> None:
    tables = read_tables(session)
    check_tables(tables, hsds_spec)
    counts = Counter({name: len(rows) for name, rows in tables.items()})
    published = session.scalars(select(Service.id).where(Service.curation_status == "published"))
    assert counts["services"] == len(list(published)) > 0
    for name in ("organizations", "locations", "phones", "schedules", "languages", "attributes"):
        assert counts[name] > 0, name


def test_only_published_services_and_what_they_use(session: Session, hsds_spec: Path) -> None:
    tables = read_tables(session)
    first = tables["services"][0]
    session.execute(
        update(Service).where(Service.id == first["id"]).values(curation_status="draft")
    )
    after = read_tables(session)
    assert first["id"] not in {row["id"] for row in after["services"]}
    assert all(row["service_id"] != first["id"] for row in after["service_at_locations"])
    check_tables(after, hsds_spec)


def test_some_services_only(session: Session, hsds_spec: Path) -> None:
    every = read_tables(session)
    chosen = [every["services"][0]["id"], every["services"][-1]["id"]]
    import uuid

    tables = read_tables(session, [uuid.UUID(i) for i in chosen])
    assert [row["id"] for row in tables["services"]] == sorted(chosen)
    check_tables(tables, hsds_spec)
    assert read_tables(session, [])["services"] == []
