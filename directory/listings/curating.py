"""What coordinators do to a listing besides editing it: verify it (one or many, how, with a
note, dated by the day of the check) and move it between draft, published and archived. Each
records what it changed in the listing's history."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable
from typing import Literal, get_args
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from directory.errors import Conflict, InvalidInput
from directory.listings import history
from directory.listings.models import Service
from directory.listings.service import UNKNOWN, claim, touch

# How a coordinator checked a listing ("import" is the imports' own).
VerifyMethod = Literal["phone", "website", "email", "visit"]
VERIFY_METHODS: tuple[str, ...] = get_args(VerifyMethod)
# Curation moves: the statuses each starts from, and where it leads.
Move = Literal["publish", "unpublish", "archive", "restore"]
MOVES: dict[Move, tuple[tuple[str, ...], str]] = {
    "publish": (("draft",), "published"),
    "unpublish": (("published",), "draft"),
    "archive": (("draft", "published", "archived"), "archived"),
    "restore": (("archived",), "draft"),
}
NOTE_MAX = 2000
VERIFICATION = ("last_verified_at", "verified_by", "verification_method", "verification_note")


def verify_service(
    session: Session,
    service_id: uuid.UUID,
    *,
    by: str,
    expected_version: int | None,
    method: str | None = None,
    note: str | None = None,
    checked_at: dt.datetime | None = None,
) -> Service:
    """Record that someone checked this version of the listing (just now, or at ``checked_at``),
    how, with a note."""
    _check_verification(method, note, checked_at)
    service = claim(session, service_id, expected_version)
    before = {name: getattr(service, name) for name in VERIFICATION}
    service.last_verified_at = checked_at or dt.datetime.now(dt.UTC)
    service.verified_by = by
    service.verification_method = method
    service.verification_note = note
    after = {name: getattr(service, name) for name in VERIFICATION}
    touch(session, service)  # first: an insert before it would flush the row twice (version + 2)
    history.record_changes(session, service_id, before, after, by=by, action="verify")
    return service


def verify_many(
    session: Session,
    service_ids: Iterable[uuid.UUID],
    *,
    by: str,
    method: str | None = None,
    note: str | None = None,
    checked_at: dt.datetime | None = None,
) -> int:
    """Verify listings as they now stand (a bulk act: no version to check); how many."""
    _check_verification(method, note, checked_at)
    ids = sorted(set(service_ids))  # one locking order: two bulk verifies never deadlock
    for service_id in ids:
        verify_service(
            session,
            service_id,
            by=by,
            expected_version=None,
            method=method,
            note=note,
            checked_at=checked_at,
        )
    return len(ids)


def checked_on(day: dt.date, zone: ZoneInfo) -> dt.datetime:
    """When a check made on a day (in the program's time zone) is recorded: now for today,
    else that day's noon; never a day to come."""
    now = dt.datetime.now(zone)
    if day > now.date():
        raise InvalidInput("a check cannot be dated in the future", field="checked_on")
    if day == now.date():
        return now.astimezone(dt.UTC)
    return dt.datetime.combine(day, dt.time(12), tzinfo=zone).astimezone(dt.UTC)


def _check_verification(method: str | None, note: str | None, at: dt.datetime | None) -> None:
    if method is not None and method not in VERIFY_METHODS:
        allowed = ", ".join(VERIFY_METHODS)
        raise InvalidInput(f"verify by one of {allowed}, not {method!r}", field="method")
    if note is not None and len(note) > NOTE_MAX:
        raise InvalidInput(f"a note has at most {NOTE_MAX} characters", field="note")
    if at is not None and at > dt.datetime.now(dt.UTC):
        raise InvalidInput("a check cannot be dated in the future", field="checked_on")


def move_service(
    session: Session,
    service_id: uuid.UUID,
    move: Move,
    *,
    expected_version: int | None,
    by: str = UNKNOWN,
) -> Service:
    """Publish, unpublish, archive or restore a listing; Conflict from a status the move does
    not start from (nothing is deleted: archived listings are only hidden from mentors)."""
    starts, to = MOVES[move]
    service = claim(session, service_id, expected_version)
    if service.curation_status not in starts:
        raise Conflict(
            f"a {service.curation_status} listing cannot {move}", field="curation_status"
        )
    before = {"curation_status": service.curation_status}
    service.curation_status = to
    touch(session, service)
    history.record_changes(session, service_id, before, {"curation_status": to}, by=by, action=move)
    return service


def archive_service(
    session: Session,
    service_id: uuid.UUID,
    *,
    expected_version: int | None,
    by: str = UNKNOWN,
) -> Service:
    """Take a listing out of search and listings for mentors; nothing is deleted."""
    return move_service(session, service_id, "archive", expected_version=expected_version, by=by)
