"""The coordinators' review queue: what mentors, referrals, imports and other people say about
listings, each waiting for a decision.

Three kinds of item, most urgent first, then newest:

- ``problem``: a mentor's problem report (wrong number, closed, full, other), of the reader's
  program (an admin sees every program's); resolved with a fix of the listing in the same step
  (``Fix``), or dismissed;
- ``referrals``: a listing that two or more of the program's referrals failed at in 30 days for
  no capacity or no contact (the same rule as the referral report's services to check), until a
  coordinator checks the listing (a verification after the latest failure: a new failure brings
  the warning back);
- ``suggestion``: a proposed change of a listing's fields (``POST
  /v1/services/{id}/suggestions``, any signed-in user, or a re-import that met a hand edit),
  shown as a diff against the listing as it is now; approved as it is or edited first (the
  change is made like any edit, and lands in the listing's history), or rejected.

Decisions are audited and never delete anything: a decided item leaves the queue. A decision
that fails changes nothing (each checks before it writes).
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field, replace
from typing import Any, Literal, get_args

from pydantic import ValidationError
from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from directory.accounts import audit
from directory.accounts.models import User
from directory.accounts.roles import can, in_reach, require
from directory.curation.models import ChangeSuggestion, ProblemReport
from directory.curation.service import phone_fix
from directory.errors import Conflict, InvalidInput, NotFound
from directory.listings import curating, queries, service
from directory.listings.models import Service
from directory.listings.read_schemas import ServiceRead
from directory.listings.schemas import ServiceUpdate
from directory.referrals.models import Referral
from directory.referrals.report_schemas import CHECK_OUTCOMES, RECENT
from directory.referrals.reports import services_to_check

Kind = Literal["problem", "referrals", "suggestion"]
KINDS: tuple[Kind, ...] = get_args(Kind)
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
    created_at: dt.datetime | None  # referral counts: the latest failure
    urgent: bool
    detail: dict[str, Any] = field(default_factory=dict)
    changes: list[Change] = field(default_factory=list)
    # the email of who made it (None: an import, or an account erased; "": someone of another
    # program, not named)
    who: str | None = None
    listing: ServiceRead | None = None  # the listing as it is now (where a decision starts)


@dataclass(frozen=True)
class Fix:
    """What a coordinator changes on the listing while resolving a problem report: fields of
    ``ServiceUpdate``, and/or archiving it (closed for good)."""

    changes: dict[str, Any] = field(default_factory=dict)
    phone: str | None = None  # a corrected number, for the one of ``phone_id`` (None: added)
    phone_id: uuid.UUID | None = None
    archive: bool = False
    version: int | None = None  # the listing's version the coordinator saw (None: any)

    def __bool__(self) -> bool:
        return bool(self.changes or self.phone or self.archive)


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
    text = _note(note)
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
    expected_version: int | None = None,
) -> ChangeSuggestion:
    """Approve a suggestion (with a coordinator's edits on top, if any) or reject it; given the
    listing's version the coordinator saw, a listing changed since is refused (stale)."""
    require(user, "curate")
    suggestion = session.get(ChangeSuggestion, suggestion_id, with_for_update=True)
    if suggestion is None:
        raise NotFound(f"no suggestion {suggestion_id}")
    if suggestion.status != "open":
        raise Conflict(f"this suggestion was already {suggestion.status}")
    text = _note(note)
    if approve:
        patch = _checked({**suggestion.changes, **(edits or {})}, staff=True)
        service.update_service(
            session, suggestion.service_id, patch, expected_version=expected_version,
            by=user.email,
        )  # fmt: skip
    elif edits:
        raise InvalidInput("edits go with an approval", field="edits")
    suggestion.status = "approved" if approve else "rejected"
    _decided(suggestion, user, text)
    audit.record(
        session, user, f"suggestion.{suggestion.status}", None,
        suggestion_id=str(suggestion.id), service_id=str(suggestion.service_id),
        edited=sorted(edits or {}),
    )  # fmt: skip
    session.flush()
    return suggestion


def decide_problem(
    session: Session,
    user: User,
    report_id: uuid.UUID,
    *,
    resolved: bool,
    note: str | None,
    fix: Fix | None = None,
) -> ProblemReport:
    """Close a problem report: resolved (with the listing's fix, if any, made in the same step)
    or dismissed."""
    require(user, "review-problems")
    report = session.get(ProblemReport, report_id, with_for_update=True)
    if report is None or not in_reach(user, report.program_id):
        raise NotFound(f"no problem report {report_id}")
    if report.status != "open":
        raise Conflict(f"this report was already {report.status}")
    text = _note(note)
    if fix and not resolved:
        raise InvalidInput("a fix goes with resolving the report", field="fix")
    fixed = _apply_fix(session, user, report.service_id, fix) if fix else []
    report.status = "resolved" if resolved else "dismissed"
    _decided(report, user, text)
    audit.record(
        session, user, f"problem.{report.status}", None,
        report_id=str(report.id), service_id=str(report.service_id), fixed=fixed,
    )  # fmt: skip
    session.flush()
    return report


def _apply_fix(session: Session, user: User, service_id: uuid.UUID, fix: Fix) -> list[str]:
    """Make the fix through the listing service (its history records it); what it changed."""
    changes = dict(fix.changes)
    if fix.phone:
        listing = queries.read_service(session, service_id, published_only=False)
        changes |= phone_fix(listing, fix.phone_id, fix.phone)
    version = fix.version
    if changes:
        patch = _checked(changes, staff=True)
        service.update_service(session, service_id, patch, expected_version=version, by=user.email)
        version = None  # the update checked it, and moved it on
    if fix.archive:
        curating.archive_service(session, service_id, expected_version=version, by=user.email)
    return sorted(changes) + (["archived"] if fix.archive else [])


def set_capacity(
    session: Session, user: User, service_id: uuid.UUID, capacity: str | None
) -> Service:
    """Set a listing's capacity from the queue (referrals failed there: a waitlist, full)."""
    require(user, "curate")
    if not capacity:
        raise InvalidInput("choose the capacity", field="capacity_status")
    patch = _checked({"capacity_status": capacity}, staff=True)
    found = service.update_service(session, service_id, patch, expected_version=None, by=user.email)
    audit.record(
        session, user, "referrals.capacity", None, service_id=str(service_id), capacity=capacity
    )
    return found


def check_referrals(
    session: Session, user: User, service_id: uuid.UUID, *, method: str | None, note: str | None
) -> Service:
    """Record that a coordinator checked a listing referrals failed at (a verification): its
    warning leaves the queue until a referral fails there again."""
    require(user, "curate")
    checked = curating.verify_service(
        session, service_id, by=user.email, expected_version=None, method=method or None,
        note=_note(note),
    )  # fmt: skip
    audit.record(session, user, "referrals.checked", None, service_id=str(service_id))
    return checked


def review_queue(session: Session, reader: User, *, limit: int = 200) -> list[QueueItem]:
    """Every open item the reader may decide, urgent first, then newest."""
    require(reader, "curate")
    items = _problems(session, reader, limit) + _suggestions(session, reader, limit)
    if reader.program_id is not None:
        items += _referrals(session, reader.program_id)
    now = dt.datetime.now(dt.UTC)
    items.sort(key=lambda i: (i.urgent, i.created_at or now), reverse=True)
    return _with_listings(session, items[:limit])


def _problems(session: Session, reader: User, limit: int) -> list[QueueItem]:
    query = (
        select(ProblemReport, Service.name, User.email)
        .join(Service, Service.id == ProblemReport.service_id)
        .outerjoin(User, User.id == ProblemReport.reporter_id)
        .where(ProblemReport.status == "open")
    )
    if not can(reader, "read-all-programs"):  # of no program: no reports to decide
        query = query.where(ProblemReport.program_id == reader.program_id)
        if reader.program_id is None:
            return []
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
            who=email,
        )
        for report, name, email in rows
    ]


def _suggestions(session: Session, reader: User, limit: int) -> list[QueueItem]:
    """Open suggestions: listings are the deployment's, so every coordinator decides them, but
    who suggested one is named only to their own program's staff (and admins)."""
    found = session.execute(
        select(ChangeSuggestion, User.email)
        .outerjoin(User, User.id == ChangeSuggestion.suggested_by)
        .where(ChangeSuggestion.status == "open")
        .order_by(ChangeSuggestion.created_at.desc())
        .limit(limit)
    ).all()
    listings = {s.id: s for s in queries.read_services(session, [s.service_id for s, _ in found])}
    items = []
    for suggestion, email in found:
        listing = listings[suggestion.service_id]
        now = listing.model_dump(mode="json")
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
                who=email if in_reach(reader, suggestion.program_id) or not email else "",
                listing=listing,
            )
        )
    return items


def _referrals(session: Session, program_id: uuid.UUID) -> list[QueueItem]:
    """The listings to check, with the first and latest failure, unless a person verified the
    listing after the latest."""
    rows = services_to_check(session, program_id)
    spans = _failures(session, program_id, [row.service_id for row in rows])
    return [
        QueueItem(
            kind="referrals",
            id=None,
            service_id=row.service_id,
            service_name=row.name,
            created_at=spans[row.service_id][1],
            urgent=True,
            detail={
                "no_capacity": row.no_capacity,
                "could_not_contact": row.could_not_contact,
                "first": spans[row.service_id][0],
            },
        )
        for row in rows
        if row.service_id in spans and not _checked_since(*spans[row.service_id][1:])
    ]


Span = tuple[dt.datetime, dt.datetime, dt.datetime | None]


def _failures(
    session: Session, program_id: uuid.UUID, ids: list[uuid.UUID]
) -> dict[uuid.UUID, Span]:
    """Each listing's first and latest recent failure, and when a person last verified it (an
    import's verification does not count: a file vouches for a listing, not for what mentees
    met there)."""
    since = dt.datetime.now(dt.UTC) - RECENT
    by_person = case(
        (Service.verification_method == "import", None), else_=Service.last_verified_at
    )
    query = (
        select(
            Referral.service_id, func.min(Referral.closed_at), func.max(Referral.closed_at),
            func.max(by_person),
        )
        .join(Service, Service.id == Referral.service_id)
        .where(
            Referral.program_id == program_id, Referral.status == "failed",
            Referral.outcome.in_(CHECK_OUTCOMES), Referral.closed_at >= since,
            Referral.service_id.in_(ids),
        )
        .group_by(Referral.service_id)
    )  # fmt: skip
    return {row[0]: (row[1], row[2], row[3]) for row in session.execute(query)}


def _checked_since(last_failure: dt.datetime, verified: dt.datetime | None) -> bool:
    return verified is not None and verified > last_failure


def _with_listings(session: Session, items: list[QueueItem]) -> list[QueueItem]:
    """The items with their listings as they are now (loaded once for all)."""
    missing = list({i.service_id for i in items if i.listing is None})
    listings = {s.id: s for s in queries.read_services(session, missing)}
    return [
        i if i.listing is not None else replace(i, listing=listings[i.service_id]) for i in items
    ]


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


def _note(note: str | None) -> str | None:
    text = " ".join((note or "").split()) or None
    if text is not None and len(text) > MAX_NOTE:
        raise InvalidInput(f"at most {MAX_NOTE} characters", field="note")
    return text


def _decided(item: ChangeSuggestion | ProblemReport, user: User, note: str | None) -> None:
    item.decided_by = user.id
    item.decided_at = dt.datetime.now(dt.UTC)
    item.decision_note = note
