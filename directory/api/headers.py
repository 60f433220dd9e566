"""Security headers on every answer that does not set its own.

The web pages and the API's docs pages (``api/docs``) set a full policy themselves
(``web/templating.SECURITY_HEADERS``, ``docs.SWAGGER_POLICY``); this covers the rest: the API's
JSON, its errors and the static files. A JSON answer is never a document to run or frame, so
its policy allows nothing.
HSTS is sent in production only: a development server on plain http must stay reachable.
"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

NOTHING = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'"
HSTS = "max-age=31536000"  # a year; no includeSubDomains: other hosts of the domain are not ours


class SecurityHeaders:
    """An ASGI middleware adding the headers an answer lacks (never replacing its own)."""

    def __init__(self, app: ASGIApp, *, production: bool) -> None:
        self.app, self.production = app, production

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.setdefault("X-Content-Type-Options", "nosniff")
                headers.setdefault("Referrer-Policy", "no-referrer")
                headers.setdefault("Content-Security-Policy", NOTHING)
                if self.production:
                    headers.setdefault("Strict-Transport-Security", HSTS)
            await send(message)

        await self.app(scope, receive, send_with_headers)
