"""A listing's page, sharing it with a mentee, a mentor's list, and problem reports."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from directory.accounts.roles import can
from directory.api.deps import SessionDep
from directory.curation import service as curation
from directory.errors import InvalidInput
from directory.listings import queries
from directory.listings.read_schemas import ServiceRead
from directory.web import present
from directory.web.deps import Form, PageContext, SignedIn, local_path
from directory.web.templating import day_words, gettext, render

router = APIRouter(dependencies=[PageContext], include_in_schema=False)


def _listing(session: SessionDep, user: SignedIn, service_id: uuid.UUID) -> ServiceRead:
    return queries.read_service(session, service_id, published_only=not can(user, "curate"))


@router.get("/listings/{service_id}")
def listing_page(
    request: Request, session: SessionDep, user: SignedIn, service_id: uuid.UUID
) -> Response:
    service = _listing(session, user, service_id)
    context = {
        "service": service,
        "sites": present.sites(service),
        "saved": service.id in curation.saved_ids(session, user),
    }
    return render(request, "listing.html", context)


@router.get("/listings/{service_id}/share")
def share_page(
    request: Request, session: SessionDep, user: SignedIn, service_id: uuid.UUID
) -> Response:
    """What to give the mentee: the service's details and nothing about the mentee."""
    service = _listing(session, user, service_id)
    text = day_words(present.share_text(service), request.state.lang)
    context = {
        "service": service,
        "sites": present.sites(service),
        "text": text,
        "sms_url": present.sms_body_url(text),
    }
    return render(request, "share.html", context)


@router.post("/listings/{service_id}/save")
def save(
    request: Request, session: SessionDep, user: SignedIn, service_id: uuid.UUID, form: Form
) -> Response:
    if form.get("remove"):
        curation.unsave_listing(session, user, service_id)
    else:
        curation.save_listing(session, user, service_id)
    back = local_path(form.get("next"), default=f"/listings/{service_id}")
    return RedirectResponse(back, status_code=303)


@router.get("/my-list")
def my_list(request: Request, session: SessionDep, user: SignedIn) -> Response:
    return render(request, "my_list.html", {"items": curation.saved_listings(session, user)})


@router.get("/listings/{service_id}/report")
def report_page(
    request: Request, session: SessionDep, user: SignedIn, service_id: uuid.UUID
) -> Response:
    service = _listing(session, user, service_id)
    return render(request, "report.html", {"service": service, "form": {}})


@router.post("/listings/{service_id}/report")
def report(
    request: Request, session: SessionDep, user: SignedIn, service_id: uuid.UUID, form: Form
) -> Response:
    service = _listing(session, user, service_id)
    try:
        curation.report_problem(
            session, user, service_id, kind=form.get("kind", ""), detail=form.get("detail")
        )
    except InvalidInput as error:
        context = {"service": service, "form": form}
        context["error"] = gettext(request, error.detail)
        return render(request, "report.html", context, status=422)
    return render(request, "report_sent.html", {"service": service})


@router.get("/problems")
def problems() -> Response:
    """Problem reports moved to the console's review queue (old links and bookmarks)."""
    return RedirectResponse("/console/queue?kind=problem", status_code=303)
