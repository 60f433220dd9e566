"""The coordinators' review queue: what mentors, referrals and other people say about listings,
each waiting for a decision.

Three kinds of item, most urgent first, then newest:

- ``problem``: a mentor's problem report (wrong number, closed, full, other), of the reader's
  program (an admin sees every program's);
- ``referrals``: a listing that two or more of the program's referrals failed at in 30 days for
  no capacity or no contact (the same rule as the referral report's services to check);
- ``suggestion``: a proposed change of a listing's fields (``POST
  /v1/services/{id}/suggestions``, any signed-in user), shown as a diff against the listing as
  it is now; approved as it is or edited first (the change is made like any edit, and lands in
  the listing's history), or rejected.

Decisions are audited and never delete anything: a decided item leaves the queue.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from directory.accounts import audit
from directory.accounts.models import User
from directory.accounts.roles import can, require
from directory.curation.models import ChangeSuggestion, ProblemReport
from directory.errors import Conflict, InvalidInput, NotFound
from directory.listings import queries, service
from directory.listings.models import Service
from directory.listings.schemas import ServiceUpdate
from directory.referrals.reports import services_to_check

URGENT_PROBLEMS = ("wrong-number", "closed")  # a mentee could be sent to a dead end today
STAFF_ONLY = ("curation_status",)  # publishing and archiving are a coordinator's own acts
MAX_NOTE = 1000


@dataclass(frozen=True)
class Change:
    """One field of a suggestion: the listing's value now, and the one proposed."""

    field: str
    current: Any
    proposed: Any


@dataclass(frozen=True)
class QueueItem:
    kind: str  # problem | referrals | suggestion
    id: uuid.UUID | None  # the report's or the suggestion's (None for referral counts)
    service_id: uuid.UUID
    service_name: str
    created_at: dt.datetime | None
    urgent: bool
    detail: dict[str, Any] = field(default_factory=dict)
    changes: list[Change] = field(default_factory=list)


def suggest(
    session: Session,
    user: User,
    service_id: uuid.UUID,
    changes: dict[str, Any],
    *,
    note: str | None = None,
    source: str = "user",
) -> ChangeSuggestion:
    """Propose a change of a listing's fields; it waits in the queue."""
    listing = session.get(Service, service_id)
    if listing is None or (listing.curation_status != "published" and not can(user, "curate")):
        raise NotFound(f"no listing {service_id}")
    _checked(changes)
    text = " ".join((note or "").split()) or None
    if text is not None and len(text) > MAX_NOTE:
        raise InvalidInput(f"at most {MAX_NOTE} characters", field="note")
    suggestion = ChangeSuggestion(
        service_id=service_id,
        changes=changes,
        note=text,
        source=source,
        suggested_by=user.id,
        program_id=user.program_id,
        base_version=listing.version,
    )
    session.add(suggestion)
    session.flush()
    return suggestion


def decide_suggestion(
    session: Session,
    user: User,
    suggestion_id: uuid.UUID,
    *,
    approve: bool,
    edits: dict[str, Any] | None = None,
    note: str | None = None,
) -> ChangeSuggestion:
    """Approve a suggestion (with a coordinator's edits on top, if any) or reject it."""
    require(user, "curate")
    suggestion = session.get(ChangeSuggestion, suggestion_id, with_for_update=True)
    if suggestion is None:
        raise NotFound(f"no suggestion {suggestion_id}")
    if suggestion.status != "open":
        raise Conflict(f"this suggestion was already {suggestion.status}")
    if approve:
        patch = _checked({**suggestion.changes, **(edits or {})}, staff=True)
        service.update_service(
            session, suggestion.service_id, patch, expected_version=None, by=user.email
        )
    elif edits:
        raise InvalidInput("edits go with an approval", field="edits")
    suggestion.status = "approved" if approve else "rejected"
    _decided(suggestion, user, note)
    audit.record(
        session, user, f"suggestion.{suggestion.status}", None,
        suggestion_id=str(suggestion.id), service_id=str(suggestion.service_id),
    )  # fmt: skip
    session.flush()
    return suggestion


def decide_problem(
    session: Session, user: User, report_id: uuid.UUID, *, resolved: bool, note: str | None
) -> ProblemReport:
    """Close a problem report: resolved (the listing was fixed) or dismissed."""
    require(user, "review-problems")
    report = session.get(ProblemReport, report_id, with_for_update=True)
    if report is None or (user.role != "admin" and report.program_id != user.program_id):
        raise NotFound(f"no problem report {report_id}")
    if report.status != "open":
        raise Conflict(f"this report was already {report.status}")
    report.status = "resolved" if resolved else "dismissed"
    _decided(report, user, note)
    audit.record(
        session, user, f"problem.{report.status}", None,
        report_id=str(report.id), service_id=str(report.service_id),
    )  # fmt: skip
    session.flush()
    return report


def review_queue(session: Session, reader: User, *, limit: int = 200) -> list[QueueItem]:
    """Every open item the reader may decide, urgent first, then newest."""
    require(reader, "curate")
    items = _problems(session, reader, limit) + _suggestions(session, limit)
    if reader.program_id is not None:
        items += [
            QueueItem(
                kind="referrals",
                id=None,
                service_id=row.service_id,
                service_name=row.name,
                created_at=None,
                urgent=True,
                detail={"no_capacity": row.no_capacity, "could_not_contact": row.could_not_contact},
            )
            for row in services_to_check(session, reader.program_id)
        ]
    now = dt.datetime.now(dt.UTC)  # referral counts are about the last 30 days: current
    items.sort(key=lambda i: (i.urgent, i.created_at or now), reverse=True)
    return items[:limit]


def _problems(session: Session, reader: User, limit: int) -> list[QueueItem]:
    query = (
        select(ProblemReport, Service.name)
        .join(Service, Service.id == ProblemReport.service_id)
        .where(ProblemReport.status == "open")
    )
    if reader.role != "admin":
        query = query.where(ProblemReport.program_id == reader.program_id)
    rows = session.execute(query.order_by(ProblemReport.created_at.desc()).limit(limit))
    return [
        QueueItem(
            kind="problem",
            id=report.id,
            service_id=report.service_id,
            service_name=name,
            created_at=report.created_at,
            urgent=report.kind in URGENT_PROBLEMS,
            detail={"kind": report.kind, "detail": report.detail},
        )
        for report, name in rows
    ]


def _suggestions(session: Session, limit: int) -> list[QueueItem]:
    found = list(
        session.scalars(
            select(ChangeSuggestion)
            .where(ChangeSuggestion.status == "open")
            .order_by(ChangeSuggestion.created_at.desc())
            .limit(limit)
        )
    )
    listings = {s.id: s for s in queries.read_services(session, [s.service_id for s in found])}
    items = []
    for suggestion in found:
        now = listings[suggestion.service_id].model_dump(mode="json")
        items.append(
            QueueItem(
                kind="suggestion",
                id=suggestion.id,
                service_id=suggestion.service_id,
                service_name=now["name"],
                created_at=suggestion.created_at,
                urgent=False,
                detail={
                    "note": suggestion.note,
                    "source": suggestion.source,
                    "changed_since": now["version"] != suggestion.base_version,
                },
                changes=[Change(k, now.get(k), v) for k, v in suggestion.changes.items()],
            )
        )
    return items


def _checked(changes: dict[str, Any], *, staff: bool = False) -> ServiceUpdate:
    """The changes as a valid partial update; InvalidInput naming the first bad field."""
    if not changes:
        raise InvalidInput("suggest at least one change", field="changes")
    refused = [f for f in STAFF_ONLY if f in changes and not staff]
    if refused:
        raise InvalidInput(f"only coordinators change {refused[0]}", field=f"changes.{refused[0]}")
    try:
        return ServiceUpdate.model_validate(changes)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise InvalidInput(first["msg"], field=f"changes.{where}" if where else "changes") from None


def _decided(item: ChangeSuggestion | ProblemReport, user: User, note: str | None) -> None:
    text = " ".join((note or "").split()) or None
    if text is not None and len(text) > MAX_NOTE:
        raise InvalidInput(f"at most {MAX_NOTE} characters", field="note")
    item.decided_by = user.id
    item.decided_at = dt.datetime.now(dt.UTC)
    item.decision_note = text
