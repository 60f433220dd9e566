"""One error shape for every failure: ``{"error": "<Code>", "detail": "...", "field": ...}``."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.routing import iter_route_contexts
from sqlalchemy.exc import DataError, IntegrityError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm.exc import StaleDataError
from starlette.exceptions import HTTPException
from starlette.routing import Match

from directory.errors import DirectoryError, TooManyRequests

log = logging.getLogger(__name__)
HTTP_CODES = {
    400: "BadRequest",
    401: "Unauthorized",
    403: "Forbidden",
    404: "NotFound",
    405: "MethodNotAllowed",
    406: "NotAcceptable",
    409: "Conflict",
    412: "PreconditionFailed",
    413: "PayloadTooLarge",
    415: "UnsupportedMediaType",
    422: "ValidationError",
    428: "PreconditionRequired",
    429: "TooManyRequests",
}


def error_response(status: int, code: str, detail: str, **extra: Any) -> JSONResponse:
    body = {"error": code, "detail": detail, **{k: v for k, v in extra.items() if v is not None}}
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse(body, status_code=status, headers=headers)


def unavailable(detail: str) -> JSONResponse:
    """503 with ``Retry-After``: the database is away or busy, for a moment."""
    response = error_response(503, "Unavailable", detail)
    response.headers["Retry-After"] = "1"
    return response


MAX_LISTED = 20  # errors a 422 names: 700,000 unknown keys once made a 75 MB answer
MAX_TEXT = 120  # characters of a field's path or a message


def _listed(errors: Sequence[Any]) -> tuple[list[dict[str, str]], str]:
    """The first errors, each clipped, and a detail naming them (and how many more there are)."""
    fields = [
        {"field": _clip(_field(e)), "message": _clip(str(e["msg"]))} for e in errors[:MAX_LISTED]
    ]
    detail = "; ".join(f"{f['field']}: {f['message']}" for f in fields)
    if len(errors) > MAX_LISTED:
        detail += f"; and {len(errors) - MAX_LISTED} more"
    return fields, detail


def _clip(text: str) -> str:
    return text if len(text) <= MAX_TEXT else text[: MAX_TEXT - 1] + "…"


def _field(error: dict[str, Any]) -> str:
    """The dotted path of the offending input (``locations.0.latitude``); ``body`` for bad JSON."""
    if error["type"] == "json_invalid":
        return "body"
    loc = tuple(error["loc"])
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or (str(loc[-1]) if loc else "")


def _allowed(request: Request) -> str:
    """Every method the path takes, for a 405's ``Allow`` (RFC 9110): the route that answers
    the 405 names only its own (GET and PATCH of /v1/services/{id} are two routes)."""
    methods: set[str] = set()
    for route in iter_route_contexts(request.app.router.routes):
        match, _ = route.matches(request.scope)
        if match != Match.NONE:
            methods |= set(route.methods or ())
    return ", ".join(sorted(methods))


PageRenderer = Callable[[Request, int, str], Awaitable[Response]]


def install(
    app: FastAPI,
    *,
    page: PageRenderer | None = None,
    is_page: Callable[[Request], bool] = lambda _: False,
) -> None:
    """Register the handlers that render every error in the one shape (and, for requests
    ``is_page`` picks, as a page through ``page``)."""

    @app.exception_handler(DirectoryError)
    async def directory_error(request: Request, error: DirectoryError) -> Response:
        if page is not None and is_page(request):
            return await page(request, error.status_code, error.detail)
        response = error_response(error.status_code, error.code, error.detail, field=error.field)
        if isinstance(error, TooManyRequests):
            response.headers["Retry-After"] = str(error.retry_after)
        return response

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, error: RequestValidationError) -> Response:
        if page is not None and is_page(request):
            in_path = any(e["loc"][:1] == ("path",) for e in error.errors())
            return await page(request, 404 if in_path else 422, "the address is not valid")
        fields, detail = _listed(error.errors())
        return error_response(
            422,
            "ValidationError",
            detail,
            fields=fields,
            field=fields[0]["field"] if fields else None,
        )

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, error: HTTPException) -> Response:
        if page is not None and is_page(request):
            response = await page(request, error.status_code, str(error.detail))
        else:
            code = HTTP_CODES.get(error.status_code, "Error")
            response = error_response(error.status_code, code, str(error.detail))
        response.headers.update(error.headers or {})  # a 401's WWW-Authenticate, say
        if error.status_code == 405:
            response.headers["Allow"] = _allowed(request)
        return response

    @app.exception_handler(StaleDataError)
    async def stale(_: Request, error: StaleDataError) -> JSONResponse:
        return error_response(412, "PreconditionFailed", "the listing changed meanwhile: reload")

    @app.exception_handler(IntegrityError)
    async def integrity(_: Request, error: IntegrityError) -> JSONResponse:
        log.warning("integrity error: %s", error.orig)
        return error_response(409, "Conflict", "the change conflicts with existing data")

    @app.exception_handler(DataError)
    async def out_of_range(_: Request, error: DataError) -> JSONResponse:
        # A backstop: validation should catch these first.
        log.warning("data error: %s", error.orig)
        return error_response(422, "InvalidInput", "a value is out of range for its field")

    @app.exception_handler(OperationalError)
    async def database_down(_: Request, error: OperationalError) -> JSONResponse:
        # The database restarted or is unreachable; the pool drops its dead connections, so
        # a retry gets a fresh one.
        log.warning("database unavailable: %s", error.orig)
        return unavailable("the database is unavailable: retry shortly")

    @app.exception_handler(PoolTimeout)
    async def pool_exhausted(_: Request, error: PoolTimeout) -> JSONResponse:
        # Every pooled connection stayed busy for the pool's timeout: a load to wait out.
        log.warning("no database connection free: %s", error)
        return unavailable("the service is busy: retry shortly")

    @app.exception_handler(Exception)
    async def unexpected(request: Request, error: Exception) -> Response:
        log.exception("unhandled error", exc_info=error)
        if page is not None and is_page(request):
            return await page(request, 500, "something went wrong on our side")
        return error_response(500, "InternalError", "something went wrong on our side")
