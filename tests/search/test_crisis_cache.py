"""The crisis cache in the domain: read from the database while it answers, the kept block
(with the asking reason) when it cannot; shared through Redis; a Redis that is down is skipped."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator

import pytest
import redis
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from directory.db import make_engine
from directory.search import service
from directory.search.crisis_cache import CrisisCache, read_through
from directory.search.query import SearchQuery
from tests.redisserver import free_port, private_redis

PLACE = {"country": "US", "region": "US-FL", "language": "es"}


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    with private_redis() as url:
        yield url


def dead_session() -> Session:
    """A session on a database where nothing listens (one that is down)."""
    url = f"postgresql://nobody@127.0.0.1:{free_port()}/directory"
    return Session(make_engine(url, pre_ping=False))


def test_a_block_read_is_answered_when_the_database_cannot(session: Session) -> None:
    cache = CrisisCache()
    read = read_through(session, cache, reason="requested", **PLACE)
    assert read.lines
    with dead_session() as dead:
        kept = read_through(dead, cache, reason="query", **PLACE)  # a search's block
        with pytest.raises(OperationalError):  # never read: the database's error, a 503
            read_through(dead, cache, reason="query", country="CA", region=None, language=None)
        with pytest.raises(OperationalError):  # no cache: as before
            read_through(dead, None, reason="query", **PLACE)
    assert kept.reason == "query"
    assert kept.lines == read.lines
    assert read.as_of is None  # read now
    assert kept.as_of is not None  # kept: says when it was read
    assert abs(kept.as_of - dt.datetime.now(dt.UTC)) < dt.timedelta(minutes=1)


def test_the_search_keeps_its_crisis_block(session: Session) -> None:
    cache = CrisisCache()
    found = service.search(session, SearchQuery(q="suicide", postcode="33602"), crisis_cache=cache)
    block = found.crisis
    assert block is not None and block.lines and block.region
    kept = cache.last("US", block.region, None)
    assert kept is not None and kept.lines == block.lines


def test_blocks_are_shared_through_redis(session: Session, redis_url: str) -> None:
    one, other = CrisisCache(redis_url), CrisisCache(redis_url)
    read = read_through(session, one, reason="requested", **PLACE)
    shared = other.last("us", "us-fl", "es")
    one.close()
    other.close()
    assert shared is not None and shared.lines == read.lines
    assert shared.as_of is not None  # when the other process read it, to the second
    assert abs(shared.as_of - dt.datetime.now(dt.UTC)) < dt.timedelta(minutes=1)


def test_an_unreadable_shared_value_is_ignored(session: Session, redis_url: str) -> None:
    cache = CrisisCache(redis_url)
    read = read_through(session, cache, reason="requested", **PLACE)
    store = redis.Redis.from_url(redis_url)
    store.set("directory:crisis:v2:US:US-FL:es", "not a block")
    kept = cache.last("US", "US-FL", "es")  # the process copy answers
    other = CrisisCache(redis_url)
    stranger = other.last("US", "US-FL", "es")  # nothing readable: none
    for client in (store, cache, other):
        client.close()
    assert kept is not None and kept.lines == read.lines
    assert stranger is None


def test_a_redis_that_is_down_leaves_the_process_copy(session: Session) -> None:
    cache = CrisisCache.open(f"redis://127.0.0.1:{free_port()}/0")  # nothing listens
    started = time.monotonic()
    read = read_through(session, cache, reason="requested", **PLACE)
    kept = cache.last("US", "US-FL", "es")
    cache.close()
    assert kept is not None and kept.lines == read.lines
    assert time.monotonic() - started < 2


def test_an_unchanged_block_is_not_written_to_redis_on_every_read(
    session: Session, redis_url: str
) -> None:
    """Every crisis search keeps its block: Redis is written when the block changed (or an
    hour on), not once a search."""
    cache = CrisisCache(redis_url)
    read = read_through(session, cache, reason="requested", **PLACE)
    store = redis.Redis.from_url(redis_url)
    (key,) = store.keys("directory:crisis:v2:US:US-FL:es")
    store.delete(key)
    read_through(session, cache, reason="requested", **PLACE)  # the same block
    assert not store.exists(key)
    cache.keep(read.model_copy(update={"lines": read.lines[:1]}))  # a line changed
    assert store.exists(key)
    store.close()
    cache.close()
