"""A session's rounds of writes (db.writing: an import's, the index rebuild's) run in a thread:
reads wait for them, and their errors surface."""

from __future__ import annotations

import threading
import time
import uuid

import psycopg
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from directory.db import writing
from directory.listings.models import Service
from directory.listings.rows import Rows
from directory.listings.schemas import ServiceCreate
from directory.listings.service import create_service


def queued(session: Session, source: str) -> tuple[Rows, uuid.UUID]:
    """A new listing's rows, queued and not written."""
    rows = Rows()
    doc = ServiceCreate.model_validate(
        {
            "name": "Harbor Counseling",
            "organization": {"name": "Harbor"},
            "provenance": {"source": source, "external_id": "1"},
        }
    )
    return rows, create_service(session, doc, rows=rows, by="test")


def test_a_read_waits_for_the_round_in_flight_and_the_round_runs_in_another_thread(
    session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    write, threads = Rows.write, []

    def slowly(rows: Rows, session: Session) -> None:
        threads.append(threading.get_ident())
        time.sleep(0.3)  # a read sent now would not see the rows yet
        write(rows, session)

    monkeypatch.setattr(Rows, "write", slowly)
    rows, service_id = queued(session, f"test:{uuid.uuid4()}")
    with writing(session) as writer:
        writer.submit(rows.write)
        found = session.scalar(select(func.count()).where(Service.id == service_id))
    assert found == 1
    assert threads and threads[0] != threading.get_ident()


def test_a_failed_round_raises_in_the_loader_at_its_next_statement(session: Session) -> None:
    source = f"test:{uuid.uuid4()}"
    first, _ = queued(session, source)
    again, _ = queued(session, source)  # the same listing: its id is taken by then
    with pytest.raises(psycopg.errors.UniqueViolation), writing(session) as writer:
        writer.submit(first.write)
        writer.submit(again.write)
        session.execute(select(1))
        pytest.fail("the statement after the failed round ran")


def test_a_failed_rounds_error_is_the_one_raised_not_what_followed_from_it(
    session: Session,
) -> None:
    """The keep-ids read-ahead asks the connection directly, without waiting for the round: in
    the transaction the failed round aborted it fails too, and that must not hide the cause."""
    source = f"test:{uuid.uuid4()}"
    first, _ = queued(session, source)
    again, _ = queued(session, source)
    with pytest.raises(psycopg.errors.UniqueViolation) as raised, writing(session) as writer:
        writer.submit(first.write)
        writer.submit(again.write)
        writer.pending.exception()  # type: ignore[union-attr]  # the round has failed
        driver = session.connection().connection.driver_connection
        with driver.cursor() as cursor:  # as the read-ahead does
            cursor.execute("SELECT 1")
    assert isinstance(raised.value.__cause__, psycopg.errors.InFailedSqlTransaction)


def test_the_last_round_is_written_when_the_block_ends(session: Session) -> None:
    rows, service_id = queued(session, f"test:{uuid.uuid4()}")
    with writing(session) as writer:
        writer.submit(rows.write)
    assert session.get(Service, service_id) is not None
