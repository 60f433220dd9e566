"""The needs taxonomy and the health check."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy import text

from directory.api.deps import CurrentUser, SessionDep
from directory.listings.read_schemas import NeedRead
from directory.listings.taxonomy import need_tree
from directory.migrate import current_revision, head_revision

router = APIRouter()


@router.get("/v1/needs", response_model=list[NeedRead], tags=["listings"])
def list_needs(session: SessionDep, user: CurrentUser) -> list[NeedRead]:
    """The needs taxonomy as a tree."""
    return need_tree(session)


@router.get("/healthz", tags=["health"])
def healthz(session: SessionDep) -> JSONResponse:
    """200 when the database answers and is at the newest migration, 503 otherwise."""
    try:
        session.execute(text("SELECT 1"))
        current = current_revision(session.connection())
    except Exception as error:  # any database failure is "unhealthy", never a 500
        return JSONResponse({"status": "unavailable", "database": str(type(error).__name__)}, 503)
    head = head_revision()
    body = {
        "status": "ok" if current == head else "unavailable",
        "database": "reachable",
        "migration": current,
        "expected_migration": head,
    }
    return JSONResponse(body, status_code=200 if current == head else 503)
