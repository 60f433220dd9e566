"""Referrals: create, follow up with events, read, list, the follow-up list, the audit log."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Path, Query, Request, Response, status

from directory.accounts.audit import entries
from directory.accounts.roles import require
from directory.api.deps import CurrentUser, IfMatch, SessionDep
from directory.referrals import privacy, queries, service
from directory.referrals.lifecycle import STATUSES
from directory.referrals.notes import NoteCipher, cipher_for
from directory.referrals.schemas import EventIn, ReferralCreate, ReferralPage, ReferralRead


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
    return cipher_for(settings.note_keys, settings.secret_key)


@router.post("/v1/referrals", response_model=ReferralRead, status_code=status.HTTP_201_CREATED)
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


@router.post("/v1/referrals/{referral_id}/events", response_model=ReferralRead)
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


@router.get("/v1/referrals/{referral_id}", response_model=ReferralRead)
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
    need: Annotated[str | None, Query(pattern=r"^[a-z0-9-]{1,64}$")] = None,
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
    request: Request, session: SessionDep, user: CurrentUser, due_before: dt.datetime | None = None
) -> list[ReferralRead]:
    """The mentor's to-do list: open referrals due for follow-up, urgent and overdue first."""
    due = due_before or dt.datetime.now(dt.UTC)
    if due.tzinfo is None:
        due = due.replace(tzinfo=dt.UTC)
    return queries.follow_ups(session, user, due_before=due, cipher=_cipher(request))


@router.get("/v1/audit")
def audit_log(
    session: SessionDep, user: CurrentUser, referral_id: uuid.UUID | None = None
) -> list[dict[str, object]]:
    """The program's audit rows (coordinators and admins), newest first."""
    rows = entries(session, require(user, "read-audit"), referral_id=referral_id)
    return [
        {
            "at": r.at.isoformat(),
            "actor_id": str(r.actor_id),
            "action": r.action,
            "referral_id": str(r.referral_id) if r.referral_id else None,
            "detail": r.detail,
        }
        for r in rows
    ]


MenteeRef = Annotated[str, Path(min_length=3, max_length=40)]


@router.get("/v1/mentees/{mentee_ref}/referrals", response_model=list[ReferralRead])
def export_mentee(
    request: Request, session: SessionDep, user: CurrentUser, mentee_ref: MenteeRef
) -> list[ReferralRead]:
    """Access request: every referral of one mentee code in the program, with its history."""
    return privacy.export(session, user, mentee_ref, cipher=_cipher(request))


@router.delete("/v1/mentees/{mentee_ref}/referrals")
def erase_mentee(session: SessionDep, user: CurrentUser, mentee_ref: MenteeRef) -> dict[str, int]:
    """Erasure request: delete every referral of one mentee code in the program."""
    return privacy.erase(session, user, mentee_ref)
