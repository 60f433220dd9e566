"""The HSDS 3.0 API under ``/hsds/``, as the specification's ``openapi.json`` defines it.

Published listings only. ``DIRECTORY_HSDS_ACCESS``: ``open`` (anyone, any origin: CORS ``*``,
each client address within ``OPEN_RATE``), ``key`` (a partner key or a sign-in, as
``/v1/search``: the key's origins and rate), ``off`` (every path a 404). Its own OpenAPI
document is ``/hsds/openapi.json`` (``api/hsds_openapi.py``), so these routes stay out of
``/openapi.json``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import math
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Header, Query, Request, Response
from fastapi.responses import JSONResponse, StreamingResponse
from limits import parse
from pydantic import RootModel
from sqlalchemy.orm import Session

from directory.api import hsds_openapi
from directory.api.caching import cached_json
from directory.api.callers import reader
from directory.api.cors import HSDS_ABOUT
from directory.api.deps import ReadSessionDep, SessionDep, read_sessions
from directory.errors import InvalidInput, NotFound, TooManyRequests
from directory.hsds import answers, queries
from directory.hsds.answers import Paging, TermFilters
from directory.hsds.queries import Filters
from directory.search.query import NO_NUL

OPEN_RATE = "600/minute"  # per client address when open: a crawler's pace, not a flood's
NDJSON_RATE = "10/minute"  # whole dumps (format=ndjson) per client address, in every mode
MAX_AGE = 60
Doc = dict[str, Any]


def access(
    request: Request,
    session: SessionDep,
    authorization: Annotated[str | None, Header()] = None,
    x_api_key: Annotated[str | None, Header(alias="X-Api-Key")] = None,
) -> None:
    """The setting's rule: off, a partner key (as /v1/search), or open within a rate."""
    mode = request.app.state.settings.hsds_access
    if mode == "off":
        raise NotFound("the HSDS API is not offered here")
    if request.url.path in HSDS_ABOUT:
        return  # what the API is, and how to call it, is for anyone
    if mode == "key":
        reader(request, session, authorization, x_api_key)
    else:
        _within(request, OPEN_RATE, "hsds")
    if request.query_params.get("format") == "ndjson":  # a whole dump is one request
        _within(request, NDJSON_RATE, "hsds-ndjson")


def _within(request: Request, rate: str, name: str) -> None:
    """Count the request against ``rate`` for its client address (429 past it)."""
    limiter = request.app.state.limiter
    limit, who = parse(rate), request.client.host if request.client else "unknown"
    if not limiter.hit(limit, name, who):
        reset, _ = limiter.get_window_stats(limit, name, who)
        wait = max(1, math.ceil(reset - time.time()))
        raise TooManyRequests(f"at most {rate}; try again in {wait} s", retry_after=wait)


router = APIRouter(prefix="/hsds", include_in_schema=False, dependencies=[Depends(access)])

# --- the query parameters ---------------------------------------------------------------------

PageNumber = Annotated[int, Query(ge=1, le=queries.MAX_PAGE)]
PerPage = Annotated[int, Query(ge=1, le=queries.MAX_PER_PAGE)]
Words = Annotated[str | None, Query(max_length=queries.MAX_SEARCH, pattern=NO_NUL)]
Format = Annotated[Literal["json", "ndjson"], Query()]
Id = Annotated[uuid.UUID | None, Query()]


def paging(page: PageNumber = 1, per_page: PerPage = queries.PER_PAGE) -> Paging:
    return Paging(page, per_page)


def filters(
    search: Words = None,
    taxonomy_term_id: Id = None,
    taxonomy_id: Id = None,
    organization_id: Id = None,
    modified_after: Annotated[str | None, Query(max_length=40)] = None,
) -> Filters:
    since = _instant(modified_after) if modified_after is not None else None
    return Filters(search, taxonomy_term_id, taxonomy_id, organization_id, since)


def _instant(text: str) -> dt.datetime:
    """An ISO 8601 date-time (a time without an offset is UTC); not a number of seconds."""
    try:
        found = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        raise InvalidInput(
            f"modified_after must be an ISO 8601 date-time, not {text[:40]!r}",
            field="modified_after",
        ) from None
    return found if found.tzinfo is not None else found.replace(tzinfo=dt.UTC)


PagingDep = Annotated[Paging, Depends(paging)]
FiltersDep = Annotated[Filters, Depends(filters)]

# --- the answers --------------------------------------------------------------------------------


def _json(request: Request, body: Doc) -> Response:
    public = request.app.state.settings.hsds_access == "open"
    return cached_json(
        request, RootModel[Doc](body), max_age=MAX_AGE, public=public, volatile=set()
    )


def _ndjson(request: Request, docs: Iterator[Doc]) -> Response:
    public = request.app.state.settings.hsds_access == "open"
    lines = (json.dumps(doc, separators=(",", ":")).encode() + b"\n" for doc in docs)
    headers = {"Cache-Control": f"{'public' if public else 'private'}, max-age={MAX_AGE}"}
    return StreamingResponse(lines, media_type="application/x-ndjson", headers=headers)


def _factory(request: Request) -> Callable[[], Session]:
    return read_sessions(request)


def _paged(
    request: Request,
    session: Session,
    pages: Paging,
    format: str,
    read: Callable[[Session, Paging], Doc],
) -> Response:
    """A page of a small listing (organizations, taxonomies, terms), or all of it as NDJSON."""
    if format == "ndjson":
        return _ndjson(request, answers.every_page(_factory(request), read))
    return _json(request, read(session, pages))


@router.get("/")
def about(request: Request) -> JSONResponse:
    """The API's HSDS version, profile and OpenAPI document."""
    base = request.app.state.settings.base_url.rstrip("/")
    return JSONResponse(
        {
            "version": "3.0",
            "profile": hsds_openapi.PROFILE,
            "openapi_url": f"{base}/hsds/openapi.json",
        }
    )


@router.get("/openapi.json")
def openapi(request: Request) -> JSONResponse:
    """The spec's OpenAPI document, with our details."""
    return JSONResponse(hsds_openapi.document(request.app.state.settings))


@router.get("/services")
def services(
    request: Request,
    session: ReadSessionDep,
    found: FiltersDep,
    pages: PagingDep,
    format: Format = "json",
    minimal: bool = False,
    full: bool = False,
) -> Response:
    """Published services: a page of them, or all as NDJSON."""
    shape: answers.Shape = "minimal" if minimal else "full" if full else "list"
    if format == "ndjson":
        ids = queries.service_ids(session, found).ids
        read = lambda s, chunk: answers.service_docs(s, chunk, shape)  # noqa: E731
        return _ndjson(request, answers.every_of(_factory(request), ids, read))
    return _json(request, answers.services_page(session, found, pages, shape))


@router.get("/services/{id}")
def service(request: Request, session: ReadSessionDep, id: uuid.UUID) -> Response:
    """One published service, fully nested."""
    return _json(request, answers.service(session, id))


@router.get("/service_at_locations")
def service_at_locations(
    request: Request,
    session: ReadSessionDep,
    found: FiltersDep,
    pages: PagingDep,
    format: Format = "json",
    full: bool = False,
    postcode: Annotated[str | None, Query(max_length=10)] = None,
    proximity: Annotated[
        float | None, Query(gt=0, le=queries.MAX_PROXIMITY, allow_inf_nan=False)
    ] = None,
) -> Response:
    """The published services' service_at_locations, near a postcode when given."""
    if proximity is not None and postcode is None:
        raise InvalidInput("proximity is a distance from a postcode: send one", field="postcode")
    found = dataclasses.replace(found, postcode=postcode, proximity=proximity)
    if format == "ndjson":
        ids = queries.service_at_location_ids(session, found).ids
        read = lambda s, chunk: answers.at_location_docs(s, chunk, full)  # noqa: E731
        return _ndjson(request, answers.every_of(_factory(request), ids, read))
    return _json(request, answers.service_at_locations_page(session, found, pages, full))


@router.get("/service_at_locations/{id}")
def service_at_location(request: Request, session: ReadSessionDep, id: uuid.UUID) -> Response:
    """One service_at_location of a published service, fully nested."""
    return _json(request, answers.service_at_location(session, id))


@router.get("/organizations")
def organizations(
    request: Request,
    session: ReadSessionDep,
    pages: PagingDep,
    search: Words = None,
    format: Format = "json",
    full: bool = False,
    full_service: bool = False,
) -> Response:
    """The organizations of published services."""

    def read(s: Session, p: Paging) -> Doc:
        return answers.organizations_page(s, search, p, full=full, full_service=full_service)

    return _paged(request, session, pages, format, read)


@router.get("/organizations/{id}")
def organization(
    request: Request, session: ReadSessionDep, id: uuid.UUID, full_service: bool = False
) -> Response:
    """One organization of published services, with its services."""
    return _json(request, answers.organization(session, id, full_service=full_service))


@router.get("/taxonomies")
def taxonomies(
    request: Request,
    session: ReadSessionDep,
    pages: PagingDep,
    search: Words = None,
    format: Format = "json",
) -> Response:
    """The taxonomies of the terms published services use."""

    def read(s: Session, p: Paging) -> Doc:
        return answers.taxonomies_page(s, search, p)

    return _paged(request, session, pages, format, read)


@router.get("/taxonomies/{id}")
def taxonomy(request: Request, session: ReadSessionDep, id: uuid.UUID) -> Response:
    return _json(request, answers.taxonomy(session, id))


@router.get("/taxonomy_terms")
def taxonomy_terms(
    request: Request,
    session: ReadSessionDep,
    pages: PagingDep,
    search: Words = None,
    format: Format = "json",
    taxonomy_id: Id = None,
    parent_id: Id = None,
    top_only: bool = False,
) -> Response:
    """The taxonomy terms published services use, and the terms above them."""
    wanted = TermFilters(search, taxonomy_id, parent_id, top_only)

    def read(s: Session, p: Paging) -> Doc:
        return answers.taxonomy_terms_page(s, wanted, p)

    return _paged(request, session, pages, format, read)


@router.get("/taxonomy_terms/{id}")
def taxonomy_term(request: Request, session: ReadSessionDep, id: uuid.UUID) -> Response:
    return _json(request, answers.taxonomy_term(session, id))
