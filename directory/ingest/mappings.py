"""Mapping tables from source vocabularies to ours (``seed_data/mappings/*.yaml``) and the lookups
that read them: AIRS codes, languages, accessibility phrases, US regions."""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Any

import pycountry
import yaml

from directory.ingest.common import clean
from directory.listings import vocabularies
from directory.listings.taxonomy import NEEDS_TAXONOMY
from directory.listings.vocabularies import seed_dir


def mappings_dir() -> Path:
    """``mappings/`` in the seed folder."""
    return seed_dir() / "mappings"


AIRS_CODE = re.compile(r"^[A-Z]{1,2}(?:-\d{4}(?:\.\d{4}(?:-\d{3}(?:\.\d{2})?)?)?)?$")


@lru_cache
def mapping(name: str) -> dict[str, Any]:
    """The mapping table ``seed_data/mappings/<name>.yaml`` (cached; ``reload()`` forgets it)."""
    data = yaml.safe_load((mappings_dir() / f"{name}.yaml").read_text())
    if not isinstance(data, dict):
        raise ValueError(f"mapping {name}.yaml must be a mapping")
    return data


def reload() -> None:
    """Forget cached tables, so that edited mappings are read again (``ingest remap``)."""
    mapping.cache_clear()


def airs_need(code: str) -> str | None:
    """Our need for an AIRS/211 taxonomy code: the mapping of its longest mapped ancestor.

    AIRS codes carry their hierarchy: the parent of ``RP-1500.1400-800`` is ``RP-1500.1400``,
    then ``RP-1500``, then ``RP``.
    """
    table: dict[str, str] = mapping("airs")["needs"]
    current = code.strip().upper()
    while current:
        if current in table:
            return table[current]
        current = airs_parent(current) or ""
    return None


def airs_parent(code: str) -> str | None:
    """The parent of an AIRS code: ``RP-1500.1400-800`` -> ``RP-1500.1400`` -> ``RP-1500`` ->
    ``RP`` -> ``R`` -> None."""
    cut = max(code.rfind("."), code.rfind("-"))
    if cut > 0:
        return code[:cut]
    return code[:-1] if len(code) > 1 else None


# --- source terms in our vocabularies (used by the HSDS format; any format may) ----------


def accessibility_codes(text: str) -> tuple[list[str], bool]:
    """Our accessibility codes for a value or a sentence, and whether it was read as a sentence."""
    if text.strip() in vocabularies.accessibility_codes():  # one of our codes, as we export them
        return [text.strip()], False
    table = mapping("accessibility")
    value = re.sub(r"[\s_-]+", " ", text.casefold()).strip()
    if value in table["values"]:
        return [table["values"][value]], False
    codes = [code for phrase, code in table["phrases"].items() if _contains(text, phrase)]
    return list(dict.fromkeys(codes)), True


def _contains(text: str, phrase: str) -> bool:
    return re.search(rf"(?<!\w){re.escape(phrase)}(?!\w)", text, re.IGNORECASE) is not None


def language_entries(text: str) -> list[dict[str, Any]] | None:
    """Language documents for a name or code ("Spanish (limited)" -> es, note "limited"), or for
    a list of them ("English, Spanish"); None when any part is unknown."""
    single = _language(text)
    if single is not None:
        return [single]
    # "English, Spanish", "English. Spanish", one per line, "English and Spanish"
    for separators in (r"\s*(?:[,;/\n]|\.(?:\s|$)|\band\b|&)\s*", r"\s+"):  # "English Spanish"
        parts = [p for p in re.split(separators, text.strip()) if p]
        entries = [_language(part) for part in parts] if len(parts) > 1 else [None]
        if None not in entries:
            return list({e["code"]: e for e in reversed(entries) if e is not None}.values())[::-1]
    return None


def _language(text: str) -> dict[str, Any] | None:
    found = re.fullmatch(r"(.*?)\s*\((.*)\)\s*", text)
    base, qualifier = (found.group(1), found.group(2).strip()) if found else (text, "")
    base = re.sub(r"[\s_-]+", " ", base).strip(" .")  # "Haitian-Creole", "Spanish."
    value = mapping("languages")["names"].get(base.casefold())
    code, note = (
        (value.get("code"), value.get("note")) if isinstance(value, dict) else (value, None)
    )
    try:
        if code is None and len(base.strip()) in (2, 3):
            code = vocabularies.language(base)[0]
        elif code is None:
            record = pycountry.languages.lookup(base.strip())
            code = getattr(record, "alpha_2", None) or record.alpha_3
        code = vocabularies.language(str(code))[0]
    except (LookupError, ValueError):
        return None
    notes = ", ".join(n for n in (note, qualifier) if n)
    return {"code": code} | ({"note": notes[:500]} if notes else {})


def regions(text: str) -> list[str]:
    """ISO 3166 codes for an area named as US states or the whole country ("Illinois",
    "IL and IN", "Nationwide"); [] for anything else (a county, a city, a description)."""
    named = re.sub(r"^(the )?state of |\(?\bstatewide\)?$|\bstate$", "", text.casefold().strip())
    parts = [p.strip(" .") for p in re.split(r"\s*(?:[,;/&]|\band\b)\s*", named.strip())]
    codes = [_regions_by_name().get(p) for p in parts if p]
    return list(dict.fromkeys(c for c in codes if c)) if codes and None not in codes else []


@lru_cache
def _regions_by_name() -> dict[str, str]:
    states = pycountry.subdivisions.get(country_code="US")  # type: ignore[no-untyped-call]
    found = {s.name.casefold(): s.code for s in states} | {
        s.code[3:].lower(): s.code for s in states
    }
    country = ("united states", "united states of america", "usa", "us", "u.s", "u.s.a")
    return found | dict.fromkeys((*country, "nationwide", "national"), "US")


def term_need(term: dict[str, Any]) -> str | None:
    """Our need for an HSDS taxonomy term: a term of our own needs taxonomy (as our export
    writes it), else its AIRS code (3.0 ``code``, 1.x ``id``), else its name in the ``text:``
    table of airs.yaml."""
    if (own := own_need(term)) is not None:
        return own
    for candidate in (term.get("code"), term.get("id")):
        code = (clean(candidate) or "").upper()
        if AIRS_CODE.match(code) and (need := airs_need(code)):
            return need
    table: dict[str, str] = mapping("airs")["text"]
    for candidate in (term.get("name"), term.get("code")):
        key = re.sub(r"[^\w\s-]", "", (clean(candidate) or "").replace("&", " and "))
        if need := table.get(re.sub(r"\s+", " ", key).strip().casefold()):
            return need
    return None


def own_need(term: dict[str, Any]) -> str | None:
    """The code of a term of our needs taxonomy (named in its ``taxonomy`` or its nested
    ``taxonomy_detail``), when the code is one of ours."""
    detail = term.get("taxonomy_detail")
    named = term.get("taxonomy") or (detail.get("name") if isinstance(detail, dict) else None)
    code = clean(term.get("code"))
    if clean(named) != NEEDS_TAXONOMY or code is None:
        return None
    return code if code in need_codes() else None


@lru_cache
def need_codes() -> frozenset[str]:
    """Every code of our needs taxonomy (seed_data/needs.yaml)."""
    data = yaml.safe_load((seed_dir() / "needs.yaml").read_text())
    found: set[str] = set()

    def walk(items: list[dict[str, Any]]) -> None:
        for item in items:
            found.add(item["code"])
            walk(item.get("children") or [])

    walk(data["needs"])
    return frozenset(found)
