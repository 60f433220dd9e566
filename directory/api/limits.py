"""Request bodies within a limit, refused (413) before they are read whole.

Before it, any body was read in full before authentication: four 200 MB bodies took the
server to 2.4 GB, and a 13 MB search body of 700,000 unknown keys held the event loop for 8 s
(parsing it, then writing a 75 MB 422). A body declared too large is refused before the app
runs; one that streams past the limit (chunked, or longer than declared) is cut off there.
"""

from __future__ import annotations

from collections.abc import Mapping

from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from directory.api.errors import error_response


class BodyTooLarge(HTTPException):
    """A body over its limit (rendered by the app's handlers as the one error shape)."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"the request body is larger than {limit} bytes")


class BodyLimit:
    """An ASGI middleware: bodies of at most ``default`` bytes, or ``own[path]`` for the paths
    that have their own limit (an upload, whose route refuses a declared size itself, so that
    its page can say why)."""

    def __init__(self, app: ASGIApp, *, default: int, own: Mapping[str, int]) -> None:
        self.app, self.default, self.own = app, default, own

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.own.get(scope["path"], self.default)
        declared = _declared(scope)
        if declared is not None and declared > limit and scope["path"] not in self.own:
            refusal = BodyTooLarge(limit)
            await error_response(413, "PayloadTooLarge", refusal.detail)(scope, receive, send)
            return
        received = 0
        started = False

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit)
            return message

        async def watched(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, watched)
        except BodyTooLarge as refusal:  # raised where no handler of the app caught it
            if started:
                raise
            await error_response(413, "PayloadTooLarge", refusal.detail)(scope, receive, send)


def _declared(scope: Scope) -> int | None:
    """The body's declared length (None: not given, or not a number: then it is counted)."""
    value = Headers(scope=scope).get("content-length", "")
    return int(value) if value.isdigit() and len(value) < 20 else None
