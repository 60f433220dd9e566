"""Preparing records in a worker process while the loader writes.

Normalising and validating is pure Python and CPU-bound; on a big file it runs in a second
process so that both cores work. Handing records over costs (a process start, pickling both
ways), so the first ``INLINE`` records are prepared inline and only bigger files use the worker:
measured, the 11,375-row SAMHSA locator is faster inline, a 100,000-service package faster with
the worker. Order is kept, and at most ``AHEAD`` chunks are in flight, so memory stays bounded.
"""

from __future__ import annotations

import multiprocessing
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from itertools import islice

from directory.ingest.formats import Format, formats
from directory.ingest.prepare import Prepared, prepare
from directory.ingest.records import Rejection, SourceRecord

INLINE = 20_000
CHUNK = 500
AHEAD = 3
Item = SourceRecord | Rejection


def prepared(
    fmt: Format, items: Iterable[Item], source: str
) -> Iterator[tuple[Item, Prepared | None]]:
    """Each item with its preparation (None for the rejections read from the file)."""
    iterator = iter(items)
    for item in islice(iterator, INLINE):
        yield item, prepare(fmt, item, source) if isinstance(item, SourceRecord) else None
    chunk = list(islice(iterator, CHUNK))
    if not chunk:
        return
    # "spawn": a forked child would share the parent's open database connection.
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
        pending: deque[tuple[list[Item], Future[list[Prepared]]]] = deque()
        while chunk or pending:
            while chunk and len(pending) < AHEAD:
                records = [item for item in chunk if isinstance(item, SourceRecord)]
                pending.append((chunk, pool.submit(_prepare_all, fmt.name, records, source)))
                chunk = list(islice(iterator, CHUNK))
            done, future = pending.popleft()
            results = iter(future.result())
            for item in done:
                yield item, next(results) if isinstance(item, SourceRecord) else None


def _prepare_all(format_name: str, records: list[SourceRecord], source: str) -> list[Prepared]:
    """In the worker process."""
    fmt = formats()[format_name]
    return [prepare(fmt, record, source) for record in records]
