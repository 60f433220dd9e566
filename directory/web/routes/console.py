"""The coordinator console's first page: what needs a look today, with links to each page."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from directory.api.deps import SessionDep
from directory.curation.overview import UNMET_DAYS, overview
from directory.web.deps import PageContext, Staff
from directory.web.templating import render

router = APIRouter(dependencies=[PageContext], include_in_schema=False)


@router.get("/console")
def console_home(request: Request, session: SessionDep, user: Staff) -> Response:
    days = request.app.state.settings.stale_after_days
    counts = overview(session, user, stale_after_days=days)
    context = {"counts": counts, "stale_days": days, "unmet_days": UNMET_DAYS}
    return render(request, "console/home.html", context)
