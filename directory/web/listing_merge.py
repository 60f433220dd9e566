"""Saving an editor whose listing changed meanwhile: a three-way comparison, field by field, of
the document as the coordinator saw it, as it is now, and as they sent it.

A field only they changed is theirs to apply; a field only someone else changed stays as it is
now; a field both changed differently is a conflict the coordinator settles (keep mine / take
theirs). The seen document travels in the form itself (``seal``): it is the coordinator's own
data, so a tampered one can only spoil their own comparison.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

Document = dict[str, Any]
MINE, THEIRS = "mine", "theirs"


@dataclass(frozen=True)
class Clash:
    """A field both sides changed, differently."""

    field: str
    seen: Any
    theirs: Any
    mine: Any


@dataclass
class Merge:
    """My changes over the current document (a clash holds my value until settled), the
    clashes, and the fields others changed that I left alone."""

    document: Document
    clashes: list[Clash] = field(default_factory=list)
    theirs: list[str] = field(default_factory=list)


def changes(base: Mapping[str, Any], mine: Mapping[str, Any]) -> Document:
    """The fields of ``mine`` that differ from ``base`` (what a save sends)."""
    return {name: value for name, value in mine.items() if value != base.get(name)}


def merge(seen: Mapping[str, Any], current: Mapping[str, Any], mine: Mapping[str, Any]) -> Merge:
    """Compare the three documents field by field."""
    result = Merge(document={**current})
    for name, value in mine.items():
        before, now = seen.get(name), current.get(name)
        if value == before:
            if now != before:
                result.theirs.append(name)
            continue
        result.document[name] = value
        if now not in (before, value):
            result.clashes.append(Clash(name, before, now, value))
    return result


def settle(
    seen: Mapping[str, Any], mine: Mapping[str, Any], choices: Mapping[str, str]
) -> Document:
    """My document with the fields I chose to take as they were shown (``theirs``)."""
    return {
        name: seen.get(name, value) if choices.get(name) == THEIRS else value
        for name, value in mine.items()
    }


def seal(doc: Mapping[str, Any]) -> str:
    """A document as a form field's value."""
    text = json.dumps(doc, separators=(",", ":"), ensure_ascii=False)
    return base64.urlsafe_b64encode(text.encode()).decode()


def unseal(value: str | None) -> Document | None:
    """The document a form field carries (None when missing or unreadable)."""
    if not value:
        return None
    try:
        found = json.loads(base64.urlsafe_b64decode(value.encode()))
    except (binascii.Error, ValueError):
        return None
    return found if isinstance(found, dict) else None


# Parts of a value that say little to a reader of the comparison (kinds, defaults, codes).
UNSAID = frozenset({"freq", "timezone", "location_type", "address_type", "coordinates_approximate"})
SECONDS = re.compile(r"^(\d{2}:\d{2}):00$")


def describe(value: Any) -> str:
    """A value as one line to read: lists item by item, each item's filled fields."""
    if value is None or value == [] or value == {}:
        return ""
    if isinstance(value, list):
        return "; ".join(filter(None, (describe(item) for item in value)))
    if isinstance(value, dict):
        parts = (describe(item) for key, item in value.items() if key not in UNSAID)
        return ", ".join(filter(None, parts))
    if isinstance(value, bool):
        return "\u2713" if value else ""
    return SECONDS.sub(r"\1", str(value))
