"""What the database says at each scrape: the listing changes each search index still waits
for (the outbox), and the console's import runs by status."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from prometheus_client.core import GaugeMetricFamily, Metric
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from directory.ingest.models import RUN_STATUSES, ImportRun
from directory.listings.models import SearchOutbox

_reading = threading.Lock()  # one scrape waits on the database at a time


@dataclass(frozen=True)
class Pending:
    """Outbox rows an index has not taken in yet, and how long the oldest has waited."""

    rows: int
    oldest_seconds: float  # 0: none waits


@dataclass(frozen=True)
class Figures:
    outbox: dict[str, Pending]  # by index: postgres, and meilisearch when configured
    runs: dict[str, int]  # by status, every status (0 for those no run has)

    def metrics(self) -> Iterator[Metric]:
        """The figures as Prometheus gauges."""
        pending = GaugeMetricFamily(
            "directory_outbox_pending",
            "Listing changes not yet in each search index (outbox rows)",
            labels=["index"],
        )
        oldest = GaugeMetricFamily(
            "directory_outbox_oldest_pending_seconds",
            "How long the oldest change not yet in each search index has waited (0: none)",
            labels=["index"],
        )
        for index, waiting in self.outbox.items():
            pending.add_metric([index], waiting.rows)
            oldest.add_metric([index], waiting.oldest_seconds)
        runs = GaugeMetricFamily(
            "directory_import_runs", "The console's import runs, by status", labels=["status"]
        )
        for status, count in self.runs.items():
            runs.add_metric([status], count)
        yield from (pending, oldest, runs)


def read_once(factory: sessionmaker[Session], meili: bool, wait: float) -> Figures:
    """The figures, each statement given ``wait`` seconds at most. A read still waiting (a
    frozen database) makes the next fail at once rather than pile up threads."""
    if not _reading.acquire(blocking=False):
        raise TimeoutError("the last scrape is still waiting for the database")
    try:
        with factory() as session:
            timeout = str(round(wait * 1000))
            session.execute(select(func.set_config("statement_timeout", timeout, True)))
            return read(session, meili=meili)
    finally:
        _reading.release()


def read(session: Session, *, meili: bool) -> Figures:
    """The outbox of the postgres index (and of Meilisearch's, when ``meili``), and the runs."""
    columns = {"postgres": SearchOutbox.processed_at}
    if meili:
        columns["meilisearch"] = SearchOutbox.meili_synced_at
    outbox = {index: _pending(session, done) for index, done in columns.items()}
    by_status = select(ImportRun.status, func.count()).group_by(ImportRun.status)
    counted = {status: count for status, count in session.execute(by_status)}
    return Figures(outbox, {status: counted.get(status, 0) for status in RUN_STATUSES})


def _pending(session: Session, done: Any) -> Pending:
    """How many rows ``done`` is empty for, and the oldest one's age (partial indexes keep the
    pending rows apart, so this stays cheap however long the outbox grows)."""
    age = func.extract("epoch", func.clock_timestamp() - func.min(SearchOutbox.created_at))
    rows, oldest = session.execute(select(func.count(), age).where(done.is_(None))).one()
    return Pending(rows, max(0.0, float(oldest or 0)))
