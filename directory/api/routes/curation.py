"""The review queue: change suggestions on listings, and decisions on queue items."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, status
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from directory.api.deps import CurrentUser, SessionDep
from directory.api.openapi import errors
from directory.curation import queue

router = APIRouter(tags=["curation"])
Note = Annotated[str, StringConstraints(max_length=queue.MAX_NOTE)]


class SuggestionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    changes: dict[str, Any] = Field(
        min_length=1,
        max_length=30,
        description="Fields of the listing, as PATCH /v1/services/{id} takes them",
        # in the API's document, the fields of PATCH /v1/services/{id}'s body
        json_schema_extra={"allOf": [{"$ref": "#/components/schemas/ServiceUpdate"}]},
    )
    note: Note | None = None


class SuggestionDecision(BaseModel):
    model_config = ConfigDict(extra="forbid")

    approve: bool
    edits: dict[str, Any] | None = Field(
        default=None, max_length=30, description="Changes made on top of the suggestion"
    )
    note: Note | None = None


class ProblemDecision(BaseModel):
    model_config = ConfigDict(extra="forbid")

    resolved: bool = Field(description="true: the listing was fixed; false: dismissed")
    note: Note | None = None


class SuggestionOut(BaseModel):
    id: uuid.UUID
    service_id: uuid.UUID
    changes: dict[str, Any]
    note: str | None
    status: str
    base_version: int
    created_at: dt.datetime
    decided_at: dt.datetime | None


class ChangeOut(BaseModel):
    field: str
    current: Any
    proposed: Any


class QueueItemOut(BaseModel):
    kind: str
    id: uuid.UUID | None
    service_id: uuid.UUID
    service_name: str
    created_at: dt.datetime | None
    urgent: bool
    detail: dict[str, Any]
    changes: list[ChangeOut]


def _out(suggestion: Any) -> SuggestionOut:
    return SuggestionOut.model_validate(suggestion, from_attributes=True)


@router.post(
    "/v1/services/{service_id}/suggestions",
    response_model=SuggestionOut,
    status_code=status.HTTP_201_CREATED,
    responses=errors(404),
)
def suggest_change(
    session: SessionDep, user: CurrentUser, service_id: uuid.UUID, body: SuggestionIn
) -> SuggestionOut:
    """Propose a change to a listing (any signed-in user); it waits in the review queue."""
    return _out(queue.suggest(session, user, service_id, body.changes, note=body.note))


@router.get("/v1/review-queue", response_model=list[QueueItemOut], responses=errors(403))
def review_queue(session: SessionDep, user: CurrentUser) -> list[QueueItemOut]:
    """Open problem reports, referral warnings and suggestions: urgent first, then newest."""
    return [
        QueueItemOut.model_validate(item, from_attributes=True)
        for item in queue.review_queue(session, user)
    ]


@router.post(
    "/v1/suggestions/{suggestion_id}/decision",
    response_model=SuggestionOut,
    responses=errors(403, 404, 409),
)
def decide_suggestion(
    session: SessionDep, user: CurrentUser, suggestion_id: uuid.UUID, body: SuggestionDecision
) -> SuggestionOut:
    """Approve a suggestion (with edits on top, if any) or reject it (coordinators, admins)."""
    decided = queue.decide_suggestion(
        session, user, suggestion_id, approve=body.approve, edits=body.edits, note=body.note
    )
    return _out(decided)


@router.post(
    "/v1/problem-reports/{report_id}/decision",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=errors(403, 404, 409),
)
def decide_problem(
    session: SessionDep, user: CurrentUser, report_id: uuid.UUID, body: ProblemDecision
) -> None:
    """Close a problem report of your program: resolved or dismissed."""
    queue.decide_problem(session, user, report_id, resolved=body.resolved, note=body.note)
