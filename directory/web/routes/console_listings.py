"""The console's listings: a table with filters and bulk verify, and a listing's own page (its
facts, verify, capacity, publish / unpublish / archive / restore, and its history)."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import parse_qsl
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError

from directory.accounts.models import User
from directory.api.deps import SessionDep
from directory.errors import Conflict, InvalidInput, PreconditionFailed
from directory.listings import catalogue, curating, history, service
from directory.listings.catalogue import ListingFilters
from directory.listings.schemas import CAPACITY_STATUSES, ServiceUpdate
from directory.web import i18n, vocab
from directory.web.deps import Form, PageContext, Staff, form_list
from directory.web.forms import whole_number
from directory.web.templating import gettext, render
from directory.web.vocab import N_

router = APIRouter(dependencies=[PageContext], include_in_schema=False)
HISTORY_PER_PAGE = 100
MOVES: dict[str, curating.Move] = {name: name for name in curating.MOVES}
# What a refused filter or form field says, by its name.
MESSAGES = {
    "status": vocab.CHOOSE_ONE,
    "capacity": vocab.CHOOSE_ONE,
    "sort": vocab.CHOOSE_ONE,
    "stale": vocab.CHOOSE_ONE,
    "method": vocab.CHOOSE_ONE,
    "move": vocab.CHOOSE_ONE,
    "source": N_("Choose a source from the list."),
    "need": N_("Choose a need from the list."),
    "verified_before": vocab.NOT_A_DATE,
    "q": vocab.TOO_LONG,
    "note": vocab.TOO_LONG,
    "page": N_("Not a page number."),
    "ids": N_("Choose at least one listing."),
    "checked_on": N_("The date of the check must be a day that has passed, or today."),
}
DONE = {
    "verified": N_("Listing verified."),
    "capacity": N_("Capacity saved."),
    "publish": N_("Listing published: mentors can find it."),
    "unpublish": N_("Listing back to draft: mentors no longer see it."),
    "archive": N_("Listing archived: mentors no longer see it."),
    "restore": N_("Listing restored as a draft."),
}
STALE = N_(
    "This listing changed since you opened this page. Here it is as it stands now: check it,"
    " then try again."
)


def _zone(request: Request) -> ZoneInfo:
    return ZoneInfo(request.app.state.settings.time_zone)


def _today(request: Request) -> dt.date:
    return dt.datetime.now(_zone(request)).date()


def _message(request: Request, field: str | None) -> str:
    return gettext(request, MESSAGES.get(field or "", vocab.CHOOSE_ONE))


def _filters(request: Request, params: Mapping[str, str]) -> tuple[ListingFilters, dict[str, str]]:
    """The table's filters, else the defaults and a message per refused filter."""
    try:
        return ListingFilters.model_validate(dict(params)), {}
    except ValidationError as error:
        fields = {str(item["loc"][0]) for item in error.errors() if item["loc"]}
        return ListingFilters(), {name: _message(request, name) for name in fields}


def _table_page(
    request: Request,
    session: SessionDep,
    user: User,
    params: Mapping[str, str],
    *,
    bulk: Mapping[str, str] | None = None,
    bulk_errors: dict[str, str] | None = None,
    notice: str | None = None,
) -> Response:
    filters, errors = _filters(request, params)
    settings = request.app.state.settings
    table = None
    if not errors:
        try:
            table = catalogue.listing_table(
                session,
                user,
                filters,
                stale_after_days=settings.stale_after_days,
                zone=_zone(request),
            )
        except InvalidInput as error:
            errors = {error.field or "q": _message(request, error.field)}
    context = {
        "filters": filters,
        "raw": dict(params),
        "errors": errors,
        "table": table,
        "sources": catalogue.known_sources(session),
        "needs": catalogue.need_choices(session),
        "stale_days": settings.stale_after_days,
        "today": _today(request).isoformat(),
        "bulk": bulk or {"checked_on": _today(request).isoformat()},
        "bulk_errors": bulk_errors or {},
        "notice": notice,
    }
    failed = bool(errors or bulk_errors)
    return render(request, "console/listings.html", context, status=422 if failed else 200)


@router.get("/console/listings")
def listings_table(request: Request, session: SessionDep, user: Staff) -> Response:
    """The listings that match the filters in the address, a page at a time."""
    notice = None
    verified = whole_number(request.query_params.get("verified"), most=100_000)
    if verified is not None:
        words = i18n.translations(request.state.lang).ngettext(
            "%(count)s listing verified", "%(count)s listings verified", verified
        )
        notice = words % {"count": verified}
    return _table_page(request, session, user, request.query_params, notice=notice)


def _ids(values: list[str]) -> list[uuid.UUID]:
    try:
        return [uuid.UUID(value) for value in values]
    except ValueError:
        raise InvalidInput("not a listing id", field="ids") from None


def _checked_at(request: Request, form: Mapping[str, str]) -> dt.datetime:
    """When the check of a verify form was made (the day given, else today)."""
    try:
        day = dt.date.fromisoformat(form.get("checked_on") or _today(request).isoformat())
    except ValueError:
        raise InvalidInput("not a date", field="checked_on") from None
    return curating.checked_on(day, _zone(request))


def _verification(request: Request, form: Mapping[str, str]) -> dict[str, Any]:
    """How, when and with what note a verify form says the listing was checked."""
    method = form.get("method", "")
    if method not in curating.VERIFY_METHODS:
        raise InvalidInput("choose how", field="method")
    note = form.get("note", "").strip() or None
    return {"method": method, "note": note, "checked_at": _checked_at(request, form)}


@router.post("/console/listings/verify")
def bulk_verify(request: Request, session: SessionDep, user: Staff, form: Form) -> Response:
    """Verify the chosen listings at once, then back to the same filtered table."""
    back = dict(parse_qsl(form.get("back", "")))
    try:
        ids = _ids(form_list(request, "ids"))
        how = _verification(request, form)
        if not ids:
            raise InvalidInput("choose listings", field="ids")
        count = curating.verify_many(session, ids, by=user.email, **how)
    except InvalidInput as error:
        errors = {error.field or "ids": _message(request, error.field)}
        return _table_page(request, session, user, back, bulk=form, bulk_errors=errors)
    filters, refused = _filters(request, back)
    query = ListingFilters().query() if refused else filters.query()
    return RedirectResponse(f"/console/listings?{query}&verified={count}", status_code=303)


def _listing_page(
    request: Request,
    session: SessionDep,
    user: User,
    service_id: uuid.UUID,
    *,
    form: Mapping[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
    notice: str | None = None,
) -> Response:
    listing = catalogue.listing_row(session, user, service_id)
    page = request.query_params.get("page", "1")
    page_number = whole_number(page, most=100_000) or 1
    changes = history.listing_history(
        session, service_id, page=page_number, per_page=HISTORY_PER_PAGE
    )
    moves = [
        move
        for move, (starts, to) in curating.MOVES.items()
        if listing.curation_status in starts and to != listing.curation_status
    ]
    context = {
        "listing": listing,
        "changes": changes,
        "pages": max(1, -(-changes.total // HISTORY_PER_PAGE)),
        "moves": moves,
        "capacities": CAPACITY_STATUSES,
        "form": form or {"checked_on": _today(request).isoformat()},
        "errors": errors or {},
        "today": _today(request).isoformat(),
        "stale_days": request.app.state.settings.stale_after_days,
        "notice": notice,
    }
    return render(request, "console/listing.html", context, status=status)


@router.get("/console/listings/{service_id:uuid}")
def listing_page(
    request: Request, session: SessionDep, user: Staff, service_id: uuid.UUID
) -> Response:
    """A listing as a coordinator sees it, whatever its curation status."""
    done = request.query_params.get("done", "")
    notice = gettext(request, DONE[done]) if done in DONE else None
    return _listing_page(request, session, user, service_id, notice=notice)


def _version(form: Mapping[str, str]) -> int:
    version = whole_number(form.get("version"), most=2**31 - 1)
    if version is None:
        raise PreconditionFailed("the form carries no version")
    return version


def _act(
    request: Request,
    session: SessionDep,
    user: User,
    service_id: uuid.UUID,
    form: Mapping[str, str],
    act: Callable[[int], object],
    done: str,
) -> Response:
    """Do one act on the listing at the version its form saw; the page again when refused."""
    try:
        act(_version(form))
    except InvalidInput as error:
        errors = {error.field or "form": _message(request, error.field)}
        return _listing_page(
            request, session, user, service_id, form=form, errors=errors, status=422
        )
    except PreconditionFailed:
        errors = {"form": gettext(request, STALE)}
        return _listing_page(request, session, user, service_id, errors=errors, status=409)
    except Conflict:
        errors = {"form": gettext(request, vocab.RELOAD)}
        return _listing_page(request, session, user, service_id, errors=errors, status=409)
    return RedirectResponse(f"/console/listings/{service_id}?done={done}", status_code=303)


@router.post("/console/listings/{service_id}/verify")
def verify(
    request: Request, session: SessionDep, user: Staff, service_id: uuid.UUID, form: Form
) -> Response:
    """Record how, when and with what note the coordinator checked the listing."""

    def act(version: int) -> object:
        how = _verification(request, form)
        return curating.verify_service(
            session, service_id, by=user.email, expected_version=version, **how
        )

    return _act(request, session, user, service_id, form, act, "verified")


@router.post("/console/listings/{service_id}/capacity")
def set_capacity(
    request: Request, session: SessionDep, user: Staff, service_id: uuid.UUID, form: Form
) -> Response:
    """Set whether the service takes new clients (its date is today's)."""

    def act(version: int) -> object:
        capacity = form.get("capacity", "")
        if capacity not in CAPACITY_STATUSES:
            raise InvalidInput("choose a capacity", field="capacity")
        patch = ServiceUpdate.model_validate({"capacity_status": capacity})
        return service.update_service(
            session, service_id, patch, expected_version=version, by=user.email
        )

    return _act(request, session, user, service_id, form, act, "capacity")


@router.post("/console/listings/{service_id}/status")
def move(
    request: Request, session: SessionDep, user: Staff, service_id: uuid.UUID, form: Form
) -> Response:
    """Publish, unpublish, archive or restore the listing."""
    chosen = MOVES.get(form.get("move", ""))
    if chosen is None:
        errors = {"form": _message(request, "move")}
        return _listing_page(request, session, user, service_id, errors=errors, status=422)

    def act(version: int) -> object:
        return curating.move_service(
            session, service_id, chosen, expected_version=version, by=user.email
        )

    return _act(request, session, user, service_id, form, act, chosen)
