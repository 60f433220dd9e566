"""Listings: read, list, create, update, verify, archive, and a listing's history."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Response, status
from pydantic import BaseModel, ConfigDict, StringConstraints

from directory.accounts.roles import can
from directory.api.callers import Reader
from directory.api.deps import CurrentUser, IfMatch, ReadSessionDep, SessionDep, Writer
from directory.api.openapi import errors
from directory.listings import curating, history, queries, service
from directory.listings.history import ListingChangePage
from directory.listings.read_schemas import ServicePage, ServiceRead
from directory.listings.schemas import ServiceCreate, ServiceUpdate
from directory.types import CurationStatus, DateTime, NeedCode, ServiceStatus

router = APIRouter(prefix="/v1/services", tags=["listings"])
Note = Annotated[str, StringConstraints(strip_whitespace=True, max_length=curating.NOTE_MAX)]


class VerificationIn(BaseModel):
    """How the listing was checked, and what was learnt."""

    model_config = ConfigDict(extra="forbid")

    method: curating.VerifyMethod | None = None
    note: Note | None = None


def _readable(
    session: SessionDep, user: CurrentUser, service_id: uuid.UUID, response: Response
) -> ServiceRead:
    found = queries.read_service(session, service_id, published_only=not can(user, "curate"))
    response.headers["ETag"] = f'"{found.version}"'
    return found


@router.get("/{service_id}", response_model=ServiceRead, responses=errors(404))
def get_service(
    session: ReadSessionDep, caller: Reader, service_id: uuid.UUID, response: Response
) -> ServiceRead:
    """The whole listing; mentors and partner keys see published listings only."""
    found = queries.read_service(session, service_id, published_only=caller.published_only)
    response.headers["ETag"] = f'"{found.version}"'  # the version If-Match takes
    response.headers["Cache-Control"] = "private, max-age=30"
    return found


@router.get("", response_model=ServicePage, responses=errors(403))
def list_services(
    session: ReadSessionDep,
    user: CurrentUser,
    status: ServiceStatus | None = None,
    need: NeedCode | None = None,
    modified_after: DateTime | None = None,
    curation_status: CurationStatus | None = None,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    per_page: Annotated[int, Query(ge=1, le=100)] = 20,
) -> ServicePage:
    """A page of listings; ``need`` includes its child needs."""
    return queries.list_services(
        session,
        published_only=not can(user, "curate"),
        status=status,
        need=need,
        curation_status=curation_status,
        modified_after=modified_after,
        page=page,
        per_page=per_page,
    )


@router.post(
    "",
    response_model=ServiceRead,
    status_code=status.HTTP_201_CREATED,
    responses=errors(409),
)
def create_service(
    session: SessionDep, user: Writer, doc: ServiceCreate, response: Response
) -> ServiceRead:
    """Create a whole listing from one nested document."""
    created = service.create_service(session, doc, by=user.email)
    response.headers["Location"] = f"/v1/services/{created}"
    return _readable(session, user, created, response)


@router.patch("/{service_id}", response_model=ServiceRead, responses=errors(404, 409))
def update_service(
    session: SessionDep,
    user: Writer,
    service_id: uuid.UUID,
    patch: ServiceUpdate,
    version: IfMatch,
    response: Response,
) -> ServiceRead:
    """Change a listing; ``If-Match`` must carry its current version (412 when stale)."""
    service.update_service(session, service_id, patch, expected_version=version, by=user.email)
    return _readable(session, user, service_id, response)


@router.post("/{service_id}/verify", response_model=ServiceRead, responses=errors(404, 409))
def verify_service(
    session: SessionDep,
    user: Writer,
    service_id: uuid.UUID,
    version: IfMatch,
    response: Response,
    how: VerificationIn | None = None,
) -> ServiceRead:
    """Record that you checked this version of the listing (``If-Match``) just now; the body,
    optional, says how (phone, website, email, visit) with a note."""
    how = how or VerificationIn()
    curating.verify_service(
        session, service_id, by=user.email, expected_version=version, **how.model_dump()
    )
    return _readable(session, user, service_id, response)


@router.get("/{service_id}/history", response_model=ListingChangePage, responses=errors(404))
def service_history(
    session: SessionDep,
    user: Writer,
    service_id: uuid.UUID,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    per_page: Annotated[int, Query(ge=1, le=100)] = 50,
) -> ListingChangePage:
    """A page of the listing's changes, newest first, in HSDS 3.0's metadata shape."""
    return history.listing_history(session, service_id, page=page, per_page=per_page)


@router.post("/{service_id}/archive", response_model=ServiceRead, responses=errors(404, 409))
def archive_service(
    session: SessionDep, user: Writer, service_id: uuid.UUID, version: IfMatch, response: Response
) -> ServiceRead:
    """Archive the listing (hidden from mentors, kept for the record); needs ``If-Match``."""
    curating.archive_service(session, service_id, expected_version=version, by=user.email)
    return _readable(session, user, service_id, response)
