"""Search (GET with a query string, or POST with the same fields as JSON) and crisis lines."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError

from directory.api.caching import cached_json
from directory.api.callers import Reader
from directory.api.deps import ReadSessionDep
from directory.api.metrics import answered
from directory.search import service
from directory.search.query import CrisisBlock, SearchQuery, SearchResponse

router = APIRouter(tags=["search"])
LISTS = {"need", "language", "accessibility", "cost"}
NOT_FIELDS = {"key"}  # a partner key in the URL is not a search field
SEARCH_MAX_AGE = 30
CRISIS_MAX_AGE = 300
CACHED: dict[int | str, dict[str, Any]] = {  # what cached_json answers, in the document
    200: {
        "headers": {
            "ETag": {
                "description": "The answer's version, for If-None-Match",
                "schema": {"type": "string"},
            },
            "Cache-Control": {
                "description": "How long it may be kept",
                "schema": {"type": "string"},
            },
        }
    },
    304: {"description": "Not Modified: the ETag sent in If-None-Match is still current"},
}


def _documented(
    *names: str, single: tuple[str, ...] = (), empty_is_absent: bool = False
) -> dict[str, Any]:
    """``openapi_extra`` naming SearchQuery's fields as query parameters: the routes read their
    query by hand (a list repeats or takes commas; near is "lat,lng"), so FastAPI cannot say
    them. Each takes its field's description and first example. ``single``: list fields that
    take one value here."""
    fields = SearchQuery.model_json_schema()["properties"]
    parameters = []
    for name in names:
        field = fields[name]
        example = field["examples"][0]
        schema = field["items"] if name in single else field
        parameter: dict[str, Any] = {
            "name": name,
            "in": "query",
            "description": field["description"],
            "example": example[0] if name in single else example,
            "schema": {k: v for k, v in schema.items() if k not in ("description", "examples")},
        }
        if name == "near":
            parameter |= {"style": "form", "explode": False}  # 27.95,-82.45
        if empty_is_absent:
            parameter["allowEmptyValue"] = True
        parameters.append(parameter)
    return {"parameters": parameters}


def _validated(fields: dict[str, Any]) -> SearchQuery:
    try:
        return SearchQuery.model_validate(fields)
    except ValidationError as error:
        raise RequestValidationError(
            [{**e, "loc": ("query", *e["loc"])} for e in error.errors(include_context=False)]
        ) from None


def _query_from_url(request: Request) -> SearchQuery:
    fields: dict[str, Any] = {}
    for key, value in request.query_params.multi_items():
        if key in LISTS:
            fields.setdefault(key, []).extend(v for v in value.split(",") if v.strip())
        elif key not in NOT_FIELDS:
            fields[key] = value
    return _validated(fields)


@router.get(
    "/v1/search",
    response_model=SearchResponse,
    responses=CACHED,
    openapi_extra=_documented(*SearchQuery.model_fields),
)
def search_get(request: Request, session: ReadSessionDep, caller: Reader) -> Response:
    """Search; list fields repeat (``need=anxiety&need=depression``) or take commas."""
    settings = request.app.state.settings
    query = _query_from_url(request)
    found = service.search(
        session,
        query,
        backends=request.app.state.backends,
        default_country=settings.default_country,
        crisis_cache=request.app.state.crisis_cache,
    )
    answered(request, found)
    return cached_json(request, found, max_age=SEARCH_MAX_AGE, volatile={"took_ms"})


@router.post("/v1/search", response_model=SearchResponse)
def search_post(
    request: Request, session: ReadSessionDep, caller: Reader, query: SearchQuery
) -> Response:
    """Search with the fields in a JSON body, so that nothing about a mentee is in a URL."""
    settings = request.app.state.settings
    found = service.search(
        session,
        query,
        backends=request.app.state.backends,
        default_country=settings.default_country,
        crisis_cache=request.app.state.crisis_cache,
    )
    answered(request, found)
    return Response(found.model_dump_json(), media_type="application/json")  # validated once


@router.get(
    "/v1/crisis-lines",
    response_model=CrisisBlock,
    responses=CACHED,
    openapi_extra=_documented(
        "near", "postcode", "country", "language", single=("language",), empty_is_absent=True
    ),
)
def crisis_lines(
    request: Request,
    session: ReadSessionDep,
    near: Annotated[str | None, Query(max_length=64, include_in_schema=False)] = None,
    postcode: Annotated[str | None, Query(max_length=10, include_in_schema=False)] = None,
    country: Annotated[str | None, Query(max_length=2, include_in_schema=False)] = None,
    language: Annotated[str | None, Query(max_length=64, include_in_schema=False)] = None,
) -> Response:
    """The crisis lines for a place or country and a language. Public: no sign-in needed."""
    fields: dict[str, Any] = {
        k: v for k, v in (("near", near), ("postcode", postcode), ("country", country)) if v
    }
    query = _validated(fields | ({"language": [language]} if language else {}))
    block = service.crisis_lines(
        session,
        near=query.near,
        postcode=query.postcode,
        country=query.country,
        language=query.language[0] if query.language else None,
        default_country=request.app.state.settings.default_country,
        cache=request.app.state.crisis_cache,
    )
    # lines from the cache (the database away) are not kept: the next ask gets the database's
    age = CRISIS_MAX_AGE if block.as_of is None else 0
    return cached_json(request, block, max_age=age, public=True, volatile=set())
