"""The API's docs, ``/docs`` (Swagger UI) and ``/redoc`` (ReDoc), served from our own files.

FastAPI's own pages load Swagger UI and ReDoc from a CDN and start them with an inline script.
Here the files are fastapi-offline's copies (its static folder, not its app factory) and ours
(``docs_static/``: Swagger UI's start), served under ``/docs/static/`` with their content's
hash in the URL, so cached for a year. Nothing comes from another host and no script is inline,
so each page sends a strict policy of its own, allowing only what its viewer needs (below)."""

from __future__ import annotations

import hashlib
from functools import lru_cache
from html import escape
from pathlib import Path

import fastapi_offline
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse
from starlette.middleware.gzip import GZipMiddleware

from directory.web.pages import HashedStatic

# The document's description: what /docs and /redoc show first.
DESCRIPTION = """Mental-health services and crisis lines for peer mentors, with HSDS 3.0 data.

## Getting started

**Sign in** with "Authorize" (ReDoc lists the same schemes), with one of:

- **bearer**: a user's API token. Someone with a shell on the server makes one with
  `directory users create --email you@example.org --role mentor --program "Our program"`,
  which prints it once, on its last line (valid `DIRECTORY_TOKEN_DAYS` days, 90 unless set).
  Paste the token alone, without the word Bearer. Mentors see published listings and their
  own referrals; coordinators their program's, and may edit listings.
- **partnerKey** (the `X-Api-Key` header) or **partnerKeyQuery** (`key=` in the query): a
  partner site's publishable key, made by a coordinator at `/console/keys` or with
  `directory keys create`. It may search and read published listings only, from the key's
  own origins, within its rate.

Then open an operation, choose "Try it out" and "Execute". Swagger UI fills each parameter
with its example: clear what you do not want.

**Errors** have one shape, `{"error", "detail", "field", "fields"}` (the `Error` schema), for
every status a route lists. A 429 or 503 says when to retry in `Retry-After`. Writes that can
race take `If-Match` (the `ETag` last read: 428 without it, 412 when stale); making a referral
takes an `Idempotency-Key`, so that a retry never makes two.
"""
STATIC = "/docs/static"
VENDOR_DIR = Path(fastapi_offline.__file__).parent / "static"
OWN_DIR = Path(__file__).parent / "docs_static"
# What both viewers need: their scripts and styles from here, the document (and "Try it out")
# from here, and images from here or data: URIs (Swagger UI's icons in its CSS are data: URIs).
BASE_POLICY = (
    "default-src 'self'; script-src 'self'; img-src 'self' data:; connect-src 'self';"
    " object-src 'none'; form-action 'none'; frame-ancestors 'none'; base-uri 'none'"
)
# Swagger UI (React) sets its styles through the DOM, which a policy does not govern.
SWAGGER_POLICY = f"{BASE_POLICY}; style-src 'self'"
# ReDoc (styled-components) writes its styles as <style> elements it makes at run time, so it
# needs inline styles (never inline scripts); its search index runs in a worker it makes from a
# blob: URL.
REDOC_POLICY = f"{BASE_POLICY}; style-src 'self' 'unsafe-inline'; worker-src 'self' blob:"
PAGE_CACHE = "no-cache"  # the pages are small; the hashed files they name are what is cached


@lru_cache
def _version(name: str) -> str:
    """A short hash of a docs file's content, for its URL."""
    path = OWN_DIR / name if (OWN_DIR / name).exists() else VENDOR_DIR / name
    return hashlib.sha256(path.read_bytes()).hexdigest()[:10]


def _url(request: Request, name: str) -> str:
    return f"{request.scope.get('root_path', '')}{STATIC}/{name}?v={_version(name)}"


def _page(request: Request, title: str, head: str, body: str, policy: str) -> HTMLResponse:
    html = f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(title)}</title>
<link rel="icon" type="image/png" href="{_url(request, "favicon.png")}">
{head}
</head>
<body>
<main>
{body}
</main>
</body>
</html>
"""
    headers = {"Content-Security-Policy": policy, "Cache-Control": PAGE_CACHE}
    return HTMLResponse(html, headers=headers)


def _openapi_url(request: Request) -> str:
    return escape(f"{request.scope.get('root_path', '')}{request.app.openapi_url}")


def swagger_ui(request: Request) -> HTMLResponse:
    """Swagger UI: "Authorize" with a bearer token or a partner key, then "Try it out"."""
    head = (
        f'<link rel="stylesheet" href="{_url(request, "swagger-ui.css")}">\n'
        f'<link rel="stylesheet" href="{_url(request, "swagger-contrast.css")}">'
    )
    body = (
        f'<div id="swagger-ui" data-openapi="{_openapi_url(request)}"></div>\n'
        f'<script src="{_url(request, "swagger-ui-bundle.js")}"></script>\n'
        f'<script src="{_url(request, "swagger-init.js")}"></script>'
    )
    title = f"{request.app.title} - API docs"
    return _page(request, title, head, body, SWAGGER_POLICY)


def redoc(request: Request) -> HTMLResponse:
    """ReDoc, which starts itself on its <redoc> element."""
    body = (
        f'<redoc spec-url="{_openapi_url(request)}"></redoc>\n'
        f'<script src="{_url(request, "redoc.standalone.js")}"></script>'
    )
    return _page(request, f"{request.app.title} - API reference", "", body, REDOC_POLICY)


def install(app: FastAPI) -> None:
    """Serve the docs pages and their files (the app is made with FastAPI's own docs off)."""
    files = HashedStatic(packages=[("directory.api", "docs_static"), ("fastapi_offline", "static")])
    # gzip: 2.8 MB of viewers become 0.76 MB (about 0.2 s of CPU, once a version per browser)
    app.mount(STATIC, GZipMiddleware(files, minimum_size=500), name="docs-static")
    app.add_api_route("/docs", swagger_ui, include_in_schema=False, response_class=HTMLResponse)
    app.add_api_route("/redoc", redoc, include_in_schema=False, response_class=HTMLResponse)
