"""The crisis lines last read from the database, kept for when it cannot answer.

Crisis lines must be one step away, always: when the database is unreachable, frozen or out
of connections, a crisis block is answered from the last one read for the same country,
region and language (stale is better than nothing). While the database answers, it is read
every time, so a corrected number shows at once on every host and nothing needs invalidating
(the query took 3.9 ms for a ZIP code's Spanish lines on the seed data; a process copy 0.04 ms:
not worth a stale line; clients cache the HTTP answer for minutes anyway).

Blocks are kept in this process and, with ``DIRECTORY_SHARED_STORE``, in Redis, so that a
process or host that never read a block (or was restarted) answers from another's. A Redis
that is down is skipped for a few seconds at a time, never an error. A block answered from
here says when it was read from the database (``as_of``: the pages say it too); in Redis that
time is refreshed when the block is written again, at least every ``RESHARE`` seconds.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections.abc import Callable
from typing import Any, Literal

import redis
from sqlalchemy.exc import DBAPIError, PendingRollbackError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm import Session

from directory.search.crisis import crisis_block
from directory.search.query import CrisisBlock

KEEP = 7 * 24 * 3600  # seconds a block stays in Redis after it was last read from the database
TIMEOUT = 0.5  # seconds to connect to Redis and for each answer: a request waits no longer
RETRY = 5.0  # seconds a failed Redis is left alone before it is tried again
PREFIX = "directory:crisis:v2:"  # a value: "<unix time read> <block JSON>"
LOCAL_MAX = 2000  # blocks kept in a process (countries x regions x languages asked for)
RESHARE = 3600.0  # seconds after which an unchanged block is written to Redis again (its TTL)
Key = tuple[str, str | None, str | None]
log = logging.getLogger(__name__)


class CrisisCache:
    """Crisis blocks by (country, region, language): in this process, and in Redis if given."""

    def __init__(self, url: str | None = None) -> None:
        # the block, when it was last written to Redis (monotonic) and read (unix time)
        self._local: dict[Key, tuple[str, float, float]] = {}
        self._lock = threading.Lock()
        self._down_until = 0.0
        self._redis = (
            redis.Redis.from_url(url, socket_timeout=TIMEOUT, socket_connect_timeout=TIMEOUT)
            if url
            else None
        )

    @classmethod
    def open(cls, url: str | None) -> CrisisCache:
        """A cache on this store; said at start when the store does not answer (used as soon as
        it does)."""
        cache = cls(url)
        if cache._redis is not None:
            try:
                cache._redis.ping()
            except redis.RedisError as error:
                log.warning(
                    "DIRECTORY_SHARED_STORE does not answer (%s): rates are not counted and"
                    " crisis lines are kept in this process only until it does",
                    error,
                )
        return cache

    def keep(self, block: CrisisBlock) -> None:
        """Remember a block just read from the database; Redis is written only when the block
        changed or was last written there over ``RESHARE`` seconds ago (not on every search)."""
        key, value = (
            _key(block.country or "", block.region, block.language),
            block.model_dump_json(),
        )
        now, read = time.monotonic(), time.time()
        with self._lock:
            known = self._local.get(key)
            if known is not None and known[0] == value and now - known[1] < RESHARE:
                self._local[key] = (value, known[1], read)
                return
            if known is None and len(self._local) >= LOCAL_MAX:
                self._local.pop(next(iter(self._local)))
            self._local[key] = (value, now, read)
        if not self._shared(lambda r: r.set(_redis_key(key), f"{read:.0f} {value}", ex=KEEP)):
            with self._lock:  # not in Redis: written again at the next keep
                self._local[key] = (value, -RESHARE, read)

    def last(self, country: str, region: str | None, language: str | None) -> CrisisBlock | None:
        """The block last kept for this place and language (by any process), if any, with
        when it was read (``as_of``)."""
        key = _key(country, region, language)
        shared = self._shared(lambda r: r.get(_redis_key(key)))
        with self._lock:
            known = self._local.get(key)
        kept = [(known[2], known[0])] if known is not None else []
        if isinstance(shared, bytes):
            shared = shared.decode()
        if isinstance(shared, str) and (found := _shared_value(shared)) is not None:
            kept.append(found)
        if not kept:
            return None
        read_at, value = max(kept)  # the most recently read, here or by another process
        block = CrisisBlock.model_validate_json(value)
        return block.model_copy(update={"as_of": dt.datetime.fromtimestamp(read_at, dt.UTC)})

    def close(self) -> None:
        if self._redis is not None:
            self._redis.close()

    def _shared(self, call: Callable[[redis.Redis], Any]) -> Any:
        """``call(redis)``; None without Redis, while it is down, or when it fails now."""
        if self._redis is None or time.monotonic() < self._down_until:
            return None
        try:
            return call(self._redis)
        except redis.RedisError as error:
            self._down_until = time.monotonic() + RETRY
            log.warning("shared store unavailable for crisis lines (%ss off): %s", RETRY, error)
            return None


def _shared_value(text: str) -> tuple[float, str] | None:
    """A value read from Redis ("<unix time read> <block JSON>"); None when it is not one."""
    read, _, value = text.partition(" ")
    try:
        return float(read), value
    except ValueError:
        log.warning("a crisis block in the shared store is not readable: ignored")
        return None


def _key(country: str, region: str | None, language: str | None) -> Key:
    return country.upper(), region.upper() if region else None, language or None


def _redis_key(key: Key) -> str:
    return PREFIX + ":".join(part or "-" for part in key)


def read_through(
    session: Session,
    cache: CrisisCache | None,
    *,
    reason: Literal["query", "need", "requested"],
    country: str,
    region: str | None,
    language: str | None,
) -> CrisisBlock:
    """The crisis block from the database (and kept); the kept one when the database fails."""
    try:
        block = crisis_block(
            session, reason=reason, country=country, region=region, language=language
        )
    except (
        DBAPIError,
        PoolTimeout,
        PendingRollbackError,
    ) as error:  # crisis lines, whatever failed
        kept = cache.last(country, region, language) if cache is not None else None
        if kept is None:
            raise
        session.rollback()  # the failed connection is given back; the request ends cleanly
        log.warning("database unavailable, crisis lines answered from the cache: %s", error)
        return kept.model_copy(update={"reason": reason})
    if cache is not None:
        cache.keep(block)
    return block
