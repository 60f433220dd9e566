"""The search page: the same parameters as ``GET /v1/search``, so a search is a link to keep."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from directory.api.deps import ReadSessionDep, SessionDep
from directory.curation.service import saved_ids, saved_listings
from directory.search import service
from directory.search.query import SearchQuery, SearchResponse
from directory.web.deps import PageContext, SignedIn, Viewer
from directory.web.templating import render

router = APIRouter(dependencies=[PageContext], include_in_schema=False)
LISTS = ("need", "language", "accessibility", "cost")
FIELDS = set(SearchQuery.model_fields)
PER_PAGE = 10
ZIP = re.compile(r"\d{5}")


def form_fields(request: Request) -> dict[str, Any]:
    """The search fields of the query string (blank ones dropped, lists from repeats or
    commas); other parameters are not the search's."""
    fields: dict[str, Any] = {}
    for key, value in request.query_params.multi_items():
        if key not in FIELDS or not value.strip():
            continue
        if key in LISTS:
            fields.setdefault(key, []).extend(v.strip() for v in value.split(",") if v.strip())
        else:
            fields[key] = value.strip()
    if "near" in fields:  # a located search is about that point, not a typed ZIP
        fields.pop("postcode", None)
    return fields


def _errors(error: ValidationError) -> dict[str, str]:
    return {str(e["loc"][0]) if e["loc"] else "q": e["msg"] for e in error.errors()}


@router.get("/search")
def search_page(
    request: Request, session: SessionDep, reads: ReadSessionDep, user: SignedIn
) -> Response:
    """One box for the need, a place, chips and filters; result cards; the crisis banner."""
    fields = form_fields(request)
    context: dict[str, Any] = {"fields": fields, "errors": {}, "found": None}
    searching = any(k in fields for k in ("q", "need", "postcode", "near"))
    if searching:
        try:
            query = SearchQuery.model_validate({"per_page": PER_PAGE, **fields})
        except ValidationError as error:
            context["errors"] = _errors(error)
        else:
            context["found"] = _search(request, reads, query)
            context["pages"] = _pages(fields, context["found"])
    context["saved"] = saved_ids(session, user)
    if not searching:
        context["my_list"] = saved_listings(session, user)
    # htmx asks for the results only; a history restore (Back) gets the whole page.
    partial = request.headers.get("HX-Request") == "true" and not request.headers.get(
        "HX-History-Restore-Request"
    )
    response = render(request, "_results.html" if partial else "search.html", context)
    response.headers["Vary"] = "HX-Request, HX-History-Restore-Request, Cookie"
    return response


def _search(request: Request, session: Session, query: SearchQuery) -> SearchResponse:
    settings = request.app.state.settings
    return service.search(
        session,
        query,
        backends=request.app.state.backends,
        default_country=settings.default_country,
    )


def _pages(fields: dict[str, Any], found: SearchResponse) -> dict[str, str | None]:
    """Links to the previous and next pages of the same search."""

    def link(page: int) -> str:
        pairs = [(k, v) for k, vs in fields.items() if k != "page" for v in _listed(vs)]
        return "/search?" + urlencode([*pairs, ("page", str(page))])

    last = max(1, -(-found.total // found.per_page))
    return {
        "previous": link(found.page - 1) if found.page > 1 else None,
        "next": link(found.page + 1) if found.page < last else None,
        "last": str(last),
    }


def _listed(value: Any) -> list[str]:
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


@router.get("/crisis")
def crisis_page(request: Request, session: ReadSessionDep, user: Viewer) -> Response:
    """Crisis lines for the visitor's country (public: one step away, always)."""
    settings = request.app.state.settings
    postcode = request.query_params.get("postcode", "").strip()
    block = service.crisis_lines(
        session,
        postcode=postcode if ZIP.fullmatch(postcode) else None,
        language=request.state.lang,
        default_country=settings.default_country,
        cache=request.app.state.crisis_cache,
    )
    return render(request, "crisis.html", {"block": block})
