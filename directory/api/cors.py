"""CORS for partner keys: a browser is answered only for the origins of the key it uses.

A preflight carries no ``X-Api-Key`` (browsers do not send custom headers with it): it is
answered for the origins of the ``key=`` in its URL when there is one, else for any live key's
origins; the request that follows is then checked against its own key's origins (see
``callers.reader``). The crisis lines are public and answer every origin.
"""

from __future__ import annotations

from sqlalchemy.orm import Session, sessionmaker
from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint
from starlette.requests import Request
from starlette.responses import Response

from directory.accounts.keys import key_for, live_origins
from directory.api.errors import error_response

PUBLIC_PATHS = ("/v1/crisis-lines",)
ALLOWED_HEADERS = "X-Api-Key, Content-Type, If-None-Match"
EXPOSED_HEADERS = "ETag, Retry-After"


class PartnerCors(BaseHTTPMiddleware):
    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        origin = request.headers.get("origin")
        public = request.url.path in PUBLIC_PATHS
        if origin is None:
            return await call_next(request)
        if request.method == "OPTIONS" and "access-control-request-method" in request.headers:
            if not (public or self._preflight_allowed(request, origin)):
                return error_response(403, "Forbidden", f"no partner key is for {origin[:100]}")
            return Response(status_code=204, headers=_headers(origin, preflight=True))
        response = await call_next(request)
        allowed = getattr(request.state, "cors_origin", None)
        if public or (allowed is not None and allowed == origin):
            response.headers.update(_headers("*" if public else origin, preflight=False))
        return response

    def _preflight_allowed(self, request: Request, origin: str) -> bool:
        factory: sessionmaker[Session] = request.app.state.sessionmaker
        with factory() as session:
            raw = request.query_params.get("key")
            if raw:
                key = key_for(session, raw)
                return key is not None and origin.lower().rstrip("/") in key.origins
            return origin.lower().rstrip("/") in live_origins(session)


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
