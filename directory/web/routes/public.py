"""Public listing pages, ``/l/{id}``: published listings, for anyone, with no sign-in.

What a visitor (a mentee, someone who followed a partner's widget) needs to reach a service, and
nothing of its curation: no verification note, nobody's email, no capacity, no provenance. The
page is the same for everyone who reads it in one language, so shared caches may keep it a
short while (hours say "open now"), and a repeat visit revalidates with its ETag.
"""

from __future__ import annotations

import hashlib
import uuid

from fastapi import APIRouter, Request
from fastapi.responses import Response

from directory.api.caching import entity_tags
from directory.api.deps import ReadSessionDep
from directory.listings import queries
from directory.web import present
from directory.web.deps import PageContext
from directory.web.templating import render

router = APIRouter(dependencies=[PageContext], include_in_schema=False)
MAX_AGE = 120  # "Open now" may be this late; a verified listing changes far more slowly


@router.get("/l/{service_id}")
def public_listing(request: Request, session: ReadSessionDep, service_id: uuid.UUID) -> Response:
    """A published listing (any other, or none: the 404 page)."""
    service = queries.read_service(session, service_id, published_only=True)
    request.state.set_cookies = {}  # no visitor's cookie on a page that caches share
    page = render(
        request, "public_listing.html", {"service": service, "sites": present.sites(service)}
    )
    return cached(request, page)


def cached(request: Request, page: Response) -> Response:
    """The page, public for ``MAX_AGE`` seconds with a weak ETag of its content (gzip changes
    its bytes, not its meaning); a 304 when the visitor has it already."""
    tag = '"' + hashlib.sha256(page.body).hexdigest()[:32] + '"'
    page.headers["Cache-Control"] = f"public, max-age={MAX_AGE}"
    page.headers["ETag"] = "W/" + tag
    page.headers["Vary"] = "Accept-Language, Cookie"  # the language is chosen from these
    if tag in entity_tags(request.headers.get("if-none-match")):
        return Response(
            status_code=304, headers={k: page.headers[k] for k in ("Cache-Control", "ETag", "Vary")}
        )
    return page
