"""Who is calling: a signed-in user (bearer token) or a partner site (publishable key).

A partner key comes as ``X-Api-Key`` or, for the simplest embeds, ``key=`` in the query. It
may only search and read published listings, only from its own origins (403 otherwise, and no
CORS answer), and only within its rate (429 with ``Retry-After``).
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass
from typing import Annotated

import redis
from fastapi import Depends, Header, Request
from limits import RateLimitItem, WindowStats, parse
from limits.errors import StorageError
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter
from sqlalchemy.orm import Session

from directory.accounts.keys import key_for
from directory.accounts.models import PartnerKey, User
from directory.accounts.roles import can
from directory.api.deps import SessionDep, current_user
from directory.errors import Forbidden, TooManyRequests, Unauthorized

STORE_TIMEOUT = 0.5  # seconds to connect to Redis and for each answer: a request waits no longer
STORE_RETRY = 5.0  # seconds a store that failed is left alone (requests pass uncounted meanwhile)
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Caller:
    user: User | None = None
    key: PartnerKey | None = None

    @property
    def published_only(self) -> bool:
        """Mentors and partner sites see published listings only."""
        return self.user is None or not can(self.user, "curate")


class FailOpenLimiter(MovingWindowRateLimiter):
    """A moving-window limiter that lets requests through while its store is unreachable.

    A rate protects the service from a runaway page; refusing every search (the crisis lines
    among them) because the counter is away would hurt more than a minute uncounted."""

    _down_until = 0.0  # a store that failed is left alone for STORE_RETRY seconds

    def hit(self, item: RateLimitItem, *identifiers: str, cost: int = 1) -> bool:
        if time.monotonic() < self._down_until:
            return True
        try:
            return super().hit(item, *identifiers, cost=cost)
        except StorageError as error:
            self._down_until = time.monotonic() + STORE_RETRY
            log.warning("rate store unavailable, requests let through: %s", error.storage_error)
            return True

    def get_window_stats(self, item: RateLimitItem, *identifiers: str) -> WindowStats:
        try:
            return super().get_window_stats(item, *identifiers)
        except StorageError:
            return WindowStats(time.time() + 1, 0)


def make_limiter(storage_uri: str) -> MovingWindowRateLimiter:
    """The rate limiter of partner keys (``memory://`` per process; ``redis://`` shared)."""
    uri = (
        "redis+unix://" + storage_uri.removeprefix("unix://")
        if storage_uri.startswith("unix://")
        else storage_uri
    )
    options: dict[str, float] = {}
    if uri.startswith(("redis", "rediss")):
        options = {"socket_timeout": STORE_TIMEOUT, "socket_connect_timeout": STORE_TIMEOUT}
    return FailOpenLimiter(storage_from_string(uri, wrap_exceptions=True, **options))


def close_limiter(limiter: MovingWindowRateLimiter) -> None:
    """Close the limiter's Redis connections, if it has any (``limits`` keeps its Redis client
    as the storage's ``storage``; ``memory://`` has none)."""
    client = getattr(getattr(limiter, "storage", None), "storage", None)  # (a stand-in: none)
    if isinstance(client, redis.Redis):
        client.close()


def reader(
    request: Request,
    session: SessionDep,
    authorization: Annotated[str | None, Header()] = None,
    x_api_key: Annotated[str | None, Header(alias="X-Api-Key")] = None,
) -> Caller:
    """A signed-in user, or a partner key used from one of its origins within its rate.

    With a read replica, the primary's connection is given back once the caller is known: the
    reads that follow go to the replica, so a search holds none of the primary's pool while it
    runs (a write after it takes a connection again)."""
    caller = _caller(request, session, authorization, x_api_key)
    if request.app.state.replica is not None:
        session.commit()
    return caller


def _caller(
    request: Request, session: Session, authorization: str | None, x_api_key: str | None
) -> Caller:
    if authorization:
        return Caller(user=current_user(request, session, authorization))
    raw = x_api_key or request.query_params.get("key")
    if not raw:
        raise Unauthorized("sign in (Authorization: Bearer <token>) or send a partner X-Api-Key")
    key = key_for(session, raw)
    origin = request.headers.get("origin")
    if key is None:  # any page may read that its key is dead (the widget says so)
        request.state.cors_origin = origin
        raise Unauthorized("the partner key is not valid (unknown or revoked)")
    if origin is not None and origin.lower().rstrip("/") not in key.origins:
        raise Forbidden(f"this key is not for pages on {origin[:100]}")
    request.state.cors_origin = origin  # the CORS middleware answers this origin (a 429 too)
    _within_rate(request, key)
    return Caller(key=key)


def _within_rate(request: Request, key: PartnerKey) -> None:
    limiter: MovingWindowRateLimiter = request.app.state.limiter
    limit = parse(key.rate)
    if limiter.hit(limit, "partner", str(key.id)):
        return
    reset, _ = limiter.get_window_stats(limit, "partner", str(key.id))
    wait = max(1, math.ceil(reset - time.time()))
    raise TooManyRequests(
        f"this key is limited to {key.rate}; try again in {wait} s", retry_after=wait
    )


Reader = Annotated[Caller, Depends(reader)]
