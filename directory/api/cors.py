"""CORS for partner keys: a browser is answered only for the origins of the key it uses.

A preflight carries no ``X-Api-Key`` (browsers do not send custom headers with it): it is
answered for the origins of the ``key=`` in its URL when there is one, else for any live key's
origins; the request that follows is then checked against its own key's origins (see
``callers.reader``, which records the origin it accepted). The crisis lines are public and
answer every origin. A plain ASGI middleware: requests without ``Origin`` pass untouched.
"""

from __future__ import annotations

from urllib.parse import parse_qs

from sqlalchemy.orm import Session, sessionmaker
from starlette.datastructures import Headers, MutableHeaders
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from directory.accounts.keys import key_for, live_origins
from directory.api.errors import error_response

PUBLIC_PATHS = ("/v1/crisis-lines",)
ALLOWED_HEADERS = "X-Api-Key, Content-Type, If-None-Match"
EXPOSED_HEADERS = "ETag, Retry-After"


class PartnerCors:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = Headers(scope=scope) if scope["type"] == "http" else None
        origin = headers.get("origin") if headers is not None else None
        if headers is None or origin is None:
            await self.app(scope, receive, send)
            return
        public = scope["path"] in PUBLIC_PATHS
        if scope["method"] == "OPTIONS" and "access-control-request-method" in headers:
            response: Response
            if public or _preflight_allowed(scope, origin):
                response = Response(status_code=204, headers=_headers(origin, preflight=True))
            else:
                response = error_response(403, "Forbidden", f"no partner key is for {origin[:100]}")
            await response(scope, receive, send)
            return

        async def send_with_cors(message: Message) -> None:
            if message["type"] == "http.response.start":
                accepted = scope.get("state", {}).get("cors_origin")
                if public or (accepted is not None and accepted == origin):
                    MutableHeaders(scope=message).update(
                        _headers("*" if public else origin, preflight=False)
                    )
            await send(message)

        await self.app(scope, receive, send_with_cors)


def _preflight_allowed(scope: Scope, origin: str) -> bool:
    factory: sessionmaker[Session] = scope["app"].state.sessionmaker
    wanted = origin.lower().rstrip("/")
    raw = parse_qs(scope.get("query_string", b"").decode("latin-1")).get("key", [None])[0]
    with factory() as session:
        if raw:
            key = key_for(session, raw)
            return key is not None and wanted in key.origins
        return wanted in live_origins(session)


def _headers(origin: str, *, preflight: bool) -> dict[str, str]:
    headers = {"Access-Control-Allow-Origin": origin, "Vary": "Origin"}
    if preflight:
        headers |= {
            "Access-Control-Allow-Methods": "GET, POST, OPTIONS",
            "Access-Control-Allow-Headers": ALLOWED_HEADERS,
            "Access-Control-Max-Age": "600",
        }
    else:
        headers["Access-Control-Expose-Headers"] = EXPOSED_HEADERS
    return headers
