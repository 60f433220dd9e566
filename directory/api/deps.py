"""Request dependencies: the unit of work, the signed-in user, and role checks."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Annotated

from anyio import CancelScope, CapacityLimiter, to_thread
from fastapi import Depends, Header, Request
from sqlalchemy.orm import Session, sessionmaker

from directory.accounts.models import User
from directory.accounts.roles import can, require
from directory.accounts.service import user_for_token
from directory.db import commit_kept
from directory.errors import BadRequest, PreconditionRequired, Unauthorized
from directory.replica import Replica, ReplicaSession

IF_MATCH = re.compile(r'(?:W/)?"?([0-9]{1,9})"?')


async def get_session(request: Request) -> AsyncIterator[Session]:
    """One transaction per request: committed when the route returns, rolled back on error.

    Opening a session does no I/O, so it happens on the event loop; the commit (or rollback)
    runs in the thread pool. Each hop to a thread costs about as much as a small query
    (measured), so the dependencies that do no I/O are ``async`` too."""
    factory: sessionmaker[Session] = request.app.state.sessionmaker
    async with _request_unit(factory()) as session:
        yield session


@asynccontextmanager
async def _request_unit(session: Session) -> AsyncIterator[Session]:
    # The ending runs shielded from cancellation (a client gone must not leave the session
    # open), and with a limiter of its own, as FastAPI does for its own exits: threads of the
    # shared pool may all be waiting for a database connection that this one would release.
    own = CapacityLimiter(1)
    try:
        yield session
    except BaseException:
        with CancelScope(shield=True):
            await to_thread.run_sync(_roll_back, session, limiter=own)
        raise
    with CancelScope(shield=True):
        await to_thread.run_sync(_commit, session, limiter=own)


def _roll_back(session: Session) -> None:
    with session:
        commit_kept(session)  # a refusal's audit row; rolls back the rest


def _commit(session: Session) -> None:
    with session:
        session.commit()


# scope="function": the commit runs before the response is sent, so a failed commit is an error
# response and never a success that did not happen.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]


async def get_read_session(request: Request, primary: SessionDep) -> AsyncIterator[Session]:
    """The session of reads of published data (searches, crisis lines, published listings,
    HSDS): with a read replica set, a ``ReplicaSession`` (reads on the replica, writes and a
    fallback on ``primary``); without one, ``primary`` itself.

    Signed-in coordinators and admins, who write listings, read the primary (the rule is asked
    when a statement runs, after the request's sign-in is checked): they see their own edits
    at once. Anyone else reads what the replica has replayed: up to its lag behind."""
    replica: Replica | None = request.app.state.replica
    if replica is None:
        yield primary
        return
    reads = ReplicaSession(replica=replica, primary=primary, own_writes=lambda: _staff(request))
    async with _request_unit(reads) as session:
        yield session


def read_sessions(request: Request) -> Callable[[], Session]:
    """Sessions of reads of published data made apart from the request's (a streamed answer
    is read after the request's own session ended), by the same rule as ``get_read_session``."""
    primary: sessionmaker[Session] = request.app.state.sessionmaker
    replica: Replica | None = request.app.state.replica
    if replica is None:
        return primary
    return lambda: ReplicaSession(
        replica=replica, primary=primary(), own_writes=lambda: _staff(request), owns_primary=True
    )


def _staff(request: Request) -> bool:
    user: User | None = getattr(request.state, "user", None)
    return user is not None and can(user, "curate")


ReadSessionDep = Annotated[Session, Depends(get_read_session, scope="function")]


def current_user(
    request: Request, session: SessionDep, authorization: Annotated[str | None, Header()] = None
) -> User:
    """The user behind the ``Authorization: Bearer`` token; 401 when missing or bad."""
    if not authorization:
        raise Unauthorized("sign in: send Authorization: Bearer <token>")
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("the Authorization header must be 'Bearer <token>'")
    days = request.app.state.settings.token_days
    lifetime = dt.timedelta(days=days) if days else None
    user = user_for_token(session, token.strip(), lifetime=lifetime)
    if user is None:
        raise Unauthorized(
            "the token is not valid (unknown, revoked, expired, or its user is inactive)"
        )
    request.state.user = user  # who reads (get_read_session), as the pages' viewer does
    return user


CurrentUser = Annotated[User, Depends(current_user)]


async def writer(user: CurrentUser) -> User:
    """A coordinator or admin; 403 for anyone else."""
    return require(user, "curate")


Writer = Annotated[User, Depends(writer)]


async def if_match(if_match: Annotated[str | None, Header(alias="If-Match")] = None) -> int | None:
    """The version the caller last saw, from ``If-Match: 3`` or ``"3"``; None for ``*`` (any)."""
    if if_match is None:
        raise PreconditionRequired("send If-Match: <version> (the listing's ETag)")
    if if_match.strip() == "*":
        return None
    found = IF_MATCH.fullmatch(if_match.strip())
    if found is None:
        raise BadRequest(f'If-Match must be a listing version such as "3", not {if_match[:40]!r}')
    return int(found.group(1))


IfMatch = Annotated[int | None, Depends(if_match)]
