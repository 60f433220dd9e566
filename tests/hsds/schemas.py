"""Validation against the HSDS 3.0 spec's own JSON schemas, offline.

The spec's schemas (``schema/tables/*.json`` in the spec examples folder) ``$ref`` each other by
file name (``attribute.json``) and, from the OpenAPI document, by URL (``.../3.0/schema/
taxonomy.json``, ``.../3.0/schema/compiled/service.json``). A ``referencing.Registry`` holds every
table schema under all those addresses, so nothing is ever fetched (an unknown address fails).

One deliberate allowance, ours: a schedule's ``timezone`` may be an IANA name (the spec's
schema says a number, a UTC offset, which cannot say when daylight saving time starts); any
other value still has to be a number.

Rows are validated as CSV cells: a blank one is absent (the empty string where required).
"""

from __future__ import annotations

import copy
import json
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import available_timezones

import pytest
from jsonschema import (  # type: ignore[import-untyped]
    Draft202012Validator,
    FormatChecker,
    ValidationError,
)
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from directory.hsds.columns import SCHEMA_NAMES

SPEC_BASE = "https://raw.githubusercontent.com/openreferral/specification/3.0/schema/"
BASES = (SPEC_BASE, SPEC_BASE + "compiled/", "https://openreferral.org/schema/")


@cache
def registry(folder: Path) -> Registry[Any]:
    """Every table schema of the spec, under its file name and its URLs."""
    resources = []
    for path in sorted((folder / "schema" / "tables").glob("*.json")):
        schema = _allowances(path.stem, json.loads(path.read_text(encoding="utf-8")))
        resource: Resource[Any] = DRAFT202012.create_resource(schema)
        resources += [(base + path.name, resource) for base in BASES]

    return Registry().with_resources(resources)  # no retrieve: an unknown address fails


def _allowances(name: str, schema: dict[str, Any]) -> dict[str, Any]:
    schema = copy.deepcopy(schema)
    if name == "schedule":
        zones = sorted(available_timezones())
        schema["properties"]["timezone"] = {"anyOf": [{"type": "number"}, {"enum": zones}]}
    return schema


@cache
def validator(folder: Path, kind: str) -> Draft202012Validator:
    """A validator for one of the spec's objects (``service``, ``phone``, ``taxonomy_term``...)."""
    wrapper = {"$ref": SPEC_BASE + f"{kind}.json"}
    return Draft202012Validator(wrapper, registry=registry(folder), format_checker=FormatChecker())


def errors_of(folder: Path, kind: str, value: Any) -> list[str]:
    """Every way ``value`` breaks the spec's schema of ``kind``: 'path: message' each."""
    found = validator(folder, kind).iter_errors(value)
    return sorted(f"{'/'.join(map(str, e.absolute_path)) or '.'}: {e.message}" for e in found)


def validate_table_row(folder: Path, table: str, row: dict[str, Any]) -> None:
    """Fail the test unless one exported row (table named as in ``directory.hsds.tables``) is
    valid. A blank cell (``None`` or ``""``) is absent, except in a column the schema requires,
    where it is the empty string (a CSV cannot tell the two apart)."""
    kind = SCHEMA_NAMES[table]
    required = set(_schema(folder, kind).get("required", ()))
    cells = {
        k: ("" if v is None else v) for k, v in row.items() if k in required or v not in (None, "")
    }
    errors = errors_of(folder, kind, cells)
    if errors:
        pytest.fail(f"{table} row {row.get('id')} is not valid HSDS 3.0: {errors}")


@cache
def _schema(folder: Path, kind: str) -> dict[str, Any]:
    schema: dict[str, Any] = json.loads(
        (folder / "schema" / "tables" / f"{kind}.json").read_text(encoding="utf-8")
    )
    return schema


def validate_document(folder: Path, kind: str, document: Any) -> None:
    """Fail the test unless a document (``service``, ``organization``, ``service_at_location``,
    ``taxonomy``, ``taxonomy_term``, ``location``...) is valid, nested objects included."""
    errors = errors_of(folder, kind, document)
    if errors:
        pytest.fail(f"not a valid HSDS 3.0 {kind}: {errors[:20]}")


__all__ = ["ValidationError", "errors_of", "validate_document", "validate_table_row"]
