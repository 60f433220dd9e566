"""Each request's id, on its response and on every log line written while it is answered, and
(with ``DIRECTORY_ACCESS_LOG``) one line per request.

The line names the route's template (``/v1/mentees/{mentee_ref}/referrals``), never the path
or its query string: paths carry mentee codes and query strings what people search for.
"""

from __future__ import annotations

import logging
import re
import time
import uuid

import structlog
from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

access = logging.getLogger("directory.access")
SAFE_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")  # a caller's id we repeat in logs and headers
UNMATCHED = "unmatched"  # the route of a request no route took (a 404, or refused before)
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def route_template(scope: Scope) -> str:
    """The template of the route that took the request (after the app ran), else UNMATCHED."""
    template = getattr(scope.get("route"), "path_format", None)
    return template if isinstance(template, str) else UNMATCHED


def method_of(scope: Scope) -> str:
    """The request's method, or ``OTHER`` for one no route answers (a caller picks it)."""
    method = str(scope.get("method", ""))
    return method if method in METHODS else "OTHER"


def request_id(scope: Scope) -> str:
    """The caller's ``X-Request-ID`` when short and plain (it is repeated in logs), else new."""
    given = Headers(scope=scope).get("x-request-id")
    if given is not None and SAFE_ID.fullmatch(given):
        return given
    return uuid.uuid4().hex


class RequestLog:
    """ASGI middleware: bind the request id, echo it in ``X-Request-ID``, log the request."""

    def __init__(self, app: ASGIApp, *, access_log: bool) -> None:
        self.app, self.access_log = app, access_log

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = request_id(scope)
        # Bound for the rest of this request's task, not unbound on the way out: an unhandled
        # error is logged by Starlette's outermost middleware, after this one has returned.
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(request_id=rid)
        started = time.perf_counter()
        status = 500  # when no response starts, the error handler outside answers 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                MutableHeaders(scope=message)["X-Request-ID"] = rid
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            if self.access_log:
                _log(scope, status, time.perf_counter() - started, rid)


def _log(scope: Scope, status: int, seconds: float, rid: str) -> None:
    """The access line: no path, no query string, no client address."""
    line: dict[str, object] = {
        "method": method_of(scope),
        "route": route_template(scope),
        "status": status,
        "duration_ms": round(seconds * 1000, 1),
        "request_id": rid,
    }
    access.info("request", extra=line)
