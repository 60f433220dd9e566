"""Refer a mentee, follow up, and see one's referrals. Mentee codes and notes travel only in
POST bodies, never in URLs."""

from __future__ import annotations

import datetime as dt
import secrets
import uuid
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import TypeAdapter, ValidationError
from sqlalchemy import select

from directory.accounts.roles import require
from directory.api.deps import SessionDep
from directory.errors import DirectoryError, PreconditionFailed
from directory.listings import queries as listings
from directory.listings.models import Service
from directory.referrals import lifecycle, queries, service
from directory.referrals.notes import NoteCipher, cipher_for
from directory.referrals.schemas import EventIn, ReferralCreate, ReferralRead
from directory.web import present, vocab
from directory.web.deps import Form, PageContext, SignedIn, form_list
from directory.web.templating import gettext, render

router = APIRouter(dependencies=[PageContext], include_in_schema=False)
EVENT = TypeAdapter(EventIn)
FOLLOW_UP_AFTER = dt.timedelta(days=2)
FOLLOW_UP_HOUR = 17  # a follow-up date means the end of that working day, the listing's time
FOLLOW_UPS_AHEAD = dt.timedelta(days=7)


def _cipher(request: Request) -> NoteCipher:
    settings = request.app.state.settings
    return cipher_for(settings.note_keys, settings.secret_key)


def _refer_context(
    request: Request, session: SessionDep, service_id: uuid.UUID, form: dict[str, Any]
) -> dict[str, Any]:
    listing = listings.read_service(session, service_id, published_only=True)
    site = listing.locations[0] if listing.locations else None
    return {
        "service": listing,
        "vocab": vocab,
        "form": form,
        "errors": {},
        "zone": present.time_zone(listing.schedules, site) or "UTC",
        "today": dt.date.today().isoformat(),
    }


@router.get("/listings/{service_id}/refer")
def refer_page(
    request: Request, session: SessionDep, user: SignedIn, service_id: uuid.UUID
) -> Response:
    require(user, "refer")
    need = request.query_params.getlist("need")
    form = {
        "idem": secrets.token_urlsafe(16),
        "needs": need,
        "follow_up": (dt.date.today() + FOLLOW_UP_AFTER).isoformat(),
        "contact_preference": "mentee-will-contact",
        "consent_method": "verbal",
        "priority": "routine",
        "location_id": request.query_params.get("site", ""),
    }
    return render(request, "refer.html", _refer_context(request, session, service_id, form))


@router.post("/listings/{service_id}/refer")
def refer(
    request: Request, session: SessionDep, user: SignedIn, service_id: uuid.UUID, form: Form
) -> Response:
    require(user, "refer")
    values: dict[str, Any] = {**form, "needs": form_list(request, "needs")}
    context = _refer_context(request, session, service_id, values)
    try:
        doc = ReferralCreate.model_validate(_document(form, values["needs"], service_id, context))
        referral, _ = service.create_referral(
            session,
            user,
            doc,
            cipher=_cipher(request),
            idempotency_key=form.get("idem") or None,
        )
    except ValidationError as error:
        context["errors"] = _field_errors(request, error)
    except DirectoryError as error:
        context["errors"] = {error.field or "form": gettext(request, error.detail)}
    else:
        return RedirectResponse(f"/referrals/{referral.id}?made=1", status_code=303)
    return render(request, "refer.html", context, status=422)


def _document(
    form: dict[str, str], needs: list[str], service_id: uuid.UUID, context: dict[str, Any]
) -> dict[str, Any]:
    """The referral document from the form's fields."""
    zone = ZoneInfo(context["zone"])
    follow_up: dt.datetime | str | None = None
    if form.get("follow_up"):
        try:
            day = dt.date.fromisoformat(form["follow_up"])
            follow_up = dt.datetime.combine(day, dt.time(FOLLOW_UP_HOUR), tzinfo=zone)
        except ValueError:
            follow_up = form["follow_up"]  # validation says what is wrong
    expires = None
    if form.get("consent_expires"):
        expires = form["consent_expires"] + "T23:59:00"
    return {
        "mentee_ref": form.get("mentee_ref", ""),
        "service_id": service_id,
        "location_id": form.get("location_id") or None,
        "needs": needs,
        "priority": form.get("priority", "routine"),
        "contact_preference": form.get("contact_preference", ""),
        "consent": {
            "scope": form.get("consent_scope", ""),
            "method": form.get("consent_method", ""),
            "obtained_at": dt.datetime.now(dt.UTC),
            "expires_at": expires,
        },
        "note": form.get("note") or None,
        "follow_up_at": follow_up,
    }


def _field_errors(request: Request, error: ValidationError) -> dict[str, str]:
    """Messages by form field, in the page's language."""
    found: dict[str, str] = {}
    for item in error.errors():
        loc = [str(part) for part in item["loc"] if not isinstance(part, int)]
        field = "_".join(loc) if loc[:1] == ["consent"] else (loc[0] if loc else "form")
        field = {"consent_obtained_at": "consent_scope", "consent": "consent_scope"}.get(
            field, field
        )
        message = str(item["msg"]).removeprefix("Value error, ")
        found.setdefault(field, gettext(request, message))
    return found


def _referral_page(
    request: Request,
    session: SessionDep,
    referral: ReferralRead,
    *,
    status: int = 200,
    **extra: Any,
) -> Response:
    name = session.scalar(select(Service.name).where(Service.id == referral.service_id))
    context = {
        "referral": referral,
        "service_name": name,
        "vocab": vocab,
        "moves": sorted(lifecycle.next_statuses(referral.status)),
        "open": referral.status not in lifecycle.TERMINAL,
        "lifecycle": lifecycle,
        "today": dt.date.today().isoformat(),
        **extra,
    }
    return render(request, "referral.html", context, status=status)


@router.get("/referrals/{referral_id}")
def referral_page(
    request: Request, session: SessionDep, user: SignedIn, referral_id: uuid.UUID
) -> Response:
    found = queries.read_referral(session, user, referral_id, cipher=_cipher(request))
    return _referral_page(request, session, found, made=request.query_params.get("made") == "1")


@router.post("/referrals/{referral_id}/events")
def add_event(
    request: Request, session: SessionDep, user: SignedIn, referral_id: uuid.UUID, form: Form
) -> Response:
    """A follow-up step; a stale page is told what changed, never a bare 412."""
    cipher = _cipher(request)
    try:
        version = int(form.get("version", ""))
        event = EVENT.validate_python(_event(form))
        service.add_event(
            session, user, referral_id, event, expected_version=version, cipher=cipher
        )
    except PreconditionFailed:
        session.rollback()
        current = queries.read_referral(session, user, referral_id, cipher=cipher)
        return _referral_page(request, session, current, status=409, stale=True)
    except (ValueError, ValidationError, DirectoryError) as error:
        session.rollback()
        current = queries.read_referral(session, user, referral_id, cipher=cipher)
        return _referral_page(request, session, current, status=422, error=_message(request, error))
    return RedirectResponse(f"/referrals/{referral_id}", status_code=303)


def _message(request: Request, error: Exception) -> str:
    if isinstance(error, DirectoryError):
        return gettext(request, error.detail)
    if isinstance(error, ValidationError):
        first = error.errors()[0]
        return gettext(request, str(first["msg"]).removeprefix("Value error, "))
    return gettext(request, "Something in the form is missing or not valid.")


def _event(form: dict[str, str]) -> dict[str, Any]:
    """The event document from a follow-up form (blank fields left out)."""
    kind = form.get("type", "")
    fields = {
        "status": ("to", "reason", "outcome"),
        "contact-attempt": ("channel", "result"),
        "sub-status": ("value", "date"),
        "follow-up": ("next_at",),
        "note": ("text",),
    }.get(kind, ())
    event: dict[str, Any] = {"type": kind}
    event.update({name: form[name] for name in fields if form.get(name, "").strip()})
    if kind == "follow-up" and "next_at" in event:
        event["next_at"] = f"{event['next_at']}T{FOLLOW_UP_HOUR}:00:00"
    return event


@router.get("/referrals")
def my_referrals(request: Request, session: SessionDep, user: SignedIn) -> Response:
    page_number = request.query_params.get("page", "1")
    page = int(page_number) if page_number.isdigit() and 0 < int(page_number) < 10_000 else 1
    found = queries.list_referrals(session, user, cipher=_cipher(request), page=page)
    names = _service_names(session, [r.service_id for r in found.items])
    return render(request, "referrals.html", {"page": found, "names": names, "vocab": vocab})


@router.get("/follow-ups")
def follow_ups(request: Request, session: SessionDep, user: SignedIn) -> Response:
    """Open referrals due this week, the overdue ones first."""
    due = dt.datetime.now(dt.UTC) + FOLLOW_UPS_AHEAD
    found = queries.follow_ups(session, user, due_before=due, cipher=_cipher(request))
    found.sort(key=lambda r: (not r.overdue, r.priority != "urgent", r.follow_up_at))
    names = _service_names(session, [r.service_id for r in found])
    return render(request, "follow_ups.html", {"items": found, "names": names, "vocab": vocab})


def _service_names(session: SessionDep, ids: list[uuid.UUID]) -> dict[uuid.UUID, str]:
    if not ids:
        return {}
    rows = session.execute(select(Service.id, Service.name).where(Service.id.in_(set(ids))))
    return {row.id: row.name for row in rows}
