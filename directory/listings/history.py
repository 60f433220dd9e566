"""A listing's change history: one row per changed field, in the shape of HSDS 3.0's metadata."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Iterable, Mapping
from typing import Any, Literal, get_args

from pydantic import BaseModel, ConfigDict
from pydantic_core import to_jsonable_python
from sqlalchemy import Uuid, any_, func, insert, literal, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from directory.curation.models import ChangeSuggestion
from directory.errors import NotFound
from directory.listings.models import ListingChange, Service
from directory.listings.rows import copy_rows
from directory.listings.schemas import SCALAR_FIELDS

Action = Literal[
    "create", "update", "verify", "publish", "unpublish", "archive", "restore", "import"
]
ACTIONS: tuple[Action, ...] = get_args(Action)
# Not a field anyone changes: the row's own bookkeeping, and where it came from.
UNRECORDED = frozenset({"id", "version", "created_at", "updated_at", "provenance", "demo"})
# Keys of list items that change on every rewrite of the list, whatever it says.
VOLATILE = frozenset({"id", "service_at_location_id", "position"})
Listing = BaseModel | Mapping[str, Any]


class ListingChangeRead(BaseModel):
    """One change, as HSDS 3.0's ``metadata`` table has it, plus the listing it belongs to."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    service_id: uuid.UUID
    resource_id: uuid.UUID
    resource_type: str
    last_action_date: dt.datetime
    last_action_type: str
    field_name: str
    previous_value: str | None
    replacement_value: str | None
    updated_by: str


class ListingChangePage(BaseModel):
    items: list[ListingChangeRead]
    page: int
    per_page: int
    total: int


def record_changes(
    session: Session,
    service_id: uuid.UUID,
    before: Listing,
    after: Listing,
    *,
    by: str,
    action: Action,
) -> int:
    """Record one change per field that differs between two states of a listing; how many."""
    rows = change_rows(service_id, before, after, by=by, action=action)
    if rows:
        session.execute(insert(ListingChange), rows)
    return len(rows)


def record_many(
    session: Session,
    changes: Iterable[tuple[uuid.UUID, Listing, Listing, str]],
    *,
    action: Action,
) -> int:
    """Record the changes of many listings at once: (listing id, before, after, by) each."""
    rows = [
        row
        for service_id, before, after, by in changes
        for row in change_rows(service_id, before, after, by=by, action=action)
    ]
    if rows:
        # COPY: an import records tens of thousands (INSERTs took 6 s of a 30 s merge).
        copy_rows(session, ListingChange.__table__, rows)  # type: ignore[arg-type]
    return len(rows)


def change_rows(
    service_id: uuid.UUID, before: Listing, after: Listing, *, by: str, action: Action
) -> list[dict[str, Any]]:
    """The ``listing_change`` rows for the fields that differ (for bulk writers)."""
    old, new = as_text(before), as_text(after)
    # The time of the call, not of the transaction: several actions in one transaction keep
    # their order.
    when = dt.datetime.now(dt.UTC)
    rows = []
    for name in sorted(old.keys() | new.keys()):
        previous, replacement = old.get(name), new.get(name)
        if previous == replacement:
            continue
        kind = action
        if name == "curation_status" and action == "update":
            kind = curation_action(replacement)
        rows.append(
            {
                "id": uuid.uuid4(),
                "service_id": service_id,
                "resource_id": service_id,
                "resource_type": "service",
                "last_action_date": when,
                "last_action_type": kind,
                "field_name": name,
                "previous_value": previous,
                "replacement_value": replacement,
                "updated_by": by,
            }
        )
    return rows


def created_row(service_id: uuid.UUID, name: str, *, by: str) -> dict[str, Any]:
    """The history row of a listing's creation: one (field ``listing``, its name), not one per
    field; written with the listing's other rows (in bulk, on an import)."""
    return {
        "id": uuid.uuid4(),
        "service_id": service_id,
        "resource_id": service_id,
        "resource_type": "service",
        "last_action_date": dt.datetime.now(dt.UTC),
        "last_action_type": "create",
        "field_name": "listing",
        "previous_value": None,
        "replacement_value": name,
        "updated_by": by,
    }


def curation_action(status: str | None) -> Action:
    """The action a change of curation status is: publish, archive, or back to draft."""
    if status == "published":
        return "publish"
    return "archive" if status == "archived" else "unpublish"


def as_text(listing: Listing) -> dict[str, str | None]:
    """A listing's recorded fields as text: scalars as they are, lists and parts as compact JSON
    without the ids and positions that a rewrite renews (locations are recorded whole, under
    the service, for that reason: their ids do not survive an edit)."""
    data = listing.model_dump(mode="json") if isinstance(listing, BaseModel) else listing
    fields: dict[str, str | None] = {}
    for name, value in data.items():
        if name in UNRECORDED:
            continue
        if name == "verification" and isinstance(value, Mapping):
            fields.update(as_text(value))  # recorded field by field: who, when, how
        else:
            fields[name] = _text(value)
    return fields


def _text(value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    plain = _without_volatile(to_jsonable_python(value))
    if isinstance(plain, str):  # a date, a UUID, a decimal
        return plain
    return json.dumps(plain, separators=(",", ":"), ensure_ascii=False)


def _without_volatile(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_volatile(v) for k, v in value.items() if k not in VOLATILE}
    if isinstance(value, list):
        return [_without_volatile(v) for v in value]
    return value


# The columns of a listing a bulk rewrite compares (``stored_columns``). Its lists are left
# out: reading them before and after took a third of a re-import's time (SAMHSA locator with
# every website changed, 10,253 listings rewritten: 9.8 s -> 13.2 s); the columns' query and
# the COPY of the changes take 0.6 s of it (0.3 s of the 20 s SAMHSA directory merge).
SNAPSHOT_COLUMNS = (
    *SCALAR_FIELDS,
    "last_verified_at",
    "verified_by",
    "verification_method",
    "verification_note",
)


def stored_columns(
    session: Session, ids: list[uuid.UUID], names: list[str]
) -> dict[uuid.UUID, dict[str, Any]]:
    """The named columns of stored listings (those of ``SNAPSHOT_COLUMNS``), in one query."""
    names = [name for name in names if name in SNAPSHOT_COLUMNS]
    columns = [getattr(Service, name) for name in names]
    # One array parameter: an IN list of 500 parameters costs more to send than to run.
    query = select(Service.id, *columns).where(Service.id == any_(literal(ids, ARRAY(Uuid))))
    return {row[0]: dict(zip(names, row[1:], strict=True)) for row in session.execute(query)}


def listing_history(
    session: Session, service_id: uuid.UUID, *, page: int = 1, per_page: int = 50
) -> ListingChangePage:
    """A page of a listing's changes, newest first; NotFound for no such listing."""
    if session.get(Service, service_id) is None:
        raise NotFound(f"no listing {service_id}")
    where = ListingChange.service_id == service_id
    total = session.scalar(select(func.count()).where(where)) or 0
    query = (
        select(ListingChange)
        .where(where)
        .order_by(
            ListingChange.last_action_date.desc(),
            ListingChange.field_name,
            ListingChange.id,
        )
        .limit(per_page)
        .offset((page - 1) * per_page)
    )
    items = [ListingChangeRead.model_validate(row) for row in session.scalars(query)]
    return ListingChangePage(items=items, page=page, per_page=per_page, total=total)


def edited_by_hand(session: Session, ids: list[uuid.UUID]) -> dict[uuid.UUID, set[str]]:
    """The fields of each listing that someone changed by hand (an edit, a suggestion approved)
    since its last import or creation: a re-import must not overwrite them silently."""
    since = (
        select(ListingChange.service_id, func.max(ListingChange.last_action_date).label("at"))
        .where(
            ListingChange.service_id == any_(literal(ids, ARRAY(Uuid))),
            ListingChange.last_action_type.in_(("import", "create")),
        )
        .group_by(ListingChange.service_id)
        .subquery()
    )
    query = (
        select(ListingChange.service_id, ListingChange.field_name)
        .outerjoin(since, since.c.service_id == ListingChange.service_id)
        .where(
            ListingChange.service_id == any_(literal(ids, ARRAY(Uuid))),
            ListingChange.last_action_type == "update",
            (since.c.at.is_(None)) | (ListingChange.last_action_date > since.c.at),
        )
        .distinct()
    )
    found: dict[uuid.UUID, set[str]] = {}
    for service_id, name in session.execute(query):
        found.setdefault(service_id, set()).add(name)
    return found


def keep_hand_edits(
    session: Session,
    updates: list[dict[str, Any]],
    before: dict[uuid.UUID, dict[str, Any]],
    by: str | None,
) -> None:
    """Where an import would change a column edited by hand since the last import, keep the
    hand's value and queue the import's as a suggestion (once per value)."""
    edited = edited_by_hand(session, [values["_id"] for values in updates])
    for values in updates:
        service_id = values["_id"]
        old = before[service_id]
        proposed = {
            name: values["_" + name]
            for name in edited.get(service_id, ())
            if name in old and values.get("_" + name) != old[name]
        }
        if not proposed:
            continue
        for name in proposed:
            values["_" + name] = old[name]
        pending = select(ChangeSuggestion.id).where(
            ChangeSuggestion.service_id == service_id,
            ChangeSuggestion.status == "open",
            ChangeSuggestion.source == "import",
            ChangeSuggestion.changes == proposed,
        )
        if session.scalar(pending) is None:
            version = session.scalar(select(Service.version).where(Service.id == service_id))
            note = f"{by or 'a re-import'} says otherwise; the field was edited by hand since"
            session.add(
                ChangeSuggestion(
                    service_id=service_id, changes=proposed, note=note, source="import",
                    base_version=(version or 0) + 1,
                )
            )  # fmt: skip
