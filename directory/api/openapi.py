"""The OpenAPI document says what the API answers: every error status a route can return, in the
one error shape, how a caller signs in, and the headers a request needs.

FastAPI documents a 422 of its own shape (``HTTPValidationError``) and no other error, and shows
the ``Authorization`` and ``X-Api-Key`` headers as plain parameters. The statuses a route owes to
what it depends on (a sign-in, a partner key, an ``If-Match``, the database) are added here
from its dependencies, so that the document cannot forget them; a route declares only its own
(``responses=errors(404, 409)``)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, iter_route_contexts
from pydantic import BaseModel, ConfigDict, Field

from directory.api.callers import reader
from directory.api.deps import IF_MATCH, current_user, if_match, writer
from directory.api.errors import MAX_LISTED
from directory.api.openapi_examples import EXAMPLES


class FieldError(BaseModel):
    field: str = Field(description="The input at fault, as a dotted path: `locations.0.latitude`")
    message: str


class Error(BaseModel):
    """Every error, whatever its status."""

    model_config = ConfigDict(title="Error", extra="forbid")

    error: str = Field(description="What kind of error: NotFound, ValidationError, Conflict...")
    detail: str = Field(description="What went wrong, for a person to read")
    field: str | None = Field(default=None, description="The input at fault, when there is one")
    fields: list[FieldError] | None = Field(
        default=None,
        max_length=MAX_LISTED,
        description=f"Every input at fault (a 422 of validation; the first {MAX_LISTED})",
    )


ERROR_REF = {"$ref": f"#/components/schemas/{Error.__name__}"}
RETRY_AFTER = {
    "Retry-After": {
        "description": "Seconds to wait before trying again",
        "schema": {"type": "integer", "minimum": 1},
        "required": True,
    }
}
HEADERS = {
    401: {"WWW-Authenticate": {"schema": {"type": "string"}, "required": True}},
    429: RETRY_AFTER,
    503: RETRY_AFTER,
}
MEANINGS = {
    400: "The request cannot be read: a body that is not text, an If-Match not a version",
    401: "Sign in: a bearer token (or, where taken, a partner key) is missing or not valid",
    403: "Signed in, but not allowed to do this",
    404: "Not found, or not yours to see",
    409: "Conflicts with the current state (already decided, a duplicate, a closed referral)",
    412: "The version in If-Match is stale: reload and retry",
    413: "The request body is too large",
    422: "The input is not valid: `field` (and `fields`) name what is wrong",
    428: "Send If-Match with the version last read (its ETag)",
    429: "The partner key went over its rate",
    503: "The database is away or busy for a moment: retry after Retry-After",
}


def errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """``responses=`` for a route's own error statuses, each in the one error shape."""
    return {status: _error_response(status) for status in statuses}


def _error_response(status: int) -> dict[str, Any]:
    response: dict[str, Any] = {
        "description": MEANINGS[status],
        "content": {"application/json": {"schema": ERROR_REF}},
    }
    if status in HEADERS:
        response["headers"] = HEADERS[status]
    return response


EVERYWHERE = (413, 503)  # the body limit; the database away (every route but /healthz uses it)
BY_DEPENDENCY: dict[Callable[..., Any], tuple[int, ...]] = {
    current_user: (401,),
    reader: (401, 403, 429),  # a key's origins, its rate
    writer: (403,),
    if_match: (400, 412, 428),
}
SECURITY_SCHEMES = {
    "bearer": {"type": "http", "scheme": "bearer", "description": "A user's API token"},
    "partnerKey": {
        "type": "apiKey",
        "in": "header",
        "name": "X-Api-Key",
        "description": "A partner site's publishable key: search and published listings only,"
        " from the key's own origins, within its rate",
    },
    "partnerKeyQuery": {
        "type": "apiKey",
        "in": "query",
        "name": "key",
        "description": "The partner key in the query, for the simplest embeds",
    },
}
SECURITY: dict[Callable[..., Any], list[dict[str, list[str]]]] = {
    current_user: [{"bearer": []}],
    reader: [{"bearer": []}, {"partnerKey": []}, {"partnerKeyQuery": []}],
}
CREDENTIALS = {"authorization", "x-api-key"}  # shown as security schemes, not parameters
# The request headers that are not inputs but a protocol: each said for what it is.
HEADER_PARAMETERS = {
    "If-Match": {
        "required": True,
        "description": 'Optimistic concurrency: the version last read (its ETag: "3"), or * for'
        " any. Without it: 428; stale: 412 (read again, then retry)",
        "example": '"3"',
        "schema": {"type": "string", "pattern": rf"^\s*(\*|{IF_MATCH.pattern})\s*$"},
    },
    "Idempotency-Key": {
        "description": "A key of your own (8-100 printable characters, a UUID will do) that makes"
        " a retry safe: the same key again answers 200 with the referral it made (and"
        " Idempotent-Replayed: true), never a second referral",
        "example": "5f0c7a8e-3d2b-4c1a-9e6f-7b8d9a0c1e2f",
    },
}


def install(app: FastAPI) -> None:
    """Serve the document amended here as ``/openapi.json`` (built once, on first use)."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            _amend(build(), app.routes)  # build() keeps the document in app.openapi_schema
        assert app.openapi_schema is not None
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def _amend(document: dict[str, Any], routes: Sequence[Any]) -> None:
    components = document.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    for name in ("HTTPValidationError", "ValidationError"):
        schemas.pop(name, None)
    own = Error.model_json_schema(ref_template="#/components/schemas/{model}")
    schemas.update(own.pop("$defs", {}))
    schemas[Error.__name__] = own
    for name, example in EXAMPLES.items():
        schemas[name]["examples"] = [example]
    components["securitySchemes"] = SECURITY_SCHEMES
    for route in iter_route_contexts(routes):  # included routers' routes, as FastAPI sees them
        if isinstance(route.original_route, APIRoute) and route.include_in_schema:
            calls = _calls(route.dependant)
            for method in route.methods or ():
                _describe(document["paths"][route.path_format][method.lower()], calls)


def _describe(operation: dict[str, Any], calls: set[Callable[..., Any]]) -> None:
    """Add what the operation owes to its dependencies: statuses, security, If-Match."""
    responses = operation["responses"]
    if "422" in responses:
        responses["422"] = _error_response(422)
    shared = [*EVERYWHERE, *(s for call in calls for s in BY_DEPENDENCY.get(call, ()))]
    if "requestBody" in operation:
        shared.append(400)  # bytes that are not UTF-8 text cannot even be parsed as JSON
    for status in shared:
        responses.setdefault(str(status), _error_response(status))
    security = next((SECURITY[call] for call in (reader, current_user) if call in calls), None)
    if security is not None:
        operation["security"] = security
    parameters = [
        p for p in operation.get("parameters", []) if p["name"].lower() not in CREDENTIALS
    ]
    for parameter in parameters:
        _not_null(parameter["schema"])
        if parameter["in"] == "header":
            parameter.update(HEADER_PARAMETERS.get(parameter["name"], {}))
    if parameters:
        operation["parameters"] = parameters
    else:
        operation.pop("parameters", None)
    operation["responses"] = dict(sorted(responses.items()))


def _not_null(schema: dict[str, Any]) -> None:
    """A parameter is given or left out, never null: FastAPI's ``anyOf: [..., null]`` of an
    optional one would have a client send ``need=`` (an empty string) for null."""
    choices = [s for s in schema.get("anyOf", ()) if s != {"type": "null"}]
    if "anyOf" in schema and len(choices) == 1:
        del schema["anyOf"]
        schema.update(choices[0])
    elif "anyOf" in schema:
        schema["anyOf"] = choices


def _calls(dependant: Dependant) -> set[Callable[..., Any]]:
    """Every dependency of a route, however deep."""
    found: set[Callable[..., Any]] = set()
    for sub in dependant.dependencies:
        if sub.call is not None:
            found.add(sub.call)
        found |= _calls(sub)
    return found
