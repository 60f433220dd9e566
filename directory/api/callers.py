"""Who is calling: a signed-in user (bearer token) or a partner site (publishable key).

A partner key comes as ``X-Api-Key`` or, for the simplest embeds, ``key=`` in the query. It
may only search and read published listings, only from its own origins (403 otherwise, and no
CORS answer), and only within its rate (429 with ``Retry-After``).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Header, Request
from limits import parse
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter

from directory.accounts.keys import key_for
from directory.accounts.models import PartnerKey, User
from directory.accounts.roles import can
from directory.api.deps import SessionDep, current_user
from directory.errors import Forbidden, TooManyRequests, Unauthorized


@dataclass(frozen=True)
class Caller:
    user: User | None = None
    key: PartnerKey | None = None

    @property
    def published_only(self) -> bool:
        """Mentors and partner sites see published listings only."""
        return self.user is None or not can(self.user, "curate")


def make_limiter(storage_uri: str) -> MovingWindowRateLimiter:
    """The rate limiter of partner keys (``memory://`` per process; ``redis://`` shared)."""
    return MovingWindowRateLimiter(storage_from_string(storage_uri))


def reader(
    request: Request,
    session: SessionDep,
    authorization: Annotated[str | None, Header()] = None,
    x_api_key: Annotated[str | None, Header(alias="X-Api-Key")] = None,
) -> Caller:
    """A signed-in user, or a partner key used from one of its origins within its rate."""
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
