"""Referral commands and reads. Who sees what: a mentor their own referrals, a coordinator (or
admin) their program's; anyone else gets NotFound (not Forbidden: existence is private too).
Every read and write leaves an audit row."""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from typing import Any, NoReturn

from sqlalchemy import Row, func, literal, select
from sqlalchemy.orm import Session

from directory.accounts.audit import record, record_refused
from directory.accounts.models import Program, User
from directory.accounts.roles import can, require
from directory.errors import (
    Conflict,
    DirectoryError,
    Forbidden,
    InvalidInput,
    NotFound,
    PreconditionFailed,
)
from directory.listings.models import Service, ServiceAtLocation
from directory.listings.taxonomy import resolve_needs
from directory.referrals import lifecycle, statements
from directory.referrals.models import Referral, ReferralEvent
from directory.referrals.notes import NoteCipher, seal_consent
from directory.referrals.schemas import (
    ContactAttempt,
    EventIn,
    FollowUpEvent,
    NoteEvent,
    ReferralCreate,
    StatusEvent,
    SubStatusEvent,
)
from directory.referrals.statements import REFERRAL

DEFAULT_FOLLOW_UP = dt.timedelta(days=2)


def create_referral(
    session: Session,
    mentor: User,
    doc: ReferralCreate,
    *,
    cipher: NoteCipher,
    idempotency_key: str | None = None,
) -> tuple[Row[Any], bool]:
    """Create a referral (status requested); with an Idempotency-Key already used by this
    mentor for the same request, the referral it made. (referral, created?)

    One statement on the common path: it checks the listing, site and needs, inserts the
    referral (nothing when the key is taken: a concurrent retry waits for the first, then
    finds it), its first event and the audit row. Only when nothing was inserted does a second
    look say why."""
    require(mentor, "refer")
    if mentor.program_id is None:
        raise Forbidden("only members of a program make referrals: ask an admin to add you")
    digest = hashlib.sha256(doc.model_dump_json().encode()).hexdigest()
    now = dt.datetime.now(dt.UTC)
    params: dict[str, Any] = {
        "id": uuid.uuid4(),
        "program_id": mentor.program_id,
        "mentor_id": mentor.id,
        "mentee_ref": doc.mentee_ref,
        "service_id": doc.service_id,
        "location_id": doc.location_id,
        "needs": list(dict.fromkeys(doc.needs)),
        "priority": doc.priority,
        "contact_preference": doc.contact_preference,
        "consent": seal_consent(doc.consent.model_dump(mode="json"), cipher),
        "note": cipher.seal(doc.note) if doc.note else None,
        "status": "requested",
        "follow_up_at": doc.follow_up_at or now + DEFAULT_FOLLOW_UP,
        "last_event_at": now,
        "idempotency_key": idempotency_key,
        "request_hash": digest if idempotency_key else None,
        "version": 1,
        **_event_params(mentor, "status", {"to": "requested"}, None, now, "referral.create"),
    }
    create = statements.create(with_site=doc.location_id is not None, with_needs=bool(doc.needs))
    referral = session.execute(create, params).one_or_none()
    if referral is not None:
        return referral, True
    if idempotency_key:
        earlier = _by_key(session, mentor, idempotency_key, digest)
        if earlier is not None:
            record(session, mentor, "referral.create.replayed", earlier)
            return earlier, False
    _check_target(session, mentor, doc)  # says what is wrong
    raise Conflict("the referral could not be made (its listing changed meanwhile): try again")


def _event_params(
    actor: User,
    kind: str,
    data: dict[str, Any],
    text: bytes | None,
    at: dt.datetime,
    action: str,
) -> dict[str, Any]:
    """The parameters of a write's event and audit row (see ``statements``)."""
    return {
        "event_id": uuid.uuid4(),
        "event_type": kind,
        "event_at": at,
        "actor_id": actor.id,
        "event_data": data,
        "event_text": text,
        "action": action,
    }


def _by_key(session: Session, mentor: User, key: str, digest: str) -> Row[Any] | None:
    earlier = session.execute(
        select(REFERRAL).where(REFERRAL.c.mentor_id == mentor.id, REFERRAL.c.idempotency_key == key)
    ).one_or_none()
    if earlier is not None and earlier.request_hash != digest:
        raise InvalidInput(
            "this Idempotency-Key was used for a different referral", field="Idempotency-Key"
        )
    return earlier


def _check_target(session: Session, mentor: User, doc: ReferralCreate) -> None:
    pattern = session.scalar(
        select(Program.mentee_ref_pattern).where(
            Program.id == mentor.program_id,
            ~statements.follows_code_pattern(literal(mentor.program_id), literal(doc.mentee_ref)),
        )
    )
    if pattern is not None:
        raise InvalidInput(
            f"mentee_ref does not look like your program's codes (the pattern {pattern})",
            field="mentee_ref",
        )
    state = session.scalar(select(Service.curation_status).where(Service.id == doc.service_id))
    if state is None:
        raise InvalidInput(f"no listing {doc.service_id}", field="service_id")
    if state != "published":
        raise Conflict(
            f"the listing is {state}: only published listings take referrals", field="service_id"
        )
    if doc.location_id is not None:
        site = select(ServiceAtLocation.id).where(
            ServiceAtLocation.service_id == doc.service_id,
            ServiceAtLocation.location_id == doc.location_id,
        )
        if session.scalar(site) is None:
            raise InvalidInput("this location is not one of the listing's", field="location_id")
    resolve_needs(session, doc.needs)


def visible(session: Session, user: User, referral_id: uuid.UUID) -> Referral:
    """A referral the user may see; NotFound for every other (another mentor's, another
    program's), so that a referral's existence does not leak either."""
    query = select(Referral).where(Referral.id == referral_id, *_scope(user))
    found = session.scalars(query.execution_options(populate_existing=True)).one_or_none()
    if found is None:
        _denied(session, user, referral_id)
    return found


def _locked(session: Session, user: User, referral_id: uuid.UUID) -> Row[Any]:
    """``visible``, as a plain row locked for an update."""
    params = {"referral_id": referral_id, "user_id": user.id, "program_id": user.program_id}
    found = session.execute(statements.locked(_scope_name(user)), params).one_or_none()
    if found is None:
        _denied(session, user, referral_id)
    return found


def _denied(session: Session, user: User, referral_id: uuid.UUID) -> NoReturn:
    record_refused(session, user, "referral.denied", referral_id)
    raise NotFound(f"no referral {referral_id}")


def _scope_name(user: User) -> str:
    """Which referrals a user sees: ``none`` (no program), ``mine`` (a mentor's own, in the
    program) or ``program`` (a coordinator's or admin's)."""
    if user.program_id is None:
        return "none"
    return "program" if can(user, "read-program-referrals") else "mine"


def _scope(user: User) -> list[Any]:
    scope = _scope_name(user)
    if scope == "none":
        return [Referral.id.is_(None)]
    if scope == "mine":
        return [Referral.mentor_id == user.id, Referral.program_id == user.program_id]
    return [Referral.program_id == user.program_id]


def add_event(
    session: Session,
    user: User,
    referral_id: uuid.UUID,
    event: EventIn,
    *,
    expected_version: int | None,
    cipher: NoteCipher,
) -> Row[Any]:
    """Append an event (after checking the caller saw the current version) and apply its
    effect: the referral's UPDATE, the event and the audit row are one statement."""
    referral = _locked(session, user, referral_id)
    try:
        if expected_version is not None and referral.version != expected_version:
            raise PreconditionFailed(
                f"the referral is at version {referral.version}, not {expected_version}: reload it"
            )
        now = dt.datetime.now(dt.UTC)
        changes: dict[str, Any] = {}
        data, text = _apply(session, referral, event, now, changes)
    except DirectoryError as refused:
        record_refused(session, user, f"referral.{event.type}.{refused.status_code}", referral_id)
        raise
    sealed = cipher.seal(text) if text else None
    params = {
        "referral_id": referral.id,
        **{f"new_{name}": value for name, value in changes.items()},
        **_event_params(user, event.type, data, sealed, now, f"referral.{event.type}"),
    }
    return session.execute(statements.change(frozenset(changes)), params).one()


def _apply(
    session: Session, referral: Row[Any], event: EventIn, now: dt.datetime, changes: dict[str, Any]
) -> tuple[dict[str, Any], str | None]:
    """The event's effect: the referral's new values go into ``changes``; (the event's stored
    data, its free text to encrypt)."""
    if isinstance(event, StatusEvent):
        return _move(session, referral, event, now, changes), event.reason
    if referral.status in lifecycle.TERMINAL:
        raise Conflict(f"the referral is {referral.status}: it takes no more events")
    if isinstance(event, ContactAttempt):
        if event.result == "reached" and referral.first_contact_at is None:  # a contact
            changes["first_contact_at"] = now
        return {"channel": event.channel, "result": event.result}, None
    if isinstance(event, SubStatusEvent):
        changes["sub_status"] = event.value
        return {"value": event.value, "date": event.date.isoformat() if event.date else None}, None
    if isinstance(event, FollowUpEvent):
        if event.next_at <= now:
            raise InvalidInput("next_at must be in the future", field="next_at")
        data = {"next_at": event.next_at.isoformat(), "due_at": referral.follow_up_at.isoformat()}
        changes["follow_up_at"] = event.next_at  # the due time is kept above, for the reports
        return data, None
    assert isinstance(event, NoteEvent)
    return {}, event.text


def _move(
    session: Session,
    referral: Row[Any],
    event: StatusEvent,
    now: dt.datetime,
    changes: dict[str, Any],
) -> dict[str, Any]:
    allowed = lifecycle.next_statuses(referral.status)
    if event.to not in allowed:
        raise Conflict(
            f"a {referral.status} referral cannot become {event.to};"
            f" allowed: {', '.join(sorted(allowed)) or 'none (it is final)'}",
            field="to",
        )
    if event.to in lifecycle.NEEDS_REASON and not event.reason:
        raise InvalidInput(f"moving to {event.to} needs a reason", field="reason")
    outcomes = lifecycle.OUTCOMES.get(event.to)
    if outcomes is not None and event.outcome not in outcomes:
        raise InvalidInput(
            f"{event.to} needs an outcome: one of {', '.join(outcomes)}", field="outcome"
        )
    if outcomes is None and event.outcome is not None:
        raise InvalidInput(f"{event.to} takes no outcome", field="outcome")
    if (
        event.outcome == "could-not-contact"
        and _attempts(session, referral) < lifecycle.ATTEMPTS_BEFORE_COULD_NOT_CONTACT
    ):
        raise Conflict(
            "could-not-contact needs at least"
            f" {lifecycle.ATTEMPTS_BEFORE_COULD_NOT_CONTACT} logged contact attempts first",
            field="outcome",
        )
    changes.update(status=event.to, outcome=event.outcome)
    if event.to == "accepted":
        changes["accepted_at"] = now
    if event.to in lifecycle.TERMINAL:
        changes.update(lifecycle.closing(now))
    return {"to": event.to, "outcome": event.outcome}


def _attempts(session: Session, referral: Row[Any]) -> int:
    """Contact attempts that did not reach the mentee."""
    return (
        session.scalar(
            select(func.count()).where(
                ReferralEvent.referral_id == referral.id,
                ReferralEvent.type == "contact-attempt",
                ReferralEvent.data["result"].astext != "reached",
            )
        )
        or 0
    )
