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

from directory.accounts.roles import require
from directory.api.deps import SessionDep
from directory.errors import Conflict, InvalidInput, PreconditionFailed
from directory.listings import queries as listings
from directory.referrals import lifecycle, queries, service
from directory.referrals.notes import NoteCipher, cipher_for
from directory.referrals.schemas import EventIn, ReferralCreate, ReferralRead
from directory.web import forms, vocab
from directory.web.deps import Form, PageContext, SignedIn, form_list
from directory.web.templating import gettext, render

router = APIRouter(dependencies=[PageContext], include_in_schema=False)
EVENT = TypeAdapter(EventIn)
FOLLOW_UP_AFTER = dt.timedelta(days=2)
FOLLOW_UPS_AHEAD = dt.timedelta(days=7)


def _cipher(request: Request) -> NoteCipher:
    settings = request.app.state.settings
    return cipher_for(settings.note_keys, settings.secret_key, legacy=settings.env != "production")


def _zone(request: Request) -> ZoneInfo:
    return ZoneInfo(request.app.state.settings.time_zone)


def _today(request: Request) -> dt.date:
    return dt.datetime.now(_zone(request)).date()


def _refer_page(
    request: Request,
    session: SessionDep,
    service_id: uuid.UUID,
    form: dict[str, Any],
    errors: dict[str, str] | None = None,
) -> Response:
    context = {
        "service": listings.read_service(session, service_id, published_only=True),
        "form": form,
        "errors": errors or {},
        "today": _today(request).isoformat(),
    }
    return render(request, "refer.html", context, status=422 if errors else 200)


@router.get("/listings/{service_id}/refer")
def refer_page(
    request: Request, session: SessionDep, user: SignedIn, service_id: uuid.UUID
) -> Response:
    require(user, "refer")
    form = {
        "idem": secrets.token_urlsafe(16),
        "consent_at": dt.datetime.now(dt.UTC).isoformat(),
        "needs": request.query_params.getlist("need"),
        "follow_up": (_today(request) + FOLLOW_UP_AFTER).isoformat(),
        "contact_preference": "mentee-will-contact",
        "consent_method": "verbal",
        "priority": "routine",
        "location_id": request.query_params.get("site", ""),
    }
    return _refer_page(request, session, service_id, form)


@router.post("/listings/{service_id}/refer")
def refer(
    request: Request, session: SessionDep, user: SignedIn, service_id: uuid.UUID, form: Form
) -> Response:
    """Make the referral; a form sent twice (its Idempotency-Key) shows the one referral."""
    require(user, "refer")
    needs = form_list(request, "needs")
    document = forms.referral_document(form, needs, service_id, _zone(request))
    key = form.get("idem") or None
    try:
        doc = ReferralCreate.model_validate(document)
        referral, _ = service.create_referral(
            session, user, doc, cipher=_cipher(request), idempotency_key=key
        )
    except ValidationError as error:
        errors = forms.field_errors(error, lambda text: gettext(request, text))
    except InvalidInput as error:
        earlier = queries.made_with_key(session, user, key) if key else None
        if error.field == "Idempotency-Key" and earlier is not None:
            return RedirectResponse(f"/referrals/{earlier}?already=1", status_code=303)
        message = forms.refusal(error, lambda text: gettext(request, text))
        errors = {forms.FIELD_IDS.get(error.field or "", "form"): message}
    except Conflict as error:
        errors = {"form": forms.refusal(error, lambda text: gettext(request, text))}
    else:
        return RedirectResponse(f"/referrals/{referral.id}?made=1", status_code=303)
    return _refer_page(request, session, service_id, {**form, "needs": needs}, errors)


def _referral_page(
    request: Request,
    session: SessionDep,
    referral: ReferralRead,
    *,
    status: int = 200,
    **extra: Any,
) -> Response:
    context = {
        "referral": referral,
        "service_name": queries.service_names(session, [referral.service_id]).get(
            referral.service_id
        ),
        "moves": sorted(lifecycle.next_statuses(referral.status)),
        "open": referral.status not in lifecycle.TERMINAL,
        "lifecycle": lifecycle,
        "today": _today(request).isoformat(),
        "form": {},
        **extra,
    }
    return render(request, "referral.html", context, status=status)


@router.get("/referrals/{referral_id}")
def referral_page(
    request: Request, session: SessionDep, user: SignedIn, referral_id: uuid.UUID
) -> Response:
    found = queries.read_referral(session, user, referral_id, cipher=_cipher(request))
    notice = {"made": "1", "already": "1"}
    shown = {k: request.query_params.get(k) == v for k, v in notice.items()}
    return _referral_page(request, session, found, **shown)


@router.post("/referrals/{referral_id}/events")
def add_event(
    request: Request, session: SessionDep, user: SignedIn, referral_id: uuid.UUID, form: Form
) -> Response:
    """A follow-up step; a stale page is told what changed, never a bare 412. Someone else's
    referral is a 404 (the service says so, and audits it)."""
    cipher = _cipher(request)
    version = form.get("version", "")
    problem: str | None = None
    try:
        event = EVENT.validate_python(forms.event_document(form, _zone(request)))
        expected = forms.whole_number(version, most=2**31 - 1)
        if expected is None:
            raise InvalidInput(vocab.RELOAD)
        service.add_event(
            session, user, referral_id, event, expected_version=expected, cipher=cipher
        )
    except PreconditionFailed:
        current = queries.read_referral(session, user, referral_id, cipher=cipher)
        return _referral_page(request, session, current, status=409, stale=True)
    except ValidationError as error:
        problem = next(iter(forms.field_errors(error, lambda t: gettext(request, t)).values()))
    except (Conflict, InvalidInput) as error:
        problem = forms.refusal(error, lambda text: gettext(request, text))
    if problem is None:
        return RedirectResponse(f"/referrals/{referral_id}", status_code=303)
    current = queries.read_referral(session, user, referral_id, cipher=cipher)
    return _referral_page(request, session, current, status=422, error=problem, form=form)


@router.get("/referrals")
def my_referrals(request: Request, session: SessionDep, user: SignedIn) -> Response:
    number = request.query_params.get("page", "1")
    page = forms.whole_number(number, most=9_999) or 1
    found = queries.list_referrals(session, user, cipher=_cipher(request), page=page)
    names = queries.service_names(session, [r.service_id for r in found.items])
    return render(request, "referrals.html", {"page": found, "names": names})


@router.get("/follow-ups")
def follow_ups(request: Request, session: SessionDep, user: SignedIn) -> Response:
    """Open referrals due this week, the overdue ones first."""
    due = dt.datetime.now(dt.UTC) + FOLLOW_UPS_AHEAD
    found = queries.follow_ups(session, user, due_before=due, cipher=_cipher(request))
    found.sort(key=lambda r: (not r.overdue, r.priority != "urgent", r.follow_up_at))
    names = queries.service_names(session, [r.service_id for r in found])
    return render(request, "follow_ups.html", {"items": found, "names": names})
