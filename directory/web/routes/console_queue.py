"""The review queue page: problem reports, referral warnings and suggestions, each decided with
a plain form (303 back with a notice; a refusal re-renders the queue saying why)."""

from __future__ import annotations

import dataclasses
import json
import uuid
from collections import Counter
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from directory.accounts.models import User
from directory.api.deps import SessionDep
from directory.curation import queue
from directory.errors import Conflict, DirectoryError, InvalidInput, NotFound, PreconditionFailed
from directory.listings.history import as_text
from directory.listings.schemas import CAPACITY_STATUSES, LIST_FIELDS
from directory.web import vocab
from directory.web.deps import Form, PageContext, Staff
from directory.web.forms import whole_number
from directory.web.templating import gettext, render
from directory.web.vocab import N_

router = APIRouter(dependencies=[PageContext], include_in_schema=False)
DONE = {
    "approved": N_("Approved: the listing is changed."),
    "rejected": N_("Rejected: the listing stays as it was."),
    "resolved": N_("Resolved."),
    "fixed": N_("Resolved, and the listing is changed."),
    "dismissed": N_("Dismissed."),
    "capacity": N_("Capacity set."),
    "checked": N_("Marked as checked: the warning is gone until a referral fails there again."),
}
REFUSED: dict[type[DirectoryError], tuple[int, str]] = {
    Conflict: (409, N_("Someone decided this item already: it has left the queue.")),
    PreconditionFailed: (
        412,
        N_("The listing changed since this page was shown: look at the item as it is now."),
    ),
    NotFound: (404, N_("This item is no longer in the queue.")),
}
LONG_TEXT = (
    "description",
    "interpretation_services",
    "application_process",
    "fees_description",
    "eligibility_description",
    "alert",
)
Decision = Callable[[], str]


@router.get("/console/queue")
def queue_page(
    request: Request, session: SessionDep, user: Staff, kind: str = "", done: str = ""
) -> Response:
    notice = gettext(request, DONE[done]) if done in DONE else None
    return _page(request, session, user, kind, notice=notice)


@router.post("/console/queue/suggestions/{suggestion_id}")
def decide_suggestion(
    request: Request, session: SessionDep, user: Staff, suggestion_id: uuid.UUID, form: Form
) -> Response:
    def decide() -> str:
        decision = _choice(form, "decision", ("approve", "reject", "edit"))
        approve = decision in ("approve", "edit")
        queue.decide_suggestion(
            session, user, suggestion_id, approve=approve, note=form.get("note"),
            edits=_edits(form) if decision == "edit" else None,
            expected_version=_version(form) if approve else None,
        )  # fmt: skip
        return "approved" if approve else "rejected"

    return _decided(request, session, user, form, f"suggestion-{suggestion_id}", decide)


@router.post("/console/queue/problems/{report_id}")
def decide_problem(
    request: Request, session: SessionDep, user: Staff, report_id: uuid.UUID, form: Form
) -> Response:
    def decide() -> str:
        resolved = _choice(form, "decision", ("resolve", "dismiss")) == "resolve"
        fix = _fix(form)
        if resolved and fix:  # a change to the listing checks the version the coordinator saw
            fix = dataclasses.replace(fix, version=_version(form))
        queue.decide_problem(
            session, user, report_id, resolved=resolved, note=form.get("note"), fix=fix
        )
        if not resolved:
            return "dismissed"
        return "fixed" if fix else "resolved"

    return _decided(request, session, user, form, f"problem-{report_id}", decide)


@router.post("/console/queue/referrals/{service_id}")
def decide_referrals(
    request: Request, session: SessionDep, user: Staff, service_id: uuid.UUID, form: Form
) -> Response:
    def decide() -> str:
        if _choice(form, "action", ("capacity", "checked")) == "capacity":
            queue.set_capacity(session, user, service_id, form.get("capacity_status"))
            return "capacity"
        queue.check_referrals(
            session, user, service_id, method=form.get("method"), note=form.get("note")
        )
        return "checked"

    return _decided(request, session, user, form, f"referrals-{service_id}", decide)


def _page(
    request: Request,
    session: SessionDep,
    user: User,
    kind: str,
    *,
    notice: str | None = None,
    failed: dict[str, Any] | None = None,
    status: int = 200,
) -> Response:
    items = queue.review_queue(session, user)
    kind = kind if kind in queue.KINDS else ""
    context = {
        "items": [i for i in items if not kind or i.kind == kind],
        "counts": Counter(i.kind for i in items),
        "total": len(items),
        "kind": kind,
        "notice": notice,
        "failed": failed or {},
        "plain": plain,
        "as_field": as_field,
        "long_text": LONG_TEXT,
        "list_fields": LIST_FIELDS,
        "field_label": lambda name: gettext(request, vocab.LISTING_FIELDS.get(name) or name),
        "capacities": CAPACITY_STATUSES,
    }
    return render(request, "console/queue.html", context, status=status)


def _decided(
    request: Request, session: SessionDep, user: User, form: dict[str, str], key: str, act: Decision
) -> Response:
    """Make the decision and go back to the queue (the same filter) with a notice; a refusal
    changes nothing and shows the queue again saying why, by the field when there is one."""
    kind = form.get("kind", "")
    kind = kind if kind in queue.KINDS else ""
    try:
        done = act()
    except InvalidInput as error:
        session.rollback()
        name = (error.field or "").removeprefix("changes.").split(".")[0]
        failed = {
            "key": key,
            "field": name,
            "message": gettext(request, error.detail),
            "form": form,
        }
        notice = gettext(request, N_("Nothing was changed: see the item's form."))
        return _page(request, session, user, kind, notice=notice, failed=failed, status=422)
    except (Conflict, PreconditionFailed, NotFound) as error:
        session.rollback()
        status, message = REFUSED[type(error)]
        return _page(request, session, user, kind, notice=gettext(request, message), status=status)
    back = f"/console/queue?kind={kind}&done={done}" if kind else f"/console/queue?done={done}"
    return RedirectResponse(f"{back}#queue", status_code=303)


def _edits(form: dict[str, str]) -> dict[str, Any]:
    """The edit-then-approve form's values (``edit.<field>``): lists as JSON, blank as null."""
    edits: dict[str, Any] = {}
    for key, raw in form.items():
        if not key.startswith("edit."):
            continue
        name = key.removeprefix("edit.")
        if name in LIST_FIELDS:
            try:
                edits[name] = json.loads(raw)
            except ValueError:
                raise InvalidInput(N_("This is not valid JSON."), field=f"changes.{name}") from None
        else:
            edits[name] = raw.strip() or None
    return edits


def _fix(form: dict[str, str]) -> queue.Fix:
    """The fix a resolve form carries: a corrected number, a capacity, a description, archive."""
    changes: dict[str, Any] = {}
    if form.get("capacity_status"):
        changes["capacity_status"] = form["capacity_status"]
    description = _text(form.get("description"))
    if "description" in form and description != _text(form.get("description_was")):
        changes["description"] = description or None
    return queue.Fix(
        changes=changes,
        phone=form.get("phone", "").strip() or None,
        phone_id=_uuid(form.get("phone_id")),
        archive=form.get("archive") == "1",
    )


def _text(value: str | None) -> str:
    """A textarea's text as typed (browsers send its lines ended by CRLF)."""
    return (value or "").replace("\r\n", "\n").strip()


def plain(value: Any) -> str:
    """A listing's value as a diff shows it: text as it is, phones by number, the rest as
    compact JSON without the ids a rewrite renews."""
    if isinstance(value, list) and all(isinstance(v, dict) and "number" in v for v in value):
        return ", ".join(str(v["number"]) for v in value)
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return ", ".join(value)
    return as_text({"value": value})["value"] or ""


def as_field(value: Any) -> str:
    """A proposed value as an edit form's field holds it."""
    if value is None:
        return ""
    if isinstance(value, list | dict):
        return json.dumps(value, indent=1, ensure_ascii=False)
    return str(value)


def _choice(form: dict[str, str], name: str, allowed: tuple[str, ...]) -> str:
    """Which button of the form was pressed (a form without one decides nothing)."""
    value = form.get(name, "")
    if value not in allowed:
        raise InvalidInput(vocab.CHOOSE_ONE, field=name)
    return value


def _version(form: dict[str, str]) -> int:
    """The listing's version the form was shown with (a change without one could overwrite
    another's edit unseen)."""
    version = whole_number(form.get("version"), most=2**31 - 1)
    if version is None:
        raise PreconditionFailed("the form carries no version")
    return version


def _uuid(value: str | None) -> uuid.UUID | None:
    try:
        return uuid.UUID(value) if value else None
    except ValueError:
        return None
