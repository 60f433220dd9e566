"""The referral writes as prebuilt SQL: each statement is built once and run with parameters.

A write is one statement: a CTE inserts or updates the referral, and the same statement
inserts its event and its audit row. Building such a statement per request cost more Python
than running it (the CTE copies every column, and SQLAlchemy then walks the whole tree for its
cache key: measured at about a sixth of a write's time); built once, its compiled form is found
straight away.

These are Core statements: the ORM's Python-side defaults, ``onupdate`` and version counter do
not run here. So a create sets every referral column but those the database stamps and those
only events set (``CREATED`` is derived from the table: a new column needs its parameter, or the
first create fails on it), and an event changes those and two more (``CHANGEABLE``). Column
names come from the mapped class, which mypy checks.
"""

from __future__ import annotations

from functools import cache
from typing import Any, cast

from sqlalchemy import (
    CTE,
    BindParameter,
    ColumnElement,
    Insert,
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
from sqlalchemy.orm import InstrumentedAttribute

from directory.accounts.models import AuditEntry, Program
from directory.listings.models import Service, ServiceAtLocation
from directory.listings.taxonomy import all_known
from directory.referrals.models import Referral, ReferralEvent

REFERRAL = cast(Table, Referral.__table__)
EVENT = cast(Table, ReferralEvent.__table__)
AUDIT = cast(Table, AuditEntry.__table__)

# Null until an event sets them: a create leaves them out.
EVENTS_SET = tuple(
    column.key
    for column in (
        Referral.outcome,
        Referral.sub_status,
        Referral.accepted_at,
        Referral.first_contact_at,
        Referral.closed_at,
    )
)
# What a create sets: every column but those and the timestamps the database sets; the
# parameters have the columns' names.
CREATED = tuple(
    column.name
    for column in REFERRAL.c
    if column.server_default is None and column.name not in EVENTS_SET
)
# What an event may change; the parameters are named ``new_<column>``.
CHANGEABLE = (Referral.status.key, Referral.follow_up_at.key, *EVENTS_SET)


def _param(
    name: str, column: InstrumentedAttribute[Any] | ColumnElement[Any]
) -> BindParameter[Any]:
    """A parameter typed as the column it fills."""
    return bindparam(name, type_=column.type)


@cache
def create(*, with_site: bool, with_needs: bool) -> Select[Any]:
    """Insert a referral when its listing is published (its site one of the listing's, its
    needs known, its mentee code of the program's pattern) and its Idempotency-Key unused,
    with its first event and audit row; the referral's row, or no row. Parameters:
    ``CREATED`` and the event's (see ``_with_event_and_audit``)."""
    service_id = _param("service_id", Referral.service_id)
    mentee_ref = _param("mentee_ref", Referral.mentee_ref)
    checks: list[ColumnElement[bool]] = [
        exists().where(Service.id == service_id, Service.curation_status == "published")
    ]
    if with_site:
        checks.append(
            exists().where(
                ServiceAtLocation.service_id == service_id,
                ServiceAtLocation.location_id == _param("location_id", Referral.location_id),
            )
        )
    if with_needs:
        checks.append(all_known(_param("needs", Referral.needs)))
    checks.append(follows_code_pattern(_param("program_id", Referral.program_id), mentee_ref))
    values = select(*(_param(name, REFERRAL.c[name]).label(name) for name in CREATED))
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
        .where(REFERRAL.c.id == _param("referral_id", Referral.id))
        .values(
            {
                Referral.version: REFERRAL.c.version + 1,
                Referral.updated_at: func.now(),
                Referral.last_event_at: _param("event_at", ReferralEvent.at),
                **{name: _param(f"new_{name}", REFERRAL.c[name]) for name in sorted(columns)},
            }
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
    event = _insert(
        EVENT,
        changed,
        {
            ReferralEvent.id: _param("event_id", ReferralEvent.id),
            ReferralEvent.referral_id: changed.c.id,
            ReferralEvent.seq: seq,
            ReferralEvent.type: _param("event_type", ReferralEvent.type),
            ReferralEvent.at: _param("event_at", ReferralEvent.at),
            ReferralEvent.actor_id: _param("actor_id", ReferralEvent.actor_id),
            ReferralEvent.data: _param("event_data", ReferralEvent.data),
            ReferralEvent.text: _param("event_text", ReferralEvent.text),
        },
    )
    audit = _insert(
        AUDIT,
        changed,
        {
            AuditEntry.actor_id: _param("actor_id", ReferralEvent.actor_id),
            AuditEntry.program_id: changed.c.program_id,
            AuditEntry.action: _param("action", AuditEntry.action),
            AuditEntry.referral_id: changed.c.id,
            AuditEntry.detail: literal({}, AUDIT.c.detail.type),
        },
    )
    return select(changed).add_cte(event.cte("event"), audit.cte("audited"))


def _insert(
    table: Table, changed: CTE, values: dict[InstrumentedAttribute[Any], ColumnElement[Any]]
) -> Insert:
    """INSERT INTO ``table`` one row per row of ``changed``: each column with its value."""
    return insert(table).from_select(
        [column.key for column in values], select(*values.values()).select_from(changed)
    )


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
