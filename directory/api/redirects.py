"""Redirects that stay on this site whatever Host a request names.

Starlette writes some redirects itself, absolute and built from the request's Host header,
which a client chooses: a trailing slash (``/search/`` -> ``http://<Host>/search``) and a
mount's own folder (``/static`` -> ``http://<Host>/static/``). Behind a cache or a proxy that
passes Host through, such a redirect can send every visitor to another site. Our own
redirects are relative paths; this makes Starlette's relative too (RFC 9110 allows it).
"""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send


def relative(location: str, host: str) -> str:
    """``location`` as a path when it names ``host`` (the request's own Host); else as is."""
    parts = urlsplit(location)
    if parts.scheme not in ("http", "https") or parts.netloc.lower() != host.lower():
        return location
    return urlunsplit(("", "", parts.path or "/", parts.query, parts.fragment))


class RelativeRedirects:
    """ASGI middleware: a redirect's Location naming the request's Host becomes a path."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        host = Headers(scope=scope).get("host", "")

        async def send_relative(message: Message) -> None:
            if message["type"] == "http.response.start" and 300 <= message["status"] < 400:
                headers = MutableHeaders(scope=message)
                location = headers.get("location")
                if location:
                    headers["location"] = relative(location, host)
            await send(message)

        await self.app(scope, receive, send_relative)
