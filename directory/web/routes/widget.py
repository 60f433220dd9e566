"""The embeddable search widget's script, ``/embed/v1.js``: one dependency-free custom element.

Two URLs, one file (``static/embed/v1.js``):

- ``/embed/v1.js``, the one in the snippet partners paste: cached five minutes, then
  revalidated by its ETag (a 304 costs a few bytes). A partner pastes the snippet once and
  never again, so fixes must reach them without their doing anything.
- ``/embed/v1.js?v=<hash>`` (``script_url()``), for our own pages, which are rendered with the
  current hash: cached for a year, immutable. A ``v`` that is not the current hash (a page
  rendered before a deploy) gets the current file with the short cache, never a stale year.
"""

from __future__ import annotations

from functools import lru_cache

from fastapi import APIRouter, Request, Response

from directory.api.caching import entity_tags
from directory.web.templating import STATIC_DIR, static_version

router = APIRouter(include_in_schema=False)
NAME = "embed/v1.js"
SHORT = 300  # seconds: how long a partner's visitors may run an old script after a fix
YEAR = 365 * 24 * 3600
MEDIA_TYPE = "text/javascript; charset=utf-8"


@lru_cache
def _body() -> bytes:
    return (STATIC_DIR / NAME).read_bytes()


def script_url() -> str:
    """The script's URL with its content hash, cached for a year (for our own pages)."""
    return f"/embed/v1.js?v={static_version(NAME)}"


@router.api_route("/embed/v1.js", methods=["GET", "HEAD"])
def widget_script(request: Request, v: str | None = None) -> Response:
    """The widget's script, with an ETag of its content; a year's cache for the hashed URL."""
    version = static_version(NAME)
    lasting = f"public, max-age={YEAR}, immutable"
    headers = {
        # weak: PageCompression gzips it, and a strong tag would name two different bodies
        "ETag": f'W/"{version}"',
        "Cache-Control": lasting if v == version else f"public, max-age={SHORT}",
        # a partner page under Cross-Origin-Embedder-Policy may load it
        "Cross-Origin-Resource-Policy": "cross-origin",
    }
    if f'"{version}"' in entity_tags(request.headers.get("if-none-match")):
        return Response(status_code=304, headers=headers)
    return Response(_body(), media_type=MEDIA_TYPE, headers=headers)
