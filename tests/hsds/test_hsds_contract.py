"""The HSDS API against the document it serves (/hsds/openapi.json, the spec's own paths and
document schemas): schemathesis drives every operation in-process, and every answer must be
one the document declares, each document valid against the spec's schemas.

The served document ``$ref``s the spec's schemas by URL (``.../3.0/schema/compiled/
service.json``); here every such address, and the schemas' own ``$ref``s by file name, point at
the local copies (components), so nothing is fetched. Deterministic: a fixed seed."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import schemathesis
from fastapi.testclient import TestClient
from schemathesis.config import SchemathesisConfig

from directory.api.hsds_openapi import document
from tests.api.test_contract import _run
from tests.hsds.schemas import _allowances

MAX_EXAMPLES = 30
SPEC_BASE = "https://raw.githubusercontent.com/openreferral/specification/3.0/schema/"
# What a request the schema calls valid may still meet: 404, an id no published listing has;
# 422, the rules a schema cannot say (a ZIP code that exists, proximity without a postcode).
VALID_BUT_REFUSED = ["2xx", "404", "422"]


def local(served: dict[str, Any], spec: Path) -> dict[str, Any]:
    """The served document with every schema address made a local component."""
    doc = json.loads(json.dumps(served))
    schemas = doc["components"]["schemas"]
    for path in sorted((spec / "schema" / "tables").glob("*.json")):
        schema = _allowances(path.stem, json.loads(path.read_text(encoding="utf-8")))
        schemas[f"hsds_{path.stem}"] = _pointed(schema)
    pointed: dict[str, Any] = _pointed(doc)
    return pointed


def _pointed(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _address(v) if k == "$ref" else _pointed(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_pointed(v) for v in value]
    return value


def _address(ref: str) -> str:
    if ref.startswith("#"):
        return ref
    name = ref.removeprefix(SPEC_BASE).removeprefix("compiled/").removesuffix(".json")
    return f"#/components/schemas/hsds_{name.removesuffix('_list')}"


class Unlimited:
    """The run makes more requests than an address may (OPEN_RATE): tested on its own."""

    def hit(self, *_: Any) -> bool:
        return True


def test_every_answer_is_one_the_spec_declares(client: TestClient, hsds_spec: Path) -> None:
    app = client.app
    app.state.limiter = Unlimited()  # type: ignore[attr-defined]
    doc = local(document(app.state.settings), hsds_spec)  # type: ignore[attr-defined]
    doc["servers"] = [{"url": "/hsds"}]
    schema = schemathesis.openapi.from_dict(doc, config=_config(_existing(client)))
    schema.app = app
    started = time.monotonic()
    tested, cases, failures = _run(schema)
    print(f"HSDS: {len(tested)} operations, {cases} requests, {time.monotonic() - started:.0f} s")
    assert len(tested) == len(doc["paths"])
    assert not failures, "\n\n".join(failures.values())


def _existing(client: TestClient) -> dict[str, str]:
    """An id of each kind that exists (published), for the /{id} operations."""
    ids = {}
    for kind in ("services", "service_at_locations", "organizations", "taxonomies"):
        ids[f"/{kind}/{{id}}"] = client.get(f"/hsds/{kind}").json()["contents"][0]["id"]
    child = client.get("/hsds/taxonomy_terms", params={"per_page": 100}).json()["contents"][-1]
    ids["/taxonomy_terms/{id}"] = child["id"]
    return ids


def _config(ids: dict[str, str]) -> SchemathesisConfig:
    """Deterministic; an /{id} operation draws its existing id half the time (else a 404)."""
    return SchemathesisConfig.from_dict(
        {
            "seed": 14,
            "generation": {"max-examples": MAX_EXAMPLES, "deterministic": True},
            "phases": {"stateful": {"enabled": False}},
            "dictionaries": {path: {"values": [value]} for path, value in ids.items()},
            "operations": [
                {
                    "include-path": path,
                    "parameters": {"path.id": {"dictionary": path, "probability": 0.5}},
                }
                for path in ids
            ],
            "checks": {"positive_data_acceptance": {"expected-statuses": VALID_BUT_REFUSED}},
        }
    )
