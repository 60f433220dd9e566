"""Problem reports and mentors' lists: commands and reads."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from directory.accounts.models import User
from directory.curation.models import PROBLEM_KINDS, ProblemReport, SavedListing
from directory.errors import InvalidInput, NotFound
from directory.listings.models import Organization, Service
from directory.listings.read_schemas import ServiceRead

MAX_DETAIL = 1000


def _published(session: Session, service_id: uuid.UUID) -> None:
    found = session.scalar(
        select(Service.id).where(Service.id == service_id, Service.curation_status == "published")
    )
    if found is None:
        raise NotFound(f"no listing {service_id}")


def report_problem(
    session: Session, user: User, service_id: uuid.UUID, *, kind: str, detail: str | None
) -> ProblemReport:
    """Store a report that a listing is wrong, for the coordinators' review queue."""
    if kind not in PROBLEM_KINDS:
        raise InvalidInput(f"kind must be one of {', '.join(PROBLEM_KINDS)}", field="kind")
    text = " ".join((detail or "").split()) or None
    if text is not None and len(text) > MAX_DETAIL:
        raise InvalidInput(f"at most {MAX_DETAIL} characters", field="detail")
    if kind == "other" and text is None:
        raise InvalidInput("say what is wrong", field="detail")
    _published(session, service_id)
    report = ProblemReport(
        service_id=service_id,
        reporter_id=user.id,
        program_id=user.program_id,
        kind=kind,
        detail=text,
    )
    session.add(report)
    session.flush()
    return report


def phone_fix(listing: ServiceRead, phone_id: uuid.UUID | None, number: str) -> dict[str, Any]:
    """The listing's phones with one number corrected (the one of ``phone_id``; none given or
    none found: the number is added)."""
    phones = [
        {"number": p.number, "country": p.country, "extension": p.extension, "type": p.type,
         "description": p.description}
        for p in listing.phones
    ]  # fmt: skip
    ids = [p.id for p in listing.phones]
    if phone_id in ids:
        phones[ids.index(phone_id)].update(number=number, extension=None)
    else:
        phones.append({"number": number})
    return {"phones": phones}


def save_listing(session: Session, user: User, service_id: uuid.UUID) -> None:
    """Put a published listing on the user's list (again: nothing changes)."""
    _published(session, service_id)
    session.execute(
        insert(SavedListing).values(user_id=user.id, service_id=service_id).on_conflict_do_nothing()
    )


def unsave_listing(session: Session, user: User, service_id: uuid.UUID) -> None:
    """Take a listing off the user's list."""
    session.execute(
        delete(SavedListing).where(
            SavedListing.user_id == user.id, SavedListing.service_id == service_id
        )
    )


def saved_ids(session: Session, user: User) -> set[uuid.UUID]:
    """The ids on the user's list."""
    query = select(SavedListing.service_id).where(SavedListing.user_id == user.id)
    return set(session.scalars(query))


def saved_listings(session: Session, user: User) -> list[dict[str, Any]]:
    """The user's list, most recently saved first: id, name, organization (published only)."""
    rows = session.execute(
        select(Service.id, Service.name, Organization.name.label("organization"))
        .join(SavedListing, SavedListing.service_id == Service.id)
        .join(Organization, Organization.id == Service.organization_id)
        .where(SavedListing.user_id == user.id, Service.curation_status == "published")
        .order_by(SavedListing.created_at.desc())
    )
    return [dict(row._mapping) for row in rows]
