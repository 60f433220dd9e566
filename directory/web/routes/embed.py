"""``/embed``: the page for partners (the snippet for their key, a live preview, how to theme).

Public: a partner's web developer reads it without an account. The live preview runs the real
widget on this page, which needs a live key: a signed-in coordinator or admin opens
``/embed?key=pk_...`` (the partner keys page links a new key here). Anyone else sees the
snippet with a placeholder. The preview asks our API from our own origin, which a browser sends
without ``Origin``, so any live key works here whatever its origins.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from directory.accounts import keys, roles
from directory.api.deps import SessionDep
from directory.web.deps import PageContext, Viewer
from directory.web.routes.widget import script_url
from directory.web.templating import render

router = APIRouter(dependencies=[PageContext], include_in_schema=False)
PLACEHOLDER = keys.KEY_PREFIX + "..."


@router.get("/embed")
def embed_page(
    request: Request,
    session: SessionDep,
    user: Viewer,
    key: Annotated[str | None, Query(max_length=100)] = None,
) -> Response:
    staff = user is not None and roles.can(user, "manage-keys")
    live = bool(key and staff and keys.key_for(session, key) is not None)
    context = {
        "base_url": request.app.state.settings.base_url.rstrip("/"),
        "key": key if live else PLACEHOLDER,
        "placeholder": PLACEHOLDER,
        "script_src": script_url(),
        "preview": live,
        "asked": bool(key),  # a key was given but cannot be previewed: say why
        "staff": staff,
    }
    return render(request, "embed.html", context)
