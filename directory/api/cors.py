"""CORS for partner keys: a browser is answered only for the origins of the key it uses.

A preflight carries no ``X-Api-Key`` (browsers do not send custom headers with it): it is
answered for the origins of the ``key=`` in its URL when there is one, else for any live key's
origins; the request that follows is then checked against its own key's origins (see
``callers.reader``, which records the origin it accepted). The crisis lines, and the HSDS API
when ``DIRECTORY_HSDS_ACCESS`` is ``open``, are public and answer every origin (``*``, never
with credentials). A plain ASGI middleware: requests without ``Origin`` pass untouched.

The keys' origins are read in a thread and kept (``KeyOrigins``): a preflight never waits on
the database on the event loop, where a frozen database once stalled every route (even
``/openapi.json``) and a stopped one answered 500s.
"""

from __future__ import annotations

import logging
import math
import time
from urllib.parse import parse_qs

import anyio
from anyio import to_thread
from sqlalchemy.orm import Session, sessionmaker
from starlette.datastructures import Headers, MutableHeaders
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from directory.accounts.keys import live_origins
from directory.accounts.service import hash_token
from directory.api.errors import error_response

log = logging.getLogger(__name__)
PUBLIC_PATHS = ("/v1/crisis-lines",)
HSDS_ABOUT = ("/hsds/", "/hsds/openapi.json")  # read by anyone, in every mode but off
ALLOWED_HEADERS = "X-Api-Key, Content-Type, If-None-Match"
EXPOSED_HEADERS = "ETag, Retry-After"


class KeyOrigins:
    """The live keys' origins by key hash, read again when older than ``ttl`` seconds, or on an
    origin not found when older than ``retry`` (a key just made); a read waits at most ``wait``
    seconds, and a failed one leaves the last known set (empty at first: refused)."""

    def __init__(self, *, ttl: float = 30, retry: float = 1, wait: float = 1) -> None:
        self.ttl, self.retry, self.wait = ttl, retry, wait
        self.by_key: dict[str, frozenset[str]] = {}
        self.tried_at = -math.inf
        self.lock = anyio.Lock()

    async def allow(self, factory: sessionmaker[Session], origin: str, raw_key: str | None) -> bool:
        """Whether a preflight from ``origin`` (for the key ``raw_key``, if given) is answered."""
        wanted = origin.lower().rstrip("/")
        key_hash = hash_token(raw_key.strip()) if raw_key else None
        age = time.monotonic() - self.tried_at
        if age > self.ttl or (age > self.retry and not self._fits(wanted, key_hash)):
            await self._read(factory)
        return self._fits(wanted, key_hash)

    def _fits(self, wanted: str, key_hash: str | None) -> bool:
        if key_hash is not None:
            return wanted in self.by_key.get(key_hash, ())
        return any(wanted in origins for origins in self.by_key.values())

    async def _read(self, factory: sessionmaker[Session]) -> None:
        async with self.lock:  # one read at a time; who waited for it uses its result
            if time.monotonic() - self.tried_at <= self.retry:
                return
            self.tried_at = time.monotonic()
            try:
                with anyio.fail_after(self.wait):
                    self.by_key = await to_thread.run_sync(
                        _read_origins, factory, abandon_on_cancel=True
                    )
            except Exception:  # the database away or slow: keep the last set
                log.warning("could not read the partner keys' origins", exc_info=True)


def _read_origins(factory: sessionmaker[Session]) -> dict[str, frozenset[str]]:
    with factory() as session:
        return live_origins(session)


class PartnerCors:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.origins = KeyOrigins()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = Headers(scope=scope) if scope["type"] == "http" else None
        origin = headers.get("origin") if headers is not None else None
        if headers is None or origin is None:
            await self.app(scope, receive, send)
            return
        public = scope["path"] in PUBLIC_PATHS or _open_hsds(scope)
        if scope["method"] == "OPTIONS" and "access-control-request-method" in headers:
            response: Response
            if public or await self._preflight_allowed(scope, origin):
                allowed = "*" if public else origin
                response = Response(status_code=204, headers=_headers(allowed, preflight=True))
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

    async def _preflight_allowed(self, scope: Scope, origin: str) -> bool:
        factory: sessionmaker[Session] = scope["app"].state.sessionmaker
        raw = parse_qs(scope.get("query_string", b"").decode("latin-1")).get("key", [None])[0]
        return await self.origins.allow(factory, origin, raw)


def _open_hsds(scope: Scope) -> bool:
    """The HSDS API when open: published data, for any page (key-gated: the key's origins).
    What the API is and its document (``/hsds/``, ``/hsds/openapi.json``) are for any page
    whenever the API is offered, so a partner's tools can read how to call it."""
    path: str = scope["path"]
    hsds = path == "/hsds" or path.startswith("/hsds/")
    access = scope["app"].state.settings.hsds_access
    return hsds and (access == "open" or (access == "key" and path in HSDS_ABOUT))


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
