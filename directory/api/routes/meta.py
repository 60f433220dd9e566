"""The needs taxonomy and the health check."""

from __future__ import annotations

import contextlib
import threading
from functools import cache
from typing import Literal

import anyio
from anyio import to_thread
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from directory.api.deps import CurrentUser, SessionDep
from directory.listings.read_schemas import NeedRead
from directory.listings.taxonomy import need_tree
from directory.migrate import current_revision, head_revision

router = APIRouter()


@router.get("/v1/needs", response_model=list[NeedRead], tags=["listings"])
def list_needs(session: SessionDep, user: CurrentUser) -> list[NeedRead]:
    """The needs taxonomy as a tree."""
    return need_tree(session)


expected_revision = cache(head_revision)  # the scripts do not change while the app runs
HEALTH_WAIT = 1.0  # seconds: a monitor's probe is answered within this, database or not
_probing = threading.Lock()  # one probe waits on the database at a time


class Health(BaseModel):
    status: Literal["ok", "unavailable"]
    database: str = Field(description='"reachable", or the kind of failure met asking it')
    migration: str | None = None
    expected_migration: str | None = None
    replica: Literal["in use", "down"] | None = Field(
        default=None,
        description="with a read replica set: down when it refused within the last seconds"
        " (its reads go to the primary meanwhile; the status stays ok)",
    )


@router.get(
    "/healthz",
    tags=["health"],
    response_model=Health,
    responses={503: {"model": Health, "description": "Unhealthy: what failed"}},
)
async def healthz(request: Request) -> JSONResponse:
    """200 when the database answers within a second and is at the newest migration, 503
    otherwise (with what failed)."""
    factory: sessionmaker[Session] = request.app.state.sessionmaker
    try:
        with anyio.fail_after(HEALTH_WAIT):
            current, head = await to_thread.run_sync(_revisions, factory, abandon_on_cancel=True)
    except Exception as error:  # any database failure is "unhealthy", never a 500
        return JSONResponse({"status": "unavailable", "database": type(error).__name__}, 503)
    body = {
        "status": "ok" if current == head else "unavailable",
        "database": "reachable",
        "migration": current,
        "expected_migration": head,
    }
    if (replica := request.app.state.replica) is not None:
        body["replica"] = "in use" if replica.up else "down"
    return JSONResponse(body, status_code=200 if current == head else 503)


def rehearse_probe(factory: sessionmaker[Session]) -> None:
    """Run a probe once at start, unhurried: it reads the newest migration (0.7 s), opens a
    connection and pays every first-call cost, which on a loaded machine made a fresh
    worker's first real probe miss its second (a 503 from a healthy worker)."""
    expected_revision()
    with contextlib.suppress(Exception):  # a database away at start is the probes' to report
        _revisions(factory)


def _revisions(factory: sessionmaker[Session]) -> tuple[str | None, str | None]:
    """The database's migration (asked with a short statement timeout) and the newest; a
    probe still waiting (a frozen database) makes the next fail at once rather than pile up
    threads."""
    if not _probing.acquire(blocking=False):
        raise TimeoutError("the last probe is still waiting for the database")
    try:
        with factory() as session:
            session.execute(text(f"SET LOCAL statement_timeout = {round(HEALTH_WAIT * 1000)}"))
            return current_revision(session.connection()), expected_revision()
    finally:
        _probing.release()
