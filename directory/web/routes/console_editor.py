"""The listing editor: create a listing, edit every field of one; a listing that changed while
it was being edited shows what changed meanwhile, field by field, to keep or take."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from directory.api.deps import SessionDep
from directory.errors import InvalidInput
from directory.listings import queries, taxonomy
from directory.listings.read_schemas import ServiceRead
from directory.listings.schemas import ServiceCreate, ServiceUpdate
from directory.listings.service import create_service, update_service
from directory.listings.vocabularies import DAYS
from directory.web import vocab
from directory.web.deps import Form, PageContext, Staff
from directory.web.listing_form import form_values, loaded_document
from directory.web.listing_form_errors import (
    FormInvalid,
    input_name,
    parse,
    rows_changed,
)
from directory.web.listing_form_hours import zones
from directory.web.listing_merge import MINE, Merge, changes, describe, merge, seal, settle, unseal
from directory.web.templating import gettext, render

router = APIRouter(dependencies=[PageContext], include_in_schema=False)
NEW = "/console/listings/new"


@router.get(NEW)
def new_listing(request: Request, session: SessionDep, user: Staff) -> Response:
    fields = form_values({"locations": [{}], "phones": [{}]})
    fields["hours-tz"] = fields["site-0-hours-tz"] = request.app.state.settings.time_zone
    return _page(request, session, fields)


@router.post(NEW)
def create_listing(request: Request, session: SessionDep, user: Staff, form: Form) -> Response:
    """Create the listing (a draft unless published is chosen) and go to its page."""
    fields = rows_changed(form)
    if fields is not None:
        return _page(request, session, fields)
    try:
        doc = ServiceCreate.model_validate(parse(form, create=True))
        with session.begin_nested():
            created = create_service(session, doc, by=user.email)
    except (FormInvalid, InvalidInput) as error:
        return _page(request, session, form, errors=_problems(error), status=422)
    return RedirectResponse(f"/console/listings/{created}", status_code=303)


@router.get("/console/listings/{service_id}/edit")
def edit_listing(
    request: Request, session: SessionDep, user: Staff, service_id: uuid.UUID
) -> Response:
    listing = queries.read_service(session, service_id, published_only=False)
    doc = loaded_document(listing)
    fields = {**form_values(doc), "version": str(listing.version), "base": seal(doc)}
    return _page(request, session, fields, listing=listing)


@router.post("/console/listings/{service_id}/edit")
def save_listing(
    request: Request, session: SessionDep, user: Staff, service_id: uuid.UUID, form: Form
) -> Response:
    """Save the changes; when the listing changed meanwhile, mine apply where the others did
    not touch, and where both changed a field the form comes back with a choice."""
    listing = queries.read_service(session, service_id, published_only=False)
    fields = rows_changed(form)
    if fields is not None:
        return _page(request, session, fields, listing=listing)
    try:
        merged = _save(session, listing.id, form, parse(form, create=False), by=user.email)
    except (FormInvalid, InvalidInput) as error:
        return _page(request, session, form, listing=listing, errors=_problems(error), status=422)
    if merged is None:
        return RedirectResponse(f"/console/listings/{service_id}", status_code=303)
    shown, clashing = merged
    return _page(request, session, shown, listing=listing, merged=clashing, status=409)


def _save(
    session: Session, service_id: uuid.UUID, form: dict[str, str], mine: dict[str, Any], by: str
) -> tuple[dict[str, str], Merge] | None:
    """Apply the editor's changes. When someone else changed the same fields since the form
    was shown, nothing is saved: the form to show again (at the current version) and the
    comparison."""
    queries.load_service(session, service_id, for_update=True)  # other writers wait for us
    listing = queries.read_service(session, service_id, published_only=False)
    current = loaded_document(listing)
    stale = form.get("version") != str(listing.version)
    seen = unseal(form.get("base"))
    if seen is None:  # a damaged form: when stale, every field it changes is compared
        seen = {} if stale else current
    choices = {k[7:]: v for k, v in form.items() if k.startswith("choice-")}
    mine = settle(seen, mine, choices)
    if stale:
        merged = merge(seen, current, mine)
        if merged.clashes:
            shown = {**form_values(merged.document), "version": str(listing.version)}
            return {**shown, "base": seal(current)}, merged
        mine = merged.document
    patch = changes(current, mine)
    if patch:
        with session.begin_nested():
            update = ServiceUpdate.model_validate(patch)
            update_service(session, service_id, update, expected_version=listing.version, by=by)
    return None


def _problems(error: FormInvalid | InvalidInput) -> dict[str, str]:
    if isinstance(error, FormInvalid):
        return error.errors
    return {input_name((error.field or "",), {}): error.detail}


def _page(
    request: Request,
    session: Session,
    fields: dict[str, str],
    *,
    listing: ServiceRead | None = None,
    errors: dict[str, str] | None = None,
    merged: Merge | None = None,
    status: int = 200,
) -> Response:

    def translate(text: str) -> str:
        return gettext(request, text)

    clashes = [
        {
            "field": clash.field,
            "label": translate(vocab.LISTING_FIELDS.get(clash.field, clash.field)),
            "seen": describe(clash.seen),
            "theirs": describe(clash.theirs),
            "mine": describe(clash.mine),
            "choice": fields.get(f"choice-{clash.field}", MINE),
        }
        for clash in (merged.clashes if merged else [])
    ]
    context = {
        "form": fields,
        "listing": listing,
        "errors": {name: translate(text) for name, text in (errors or {}).items()},
        "clashes": clashes,
        "theirs": [
            translate(vocab.LISTING_FIELDS.get(name, name))
            for name in (merged.theirs if merged else [])
        ],
        "need_tree": taxonomy.need_tree(session),
        "zones": zones(),
        "days": DAYS,
        "action": f"/console/listings/{listing.id}/edit" if listing else NEW,
    }
    return render(request, "console/edit.html", context, status=status)
