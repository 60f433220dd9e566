"""Preparing records in a worker process while the loader writes.

Normalising and validating is pure Python and CPU-bound; on a big file a second process shares
it so that both cores work. Chunks of records go to the worker in order; whenever the oldest
chunk is not ready yet, the loader prepares the next chunk itself instead of waiting. So the
work balances by itself: while the worker starts up, and on small files, the loader does it all
(no pickling cost); on big files the worker takes whatever the loader has no time for. Order is
kept, and at most ``AHEAD`` chunks are in flight, so memory stays bounded.
"""

from __future__ import annotations

import ctypes
import gc
import multiprocessing
import os
import signal
import sys
import threading
import time
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from itertools import islice

from directory.ingest.formats import Format, formats
from directory.ingest.prepare import Prepared, prepare
from directory.ingest.records import ReadItem, SourceRecord

INLINE = 2_000  # a file this small never starts the worker
CHUNK = 250
AHEAD = 6
Item = ReadItem
# An import allocates millions of small objects that live for the whole run; with the default
# thresholds the cyclic collector keeps re-scanning them (measured: a fifth of the run time).
GC_THRESHOLDS = (100_000, 50, 1_000)
DEFAULT_GC = gc.get_threshold()
# <linux/prctl.h>: signal a process when the thread that started it ends; the pool is made, and
# its worker started (on the first submit), in the loader's own thread, which outlives it.
PR_SET_PDEATHSIG = 1


def prepared(
    fmt: Format, items: Iterable[Item], source: str
) -> Iterator[tuple[Item, Prepared | None]]:
    """Each item with its preparation (None for the rejections read from the file)."""
    gc.set_threshold(*GC_THRESHOLDS)
    try:
        yield from _prepared(fmt, items, source)
    finally:
        gc.set_threshold(*DEFAULT_GC)


def _prepared(
    fmt: Format, items: Iterable[Item], source: str
) -> Iterator[tuple[Item, Prepared | None]]:
    iterator = iter(items)
    first = list(islice(iterator, INLINE))
    chunk = list(islice(iterator, CHUNK))
    if not chunk:
        yield from _inline(fmt, first, source)
        return
    # "spawn": a forked child would share the parent's open database connection.
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(
        max_workers=1, mp_context=context, initializer=_bound_to, initargs=(os.getpid(),)
    ) as pool:
        pool.submit(int)  # start the worker now; it imports while the loader works
        yield from _inline(fmt, first, source)
        pending: deque[tuple[list[Item], Future[list[Prepared]] | list[Prepared]]] = deque()
        while chunk or pending:
            sent = sum(isinstance(result, Future) for _, result in pending)
            head = pending[0][1] if pending else None
            if chunk and sent < AHEAD:
                work: Future[list[Prepared]] | list[Prepared] = pool.submit(
                    _prepare_all, fmt.name, _records(chunk), source
                )
            elif (
                chunk and len(pending) < 2 * AHEAD and isinstance(head, Future) and not head.done()
            ):
                work = _prepare_all(fmt.name, _records(chunk), source)  # rather than wait
            else:
                done, result = pending.popleft()
                results = iter(result.result() if isinstance(result, Future) else result)
                for item in done:
                    yield item, next(results) if isinstance(item, SourceRecord) else None
                continue
            pending.append((chunk, work))
            chunk = list(islice(iterator, CHUNK))


def _bound_to(parent: int) -> None:
    """In the worker, first: die with the loader. A loader killed outright (``kill -9``, the
    OOM killer) runs no clean-up, and the worker, blocked on its queue, would live on."""
    if sys.platform == "linux":
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    else:
        threading.Thread(target=_watch, args=(parent,), daemon=True).start()
    if os.getppid() != parent:  # the loader died before the line above took effect
        os._exit(1)


def _watch(parent: int) -> None:
    """Where there is no parent-death signal: end the worker once its loader is gone."""
    while os.getppid() == parent:
        time.sleep(0.5)
    os._exit(1)


def _inline(fmt: Format, items: list[Item], source: str) -> Iterator[tuple[Item, Prepared | None]]:
    """The items prepared here, taken out of the list as they go: the first ``INLINE`` records
    would otherwise stay in memory for the whole import."""
    items.reverse()
    while items:
        item = items.pop()
        yield item, prepare(fmt, item, source) if isinstance(item, SourceRecord) else None


def _records(chunk: list[Item]) -> list[SourceRecord]:
    return [item for item in chunk if isinstance(item, SourceRecord)]


def _prepare_all(format_name: str, records: list[SourceRecord], source: str) -> list[Prepared]:
    """In the worker process (or in the loader, when it steals a chunk)."""
    gc.set_threshold(*GC_THRESHOLDS)
    fmt = formats()[format_name]
    return [prepare(fmt, record, source) for record in records]
