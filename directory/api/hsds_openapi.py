"""The HSDS API's own OpenAPI document (``/hsds/openapi.json``): the spec's, filled in.

``directory/hsds/openapi.json`` is the Open Referral specification's ``schema/openapi.json``
byte for byte (openreferral/specification @ 279fd2eb, CC BY-SA 4.0; sha256 3c473df5...). It is
a template: its title, version and licence say "REQUIRED -- ...". Here it gets ours, a server
(``<base_url>/hsds``), and what it leaves unsaid about our answers: the bounds of ``page`` and
``per_page``, ``format``'s two values, ids as UUIDs, ``modified_after`` as a date-time (the
spec writes ``datetime``), ``proximity`` in metres, a US ZIP code as ``postcode``, the NDJSON
media type, the ``minimal`` item, and every error status in our one error shape. The documents'
schemas stay the spec's (by URL), so a client validates against the published HSDS 3.0; but
``/service_at_locations/{id}`` answers a service_at_location (the spec names a service's).
"""

from __future__ import annotations

import copy
import json
from functools import cache
from typing import Any

from directory import __version__
from directory.api.openapi import SECURITY_SCHEMES, Error, errors
from directory.config import PACKAGE_DIR, Settings
from directory.hsds.queries import MAX_PAGE, MAX_PER_PAGE, MAX_PROXIMITY, MAX_SEARCH, PER_PAGE

SPEC_FILE = PACKAGE_DIR / "hsds" / "openapi.json"
PROFILE = "https://github.com/openreferral/specification/tree/3.0"  # the base HSDS 3.0
SAL_SCHEMA = (
    "https://raw.githubusercontent.com/openreferral/specification/3.0/schema/compiled/"
    "service_at_location.json"
)
UUID = {"type": "string", "format": "uuid"}
PARAMETERS: dict[str, dict[str, Any]] = {
    "page": {"type": "integer", "minimum": 1, "maximum": MAX_PAGE, "default": 1},
    "per_page": {"type": "integer", "minimum": 1, "maximum": MAX_PER_PAGE, "default": PER_PAGE},
    "format": {"type": "string", "enum": ["json", "ndjson"], "default": "json"},
    "modified_after": {"type": "string", "format": "date-time"},
    "search": {"type": "string", "maxLength": MAX_SEARCH},
    "postcode": {"type": "string", "pattern": "^[0-9]{5}(-[0-9]{4})?$"},
    "proximity": {"type": "number", "exclusiveMinimum": 0, "maximum": MAX_PROXIMITY},
    "taxonomy_term_id": UUID,
    "taxonomy_id": UUID,
    "organization_id": UUID,
}
DESCRIPTION = (
    "The directory's published listings as Open Referral HSDS 3.0: the specification's API"
    " (its paths, parameters and document schemas), with the bounds of page and per_page,"
    " ids as UUIDs, modified_after as a date-time, proximity in metres from a US ZIP code's"
    " centre, and errors as {error, detail, field}. format=ndjson streams every result, one"
    " document a line. Only published listings, and what they use, are here. A"
    " service_at_location by id is a service_at_location document (the spec says a service's)."
)
MINIMAL_ITEM = {
    "type": "object",
    "required": ["id", "last_modified"],
    "properties": {"id": UUID, "last_modified": {"type": "string", "format": "date-time"}},
}


@cache
def _spec() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(SPEC_FILE.read_text(encoding="utf-8"))
    return loaded


def document(settings: Settings) -> dict[str, Any]:
    """The spec's OpenAPI document with our details, for this server's settings."""
    doc = copy.deepcopy(_spec())
    doc["info"] = {
        "title": "Peer-mentoring resource directory: HSDS 3.0 API",
        "version": __version__,
        "summary": "Published mental-health services as Open Referral HSDS 3.0 documents",
        "description": DESCRIPTION,
        "license": {"name": "Apache-2.0", "identifier": "Apache-2.0"},
    }
    doc["servers"] = [{"url": settings.base_url.rstrip("/") + "/hsds"}]
    for name, schema in PARAMETERS.items():
        doc["components"]["parameters"][name]["schema"] = schema
    doc["components"]["schemas"][Error.__name__] = Error.model_json_schema(
        ref_template="#/components/schemas/{model}"
    )
    keyed = settings.hsds_access == "key"
    for path, item in doc["paths"].items():
        _amend(path, item, keyed=keyed)
    if keyed:
        doc["components"]["securitySchemes"] = SECURITY_SCHEMES
        doc["security"] = [{"bearer": []}, {"partnerKey": []}, {"partnerKeyQuery": []}]
    return doc


def _amend(path: str, item: dict[str, Any], *, keyed: bool) -> None:
    for parameter in item.get("parameters", []):
        if parameter.get("in") == "path":
            parameter["schema"] = UUID
    operation = item["get"]
    for parameter in operation.get("parameters", []):
        if parameter.get("name") == "parent_id":
            parameter["schema"] = UUID
    ok = operation["responses"]["200"]
    if path == "/service_at_locations/{id}":  # the spec names the service's schema here
        ok["content"]["application/json"]["schema"] = {"$ref": SAL_SCHEMA}
    if path != "/" and "{id}" not in path:
        ok["content"]["application/x-ndjson"] = {"schema": {"type": "string"}}
    if path == "/services":
        items = ok["content"]["application/json"]["schema"]["properties"]["contents"]["items"]
        ok["content"]["application/json"]["schema"]["properties"]["contents"]["items"] = {
            "anyOf": [items, MINIMAL_ITEM]
        }
    statuses = [404, 413, 503]  # 404: the API off, or no such published record
    if path != "/":
        statuses.append(422)
    statuses += [401, 403, 429] if keyed else [429]
    operation["responses"].update({str(k): v for k, v in errors(*sorted(statuses)).items()})
