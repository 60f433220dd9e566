"""ETag and Cache-Control for GET responses: a repeated GET with ``If-None-Match`` gets a 304."""

from __future__ import annotations

import hashlib

from fastapi import Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel


def cached_json(
    request: Request, model: BaseModel, *, max_age: int, public: bool = False, volatile: set[str]
) -> Response:
    """The model as JSON with a strong ETag of its content (``volatile`` fields left out of it)."""
    body = model.model_dump(mode="json")
    stable = model.model_dump_json(exclude=volatile).encode()
    etag = '"' + hashlib.sha256(stable).hexdigest()[:32] + '"'
    headers = {
        "ETag": etag,
        "Cache-Control": f"{'public' if public else 'private'}, max-age={max_age}",
        "Vary": "Authorization, X-Api-Key, Origin",
    }
    if etag in entity_tags(request.headers.get("if-none-match")):
        return Response(status_code=304, headers=headers)
    return JSONResponse(body, headers=headers)


def entity_tags(header: str | None) -> set[str]:
    """The entity tags an ``If-None-Match`` header names, weak or strong alike (quoted)."""
    return {t.strip().removeprefix("W/") for t in (header or "").split(",") if t.strip()}
