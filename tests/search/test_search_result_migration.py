"""Migration 0016 moves what results show out of search_document, and back, on an indexed
database: no rebuild needed either way."""

from __future__ import annotations

import datetime as dt
from typing import Any

from alembic import command
from sqlalchemy import text
from sqlalchemy.orm import Session

from directory.db import make_engine
from directory.migrate import alembic_config
from directory.search import postgres_words, service
from directory.search.query import SearchQuery
from tests.dburl import fresh_database

BODIES = "SELECT d.id, r.body FROM search_document d JOIN search_result r USING (id) ORDER BY 1"
COLUMNS = """SELECT d.id, d.service_id, d.capacity_status, r.body ->> 'capacity_status' AS status
    FROM search_document d JOIN search_result r USING (id)"""


def test_the_bodies_move_out_and_back_and_searches_still_answer(database_url: str) -> None:
    with fresh_database(database_url, "directory_test_0016") as url:
        engine = make_engine(url)
        try:
            with engine.begin() as connection:
                indexed = connection.execute(text(BODIES)).all()
                assert len(indexed) > 20
                command.downgrade(alembic_config(connection), "0015")
                old = connection.execute(text("SELECT id, body FROM search_document ORDER BY 1"))
                assert old.all() == indexed
                waiting = connection.scalar(  # a status that only the old bodies know
                    text("SELECT service_id FROM search_document WHERE id = :id"),
                    {"id": indexed[0].id},
                )
                connection.execute(
                    text(
                        "UPDATE search_document SET body = jsonb_set(body, '{capacity_status}',"
                        " '\"waitlist\"') WHERE service_id = :id"
                    ),
                    {"id": waiting},
                )
                command.upgrade(alembic_config(connection), "head")
                moved = connection.execute(text(BODIES)).all()
                columns = connection.execute(text(COLUMNS)).all()
            assert [row.id for row in moved] == [row.id for row in indexed]
            assert moved[0].body["capacity_status"] == "waitlist"
            before = {row.id: row.body for row in indexed}
            changed = {row.id for row in moved if row.body != before[row.id]}
            assert changed == {row.id for row in columns if row.service_id == waiting}
            assert [row.capacity_status for row in columns] == [row.status for row in columns]
            assert {row.capacity_status for row in columns} > {None, "waitlist"}
            with Session(engine) as session:
                not_taking = {r.service_id for r in columns if r.status in ("waitlist", "full")}
                assert waiting in not_taking
                _assert_searches_answer(session, not_taking)
        finally:
            engine.dispose()


def _assert_searches_answer(session: Session, not_taking: set[Any]) -> None:
    """Results show their bodies, ``accepting`` reads the moved status, crisis lines come."""
    postgres_words.forget()
    now = dt.datetime.now(dt.UTC)
    everything = service.search(session, SearchQuery(per_page=100), now=now)
    accepting = service.search(session, SearchQuery(per_page=100, accepting=True), now=now)
    assert everything.items and all(item.name and item.organization for item in everything.items)
    assert accepting.total == everything.total - len(not_taking)
    assert not not_taking & {item.service_id for item in accepting.items}
    lines = service.crisis_lines(session, postcode="33602")
    assert lines.lines[0].name == "988 Suicide & Crisis Lifeline"
