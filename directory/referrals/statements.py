"""The referral writes as prebuilt SQL: each statement is built once and run with parameters.

A write is one statement: a CTE inserts or updates the referral, and the same statement
inserts its event and its audit row. Building such a statement per request cost more Python
than running it (the CTE copies every column, and SQLAlchemy then walks the whole tree for its
cache key: measured at about a sixth of a write's time); built once, its compiled form is found
straight away.

These are Core statements: the ORM's Python-side defaults, ``onupdate`` and version counter do
not run here. A new referral column with a default belongs in ``CREATED`` (and, if events
change it, in ``CHANGEABLE``).
"""

from __future__ import annotations

from functools import cache
from typing import Any, cast

from sqlalchemy import (
    CTE,
    BindParameter,
    ColumnElement,
    Select,
    Table,
    bindparam,
    exists,
    false,
    func,
    insert,
    literal,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert

from directory.accounts.models import AuditEntry, Program
from directory.listings.models import Service, ServiceAtLocation
from directory.listings.taxonomy import all_known
from directory.referrals.models import Referral, ReferralEvent

REFERRAL = cast(Table, Referral.__table__)
EVENT = cast(Table, ReferralEvent.__table__)
AUDIT = cast(Table, AuditEntry.__table__)

# What a create sets; the parameters have the columns' names.
CREATED = (
    "id",
    "program_id",
    "mentor_id",
    "mentee_ref",
    "service_id",
    "location_id",
    "needs",
    "priority",
    "contact_preference",
    "consent",
    "note",
    "status",
    "follow_up_at",
    "last_event_at",
    "idempotency_key",
    "request_hash",
    "version",
)
# What an event may change; the parameters are named ``new_<column>``.
CHANGEABLE = (
    "status",
    "outcome",
    "sub_status",
    "follow_up_at",
    "accepted_at",
    "first_contact_at",
    "closed_at",
)


def _param(name: str, table: Table, column: str) -> BindParameter[Any]:
    return bindparam(name, type_=table.c[column].type)


@cache
def create(*, with_site: bool, with_needs: bool) -> Select[Any]:
    """Insert a referral when its listing is published (its site one of the listing's, its
    needs known, its mentee code of the program's pattern) and its Idempotency-Key unused,
    with its first event and audit row; the referral's row, or no row. Parameters:
    ``CREATED`` and the event's (see ``_with_event_and_audit``)."""
    service_id = _param("service_id", REFERRAL, "service_id")
    mentee_ref = _param("mentee_ref", REFERRAL, "mentee_ref")
    checks: list[ColumnElement[bool]] = [
        exists().where(Service.id == service_id, Service.curation_status == "published")
    ]
    if with_site:
        checks.append(
            exists().where(
                ServiceAtLocation.service_id == service_id,
                ServiceAtLocation.location_id == _param("location_id", REFERRAL, "location_id"),
            )
        )
    if with_needs:
        checks.append(all_known(_param("needs", REFERRAL, "needs")))
    checks.append(follows_code_pattern(_param("program_id", REFERRAL, "program_id"), mentee_ref))
    values = select(*(_param(name, REFERRAL, name).label(name) for name in CREATED))
    made = (
        pg_insert(REFERRAL)
        .from_select(list(CREATED), values.where(*checks))
        .on_conflict_do_nothing(index_elements=["mentor_id", "idempotency_key"])
        .returning(*REFERRAL.c)
        .cte("made")
    )
    return _with_event_and_audit(made, first=True)


def follows_code_pattern(
    program_id: ColumnElement[Any], mentee_ref: ColumnElement[Any]
) -> ColumnElement[bool]:
    """SQL: the code matches its program's pattern, if the program has one."""
    anchored = func.concat("^(?:", Program.mentee_ref_pattern, ")$")
    return ~exists().where(
        Program.id == program_id,
        Program.mentee_ref_pattern.is_not(None),
        ~mentee_ref.regexp_match(anchored, flags="i"),
    )


@cache
def change(columns: frozenset[str]) -> Select[Any]:
    """Update a (locked) referral, moving its version by one, with the event that changed it
    and an audit row; the referral's new row. Parameters: ``referral_id``, ``new_<column>``
    for each column, and the event's (see ``_with_event_and_audit``)."""
    unknown = columns - set(CHANGEABLE)
    if unknown:
        raise ValueError(f"an event does not change {sorted(unknown)}")
    changed = (
        update(REFERRAL)
        .where(REFERRAL.c.id == bindparam("referral_id", type_=REFERRAL.c.id.type))
        .values(
            version=REFERRAL.c.version + 1,
            updated_at=func.now(),
            last_event_at=_param("event_at", EVENT, "at"),
            **{name: _param(f"new_{name}", REFERRAL, name) for name in sorted(columns)},
        )
        .returning(*REFERRAL.c)
        .cte("changed")
    )
    return _with_event_and_audit(changed, first=False)


def _with_event_and_audit(changed: CTE, *, first: bool) -> Select[Any]:
    """The row a CTE wrote, with its event and its audit row inserted by the same statement.
    The event's number is read inside the INSERT (the referral row is locked: no race).
    Parameters: ``event_id``, ``event_type``, ``event_at``, ``actor_id``, ``event_data``,
    ``event_text`` and the audit row's ``action``."""
    seq = (
        literal(1)
        if first
        else select(func.coalesce(func.max(EVENT.c.seq), 0) + 1)
        .where(EVENT.c.referral_id == changed.c.id)
        .scalar_subquery()
    )
    event = insert(EVENT).from_select(
        ["id", "referral_id", "seq", "type", "at", "actor_id", "data", "text"],
        select(
            _param("event_id", EVENT, "id"),
            changed.c.id,
            seq,
            _param("event_type", EVENT, "type"),
            _param("event_at", EVENT, "at"),
            _param("actor_id", EVENT, "actor_id"),
            _param("event_data", EVENT, "data"),
            _param("event_text", EVENT, "text"),
        ).select_from(changed),
    )
    audit = insert(AUDIT).from_select(
        ["actor_id", "program_id", "action", "referral_id", "detail"],
        select(
            _param("actor_id", EVENT, "actor_id"),
            changed.c.program_id,
            _param("action", AUDIT, "action"),
            changed.c.id,
            literal({}, AUDIT.c.detail.type),
        ).select_from(changed),
    )
    return select(changed).add_cte(event.cte("event"), audit.cte("audited"))


@cache
def locked(scope: str) -> Select[Any]:
    """A referral locked for an event, within what the user may see (``service._scope_name``):
    ``mine`` (a mentor's: ``user_id`` and ``program_id``), ``program`` (``program_id``) or
    ``none``."""
    found = select(REFERRAL).where(REFERRAL.c.id == bindparam("referral_id")).with_for_update()
    if scope == "mine":
        return found.where(
            REFERRAL.c.mentor_id == bindparam("user_id"),
            REFERRAL.c.program_id == bindparam("program_id"),
        )
    if scope == "program":
        return found.where(REFERRAL.c.program_id == bindparam("program_id"))
    return found.where(false())
