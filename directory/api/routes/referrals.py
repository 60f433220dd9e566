"""Referrals: create, follow up with events, read, list, the follow-up list, the audit log."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import uuid
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Header, Path, Query, Request, Response, status
from pydantic import BaseModel, Field

from directory.accounts.audit import entries
from directory.accounts.roles import require
from directory.api.deps import CurrentUser, IfMatch, SessionDep
from directory.api.openapi import errors
from directory.referrals import privacy, queries, service
from directory.referrals.lifecycle import STATUSES
from directory.referrals.notes import NoteCipher, cipher_for
from directory.referrals.report_csv import spreadsheet_cell
from directory.referrals.schemas import (
    MENTEE_REF,
    MENTEE_REF_DOC,
    EventIn,
    ReferralCreate,
    ReferralPage,
    ReferralRead,
)
from directory.types import DateTime, NeedCode


async def _no_store(response: Response) -> None:
    """Referral answers hold what mentees told their mentors: no cache keeps them."""
    response.headers["Cache-Control"] = "private, no-store"


router = APIRouter(tags=["referrals"], dependencies=[Depends(_no_store)])
IdempotencyKey = Annotated[
    str | None,
    Header(alias="Idempotency-Key", min_length=8, max_length=100, pattern=r"^[\x21-\x7e]+$"),
]


def _cipher(request: Request) -> NoteCipher:
    settings = request.app.state.settings
    return cipher_for(settings.note_keys, settings.secret_key, legacy=settings.env != "production")


MADE_HEADERS = {
    "Location": {"description": "The referral's URL", "schema": {"type": "string"}},
    "ETag": {"description": 'Its version, for If-Match: "1"', "schema": {"type": "string"}},
}


@router.post(
    "/v1/referrals",
    response_model=ReferralRead,
    status_code=status.HTTP_201_CREATED,
    responses={
        201: {"description": "The referral, made", "headers": MADE_HEADERS},
        200: {
            "description": "A retry with an Idempotency-Key already used: the referral it made",
            "model": ReferralRead,
            "headers": {
                **MADE_HEADERS,
                "Idempotent-Replayed": {"schema": {"type": "string", "enum": ["true"]}},
            },
        },
        **errors(403, 409),
    },
)
def create_referral(
    request: Request,
    response: Response,
    session: SessionDep,
    user: CurrentUser,
    body: ReferralCreate,
    idempotency_key: IdempotencyKey = None,
) -> ReferralRead:
    """Refer a mentee (status ``requested``); a retry with the same Idempotency-Key returns
    the same referral."""
    cipher = _cipher(request)
    referral, created = service.create_referral(
        session, user, body, cipher=cipher, idempotency_key=idempotency_key
    )
    if not created:
        response.status_code = status.HTTP_200_OK
        response.headers["Idempotent-Replayed"] = "true"
    response.headers["Location"] = f"/v1/referrals/{referral.id}"
    response.headers["ETag"] = f'"{referral.version}"'
    return queries.to_read(referral, cipher)


@router.post(
    "/v1/referrals/{referral_id}/events", response_model=ReferralRead, responses=errors(404, 409)
)
def add_event(
    request: Request,
    response: Response,
    session: SessionDep,
    user: CurrentUser,
    referral_id: uuid.UUID,
    event: EventIn,
    expected: IfMatch,
) -> ReferralRead:
    """Append a follow-up event; ``If-Match: <version>`` (412 when stale, 409 for a move the
    lifecycle does not allow)."""
    cipher = _cipher(request)
    referral = service.add_event(
        session, user, referral_id, event, expected_version=expected, cipher=cipher
    )
    response.headers["ETag"] = f'"{referral.version}"'
    return queries.to_read(referral, cipher)


@router.get("/v1/referrals/{referral_id}", response_model=ReferralRead, responses=errors(404))
def get_referral(
    request: Request,
    response: Response,
    session: SessionDep,
    user: CurrentUser,
    referral_id: uuid.UUID,
) -> ReferralRead:
    """The referral with its history."""
    found = queries.read_referral(session, user, referral_id, cipher=_cipher(request))
    response.headers["ETag"] = f'"{found.version}"'
    return found


@router.get("/v1/referrals", response_model=ReferralPage)
def list_referrals(
    request: Request,
    session: SessionDep,
    user: CurrentUser,
    status_: Annotated[
        str | None, Query(alias="status", pattern="^(" + "|".join(STATUSES) + ")$")
    ] = None,
    need: NeedCode | None = None,
    mentee_ref: Annotated[str | None, Query(max_length=40)] = None,
    overdue: bool | None = None,
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
    per_page: Annotated[int, Query(ge=1, le=100)] = 20,
) -> ReferralPage:
    """A mentor's own referrals (a coordinator's: the program's), newest first."""
    return queries.list_referrals(
        session,
        user,
        cipher=_cipher(request),
        status=status_,
        need=need,
        mentee_ref=mentee_ref,
        overdue=overdue,
        page=page,
        per_page=per_page,
    )


@router.get("/v1/follow-ups", response_model=list[ReferralRead])
def follow_ups(
    request: Request, session: SessionDep, user: CurrentUser, due_before: DateTime | None = None
) -> list[ReferralRead]:
    """The mentor's to-do list: open referrals due for follow-up, urgent and overdue first."""
    due = due_before or dt.datetime.now(dt.UTC)
    if due.tzinfo is None:
        due = due.replace(tzinfo=dt.UTC)
    return queries.follow_ups(session, user, due_before=due, cipher=_cipher(request))


AUDIT_COLUMNS = ("at", "actor", "actor_id", "action", "referral_id", "detail")
CSV = "text/csv"


class AuditRow(BaseModel):
    at: dt.datetime
    actor: str | None = Field(description="the actor's email")
    actor_id: uuid.UUID | None
    action: str
    referral_id: uuid.UUID | None
    detail: dict[str, Any]


@router.get(
    "/v1/audit",
    response_model=None,  # rows as built, or CSV: the 200 below says both
    responses={
        200: {"model": list[AuditRow], "content": {CSV: {"schema": {"type": "string"}}}},
        **errors(403),
    },
)
def audit_log(
    session: SessionDep,
    user: CurrentUser,
    referral_id: uuid.UUID | None = None,
    action: Annotated[str | None, Query(max_length=32, pattern=r"^[a-z_.-]+$")] = None,
    actor: Annotated[str | None, Query(max_length=320)] = None,
    since: DateTime | None = None,
    until: DateTime | None = None,
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
    per_page: Annotated[int, Query(ge=1, le=500)] = 500,
    format: Literal["json", "csv"] = "json",
) -> list[dict[str, object]] | Response:
    """The program's audit rows (coordinators and admins), newest first: who (their email),
    what, when; filtered by action (or an action prefix ending in "."), actor's email and
    time; paged; ``format=csv`` for a spreadsheet."""
    rows = entries(
        session, require(user, "read-audit"), referral_id=referral_id, action=action,
        actor=actor, since=_aware(since), until=_aware(until), limit=per_page,
        offset=(page - 1) * per_page,
    )  # fmt: skip
    found: list[dict[str, object]] = [
        {
            "at": r.at.isoformat(),
            "actor": spreadsheet_cell(email) if format == "csv" else email,
            "actor_id": str(r.actor_id) if r.actor_id else None,
            "action": r.action,
            "referral_id": str(r.referral_id) if r.referral_id else None,
            "detail": r.detail,
        }
        for r, email in rows
    ]
    if format == "json":
        return found
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=AUDIT_COLUMNS)
    writer.writeheader()
    writer.writerows({**row, "detail": json.dumps(row["detail"], sort_keys=True)} for row in found)
    return Response(
        out.getvalue(),
        media_type=f"{CSV}; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="audit.csv"'},
    )


def _aware(value: dt.datetime | None) -> dt.datetime | None:
    """A time without a zone is UTC."""
    return value.replace(tzinfo=dt.UTC) if value and value.tzinfo is None else value


# the pattern is documented here and checked by the service (which says what is wrong)
MenteeRef = Annotated[
    str,
    Path(
        min_length=3,
        max_length=40,
        json_schema_extra={"pattern": MENTEE_REF.pattern},
        description=MENTEE_REF_DOC,
    ),
]


@router.get(
    "/v1/mentees/{mentee_ref}/referrals", response_model=list[ReferralRead], responses=errors(403)
)
def export_mentee(
    request: Request, session: SessionDep, user: CurrentUser, mentee_ref: MenteeRef
) -> list[ReferralRead]:
    """Access request: every referral of one mentee code in the program, with its history."""
    return privacy.export(session, user, mentee_ref, cipher=_cipher(request))


@router.delete("/v1/mentees/{mentee_ref}/referrals", responses=errors(403))
def erase_mentee(session: SessionDep, user: CurrentUser, mentee_ref: MenteeRef) -> dict[str, int]:
    """Erasure request: delete every referral of one mentee code in the program."""
    return privacy.erase(session, user, mentee_ref)
