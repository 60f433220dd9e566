"""Crisis-line lists: the project's curated listing files, and Wikipedia's list of July 2021.

* A listing file (``seed_data/crisis_lines.yaml``, YAML or JSON): ``source``, ``checked_on`` and
  ``services``, each item the document ``POST /v1/services`` takes plus its ``external_id``;
  ``source_url`` and ``checked_on`` are provenance, kept in the raw record only.
* ``suicide-hotlines.json``, scraped from Wikipedia's "List of suicide crisis lines" (July 2021):
  ``{country: {raw_html, parsed_batches: [{phones: ["tel:..."], description}]}}``, one batch per
  list item. Its quirks, and what is done about them:

  - countries are section titles ("England", "Korea"): ``mappings/countries.yaml``, then pycountry;
  - emergency numbers (112, 911, police, ambulance) are items of their own: set aside as
    rejections ("emergency service number"), never listings;
  - a nested item is scraped twice, alone and inside its parent's text: the repeat is set aside,
    its numbers and text stay with the parent;
  - the article's phone templates break links (``tel:225`` shown as ``50 60 70 225 50 60 70``
    for 225 50 60 70): numbers are rebuilt from the link text kept in ``raw_html``; numbers only
    written in the text are found with phonenumbers; ``00...`` forms are dialled as +E.164;
  - an item with no number that dials but a web address becomes a listing without channels (a
    chat channel when the text offers chat), with a warning; with neither it is rejected.

Wikipedia listings are drafts (``curation_status``), and their description says where they come
from: the file is a test fixture of 2021, not live crisis information.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

from directory.ingest.common import clean, derived_id
from directory.ingest.formats import Format
from directory.ingest.formats.wikipedia_lines import normalise_wikipedia
from directory.ingest.limits import MAX_JSON_DEPTH, load_json, nesting
from directory.ingest.records import (
    FormatError,
    Ignored,
    Normalised,
    ReadItem,
    Rejection,
    SourceRecord,
)

WIKIPEDIA = "wikipedia-suicide-crisis-lines-2021-07"
SUFFIXES = (".json", ".yaml", ".yml")
PROVENANCE_KEYS = ("external_id", "source_url", "checked_on")
EMERGENCY = re.compile(r"(?i)\bemergency\b|\bpolice\b|\bambulances?\b|\bfire\b|\bcrime\b")
LI = re.compile(r"<li\b[^>]*>|</li>")
CRISIS = re.compile(
    r"(?i)suicid|crisis|crises|help ?line|hotline|lifeline|support|counsel|distress|listening"
    r"|samaritan|befriend|mental|depress|anxi|violence|emotional|psycholog"
)


def detect(path: Path) -> bool:
    """A .json/.yaml file with a top-level ``services`` list, or the Wikipedia list's shape."""
    if path.suffix.lower() not in SUFFIXES or not path.is_file():
        return False
    try:
        return _shape(_load(path)) is not None
    except FormatError:
        return False


def read(path: Path) -> Iterator[ReadItem]:
    """The records of either shape; the whole file is checked before the first record."""
    data = _load(path)
    shape = _shape(data)
    if shape == "listing":
        return _read_listing(str(path), data)
    if shape == "wikipedia":
        return _read_wikipedia(str(path), data)
    raise FormatError(
        f"{path}: neither a listing file (a top-level 'services' list) nor the Wikipedia "
        "crisis-line list ({country: {raw_html, parsed_batches: [...]}})"
    )


def normalise(raw: dict[str, Any]) -> Normalised:
    """A listing document: a curated item as it is, or a Wikipedia item made into a listing."""
    if raw.get("origin") == WIKIPEDIA:
        return normalise_wikipedia(raw)
    return Normalised({k: v for k, v in raw.items() if k not in PROVENANCE_KEYS})


# --- reading ----------------------------------------------------------------------------------


def _load(path: Path) -> Any:
    """The parsed file (JSON by suffix, else YAML), or FormatError saying why it cannot be."""
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise FormatError(
            f"{path}: not UTF-8 text ({error.reason} at byte {error.start})"
        ) from None
    except OSError as error:
        raise FormatError(f"{path}: cannot be read ({error.strerror})") from None
    if not text.strip():
        raise FormatError(f"{path}: the file is empty")
    try:
        if path.suffix.lower() == ".json":
            return load_json(text, str(path))
        document = yaml.safe_load(text)
    except RecursionError:  # YAML's parser recurses; the JSON one is checked in load_json
        raise FormatError(f"{path}: nested too deeply; not a directory file") from None
    except json.JSONDecodeError as error:
        raise FormatError(
            f"{path}: not valid JSON, truncated or damaged "
            f"({error.msg} at line {error.lineno}, column {error.colno})"
        ) from None
    except yaml.YAMLError as error:
        raise FormatError(f"{path}: not valid YAML ({error})") from None
    if nesting(document, MAX_JSON_DEPTH) > MAX_JSON_DEPTH:
        raise FormatError(f"{path}: nested more than {MAX_JSON_DEPTH} levels deep")
    return document


def _shape(data: Any) -> str | None:
    """Which of the two shapes the parsed file has, if either."""
    if isinstance(data, dict) and isinstance(data.get("services"), list):
        return "listing"
    if (
        isinstance(data, dict)
        and data
        and all(
            isinstance(v, dict) and isinstance(v.get("parsed_batches"), list) for v in data.values()
        )
    ):
        return "wikipedia"
    return None


def _read_listing(file: str, data: dict[str, Any]) -> Iterator[SourceRecord | Rejection]:
    """One record per item; the file's ``checked_on`` is the default of its items'."""
    seen: set[str] = set()
    for row, item in enumerate(data["services"], start=1):
        if not isinstance(item, dict):
            yield Rejection(file, row, None, "not a listing: expected a mapping")
            continue
        external_id = clean(item.get("external_id"))
        if external_id is None:
            yield Rejection(file, row, "external_id", "missing external_id")
            continue
        if external_id in seen:
            yield Rejection(file, row, "external_id", "duplicate external_id", external_id)
            continue
        seen.add(external_id)
        raw = _jsonable(item)
        if raw.get("checked_on") is None and data.get("checked_on") is not None:
            raw["checked_on"] = _jsonable(data["checked_on"])
        yield SourceRecord(external_id, file, row, raw)


def _jsonable(value: Any) -> Any:
    """YAML dates and times as ISO strings, so that the raw record is JSON."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    return value


def _read_wikipedia(file: str, data: dict[str, Any]) -> Iterator[ReadItem]:
    """One record per crisis line; rows count list items across the file (1-based); then the
    keys of the file that nothing reads, counted."""
    row = 0
    unread: Counter[str] = Counter()
    for name, section in data.items():
        unread.update(f"country.{k}" for k in section if k not in ("raw_html", "parsed_batches"))
        batches = section["parsed_batches"]
        snippets = _list_items(section.get("raw_html"), len(batches))
        earlier: list[tuple[str, list[str], set[str]]] = []
        for n, (batch, snippet) in enumerate(zip(batches, snippets, strict=True), start=1):
            row, ref = row + 1, f"{name}#{n}"
            if not _well_formed(batch):
                yield Rejection(file, row, None, f"not a list item {{phones, description}}: {ref}")
                continue
            unread.update(f"item.{k}" for k in batch if k not in ("phones", "description"))
            description, phones = batch["description"].strip(), batch["phones"]
            aside = _set_aside(description, phones, earlier)
            earlier.append((ref, description.splitlines(), set(phones)))
            if aside is not None:
                yield Rejection(file, row, aside[0], aside[1])
                continue
            raw = {"origin": WIKIPEDIA, "country": name, "ref": ref, "description": description}
            raw |= {"phones": phones, "html": snippet}
            external_id = derived_id(name, description, " ".join(sorted(set(phones))))
            yield SourceRecord(external_id, file, row, raw)
    for key, count in sorted(unread.items()):
        yield Ignored(Path(file).name, key, count, "not imported")


def _well_formed(batch: Any) -> bool:
    """A batch is ``{phones: [str, ...], description: str}``."""
    return (
        isinstance(batch, dict)
        and isinstance(batch.get("description"), str)
        and isinstance(batch.get("phones"), list)
        and all(isinstance(p, str) for p in batch["phones"])
    )


def _list_items(raw_html: Any, count: int) -> list[str | None]:
    """The HTML of each ``<li>`` in document order, when they pair one-to-one with the batches."""
    if not isinstance(raw_html, str):
        return [None] * count
    spans: list[list[int]] = []
    stack: list[int] = []
    for tag in LI.finditer(raw_html):
        if tag.group().startswith("<li"):
            stack.append(len(spans))
            spans.append([tag.start(), len(raw_html)])
        elif stack:
            spans[stack.pop()][1] = tag.end()
    if len(spans) != count:
        return [None] * count
    return [raw_html[start:end] for start, end in spans]


def _set_aside(
    description: str, phones: list[str], earlier: list[tuple[str, list[str], set[str]]]
) -> tuple[str | None, str] | None:
    """(field, reason) when a list item is not a crisis line of its own, else None."""
    if not description and not phones:
        return None, "empty list item"
    for ref, lines, numbers in earlier:
        if description in (line.strip() for line in lines) and set(phones) <= numbers:
            return "description", f"nested list item repeated: same text and numbers as {ref}"
    if EMERGENCY.search(description) and not CRISIS.search(description):
        return "description", f"emergency service number, not a crisis line: {description[:80]}"
    return None


# --- normalising a Wikipedia item --------------------------------------------------------------


FORMAT = Format(name="crisis-lines", detect=detect, read=read, normalise=normalise)
