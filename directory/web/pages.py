"""The web layer in the app: static files, page routes, and errors shown as pages."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from starlette.middleware.gzip import GZipMiddleware
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Receive, Scope, Send

from directory.web import i18n, vocab
from directory.web.deps import FormRefused, SignInRequired, page_context, sign_in_url
from directory.web.routes import (
    auth,
    console,
    console_editor,
    console_imports,
    console_listings,
    console_people,
    console_queue,
    console_reports,
    embed,
    listings,
    public,
    referrals,
    search,
    widget,
)
from directory.web.templating import STATIC_DIR, gettext, render

CONSOLE_PAGES = (
    console_listings,
    console_editor,
    console_queue,
    console_imports,
    console_people,
    console_reports,
)
PARTNER_PAGES = (widget, embed, public)
API_PREFIXES = ("/v1/", "/healthz", "/openapi.json", "/docs", "/redoc", "/hsds")
YEAR = 365 * 24 * 3600


def is_page(request: Request) -> bool:
    """Whether the request is for a page (errors as HTML), not for the API (errors as JSON)."""
    return not request.url.path.startswith(API_PREFIXES)


class HashedStatic(StaticFiles):
    """Static files; a URL with the content's hash (``?v=``) is cached for a year."""

    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        if b"v=" in scope.get("query_string", b""):
            response.headers["Cache-Control"] = f"public, max-age={YEAR}, immutable"
        return response


class PageCompression:
    """gzip for pages and static files (a first visit on a phone), not for the API, whose
    answers are small and whose CPU is measured."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.gzip = GZipMiddleware(app, minimum_size=500)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and not scope["path"].startswith(API_PREFIXES):
            await self.gzip(scope, receive, send)
        else:
            await self.app(scope, receive, send)


async def error_page(request: Request, status: int, detail: str) -> Response:
    """An error as a page in the visitor's language."""
    if not hasattr(request.state, "lang"):
        await page_context(request)
    title = gettext(request, vocab.ERROR_TITLES.get(status, vocab.ERROR_TITLES[500]))
    return render(
        request, "error.html", {"title": title, "detail": gettext(request, detail)}, status=status
    )


def install(app: FastAPI) -> None:
    """Add the pages, their static files and their error pages to the app."""
    app.mount("/static", HashedStatic(directory=STATIC_DIR), name="static")
    for module in (auth, search, listings, referrals, console, *CONSOLE_PAGES, *PARTNER_PAGES):
        app.include_router(module.router)
    app.add_middleware(PageCompression)

    @app.exception_handler(SignInRequired)
    async def sign_in_first(request: Request, error: SignInRequired) -> Response:
        to = sign_in_url(error.next_path, expired=error.expired)
        if request.headers.get("HX-Request") == "true":  # htmx: the whole page goes, not a part
            return Response(status_code=204, headers={"HX-Redirect": to})
        return RedirectResponse(to, 303)

    @app.exception_handler(FormRefused)
    async def refused(request: Request, error: FormRefused) -> Response:
        return await error_page(request, 403, vocab.FORM_REFUSED)


__all__ = ["i18n", "install", "is_page"]
