"""SAMHSA service codes (``MH``, ``SP``, ``MD``, ``TELE``, ``DT``, ``BU``...) expanded into a
listing's facets.

The table is ``seed_data/mappings/samhsa.yaml``: the codes of both national directories (Mental
Health and Substance Use), whose code sheets share 86 codes. Both SAMHSA formats (a directory's
``service_code_info`` and the locator's ``type_facility``) use it through ``expand``.

Decisions the table cannot carry:

- Every listing offers English, listed first: SAMHSA's survey asks which languages *other than
  English* staff treat in, so English is the baseline of every facility it lists (Puerto Rico
  included; its facilities all carry ``SP`` as well).
- Ages come from the age groups a facility accepts only when they form one unbroken range
  (children + young adults = 0-17 + 18-25 -> at most 25); a bound of 0 or none is not written.
  Groups with a gap (children and seniors only) say no single range: none is set, with a warning.
- Telehealth (``TELE``) becomes a ``virtual`` location beside the physical one, so the listing
  can say it is offered remotely without inventing where it is licensed to serve.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from functools import lru_cache
from typing import Any

import yaml

from directory.ingest.common import clean, derived_id, zip5
from directory.ingest.mappings import mapping
from directory.ingest.records import Normalised, RowRejected
from directory.listings.vocabularies import seed_dir

BASELINE_LANGUAGE = "en"
SEPARATOR = "*"  # between groups of codes in ``service_code_info``
VIRTUAL_LOCATIONS = {
    "virtual": {
        "name": "Telehealth",
        "location_type": "virtual",
        "description": "Telemedicine/telehealth therapy",
    },
}


def facility_id(raw: dict[str, Any]) -> str:
    """A facility's stable id in SAMHSA's files, which carry none: its name and full address."""
    return derived_id(
        raw["name1"],
        raw.get("name2"),
        raw["street1"],
        raw.get("street2"),
        raw["city"],
        raw["state"],
        zip5(raw["zip"]),
    )


def facility(raw: dict[str, Any]) -> Normalised:
    """The start of a facility's document, named alike in both SAMHSA files (merging compares
    these names): "name1 - name2", organization name1."""
    name1, name2 = clean(raw.get("name1")), clean(raw.get("name2"))
    if name1 is None:
        raise RowRejected("name1", "missing name")
    name = f"{name1} - {name2}" if name2 else name1
    return Normalised({"name": name, "organization": {"name": name1}})


def code_table() -> dict[str, dict[str, Any] | None]:
    """Every known SAMHSA code and its entry (``{}`` for a code that maps to nothing of ours)."""
    codes: dict[str, dict[str, Any] | None] = mapping("samhsa")["codes"]
    return codes


def split_codes(text: str | None) -> list[str]:
    """The codes of a ``service_code_info`` value (``"SA MH * OP"`` -> ``[SA, MH, OP]``)."""
    return [code for code in (text or "").split() if code != SEPARATOR]


def expand(codes: Iterable[str], doc: dict[str, Any], result: Normalised, *, field: str) -> None:
    """Add the needs, languages, cost options, ages, virtual location and accessibility that
    ``codes`` mean to ``doc``; an unknown code is a warning on ``field``.

    Call it after the physical locations are in ``doc``: accessibility attaches to them.
    """
    table = code_table()
    entries: list[tuple[str, dict[str, Any]]] = []
    for code in dict.fromkeys(c.strip().upper() for c in codes):
        if not code or code == SEPARATOR:
            continue
        if code not in table:
            result.warn(field, f"unknown SAMHSA code {code}")
            continue
        entries.append((code, table[code] or {}))
    _add_needs(doc, [entry for _, entry in entries])
    _add_languages(doc, [lang for _, entry in entries for lang in entry.get("languages", [])])
    _add_costs(doc, [entry["cost"] for _, entry in entries if "cost" in entry])
    _add_ages(
        doc, [(code, entry["ages"]) for code, entry in entries if "ages" in entry], result, field
    )
    _add_locations(doc, entries)


def _add_needs(doc: dict[str, Any], entries: Sequence[dict[str, Any]]) -> None:
    """Needs of each code, then the needs a code adds only beside another need or one under it
    (``needs_if``: a detox facility's ``RES`` is residential substance-use treatment)."""
    needs = list(doc.get("needs", []))
    needs.extend(need for entry in entries for need in entry.get("needs", []))
    lineage = need_lineage()
    given = {code for need in needs for code in lineage.get(need, (need,))}
    for entry in entries:
        for condition, extra in entry.get("needs_if", {}).items():
            if condition in given:
                needs.extend(extra)
    doc["needs"] = list(dict.fromkeys(needs))


@lru_cache
def need_lineage() -> dict[str, tuple[str, ...]]:
    """Each need of ``needs.yaml`` with the needs above it (``detox`` -> detox, substance-use)."""
    found: dict[str, tuple[str, ...]] = {}

    def walk(items: list[dict[str, Any]], above: tuple[str, ...]) -> None:
        for item in items:
            found[item["code"]] = (item["code"], *above)
            walk(item.get("children", []), found[item["code"]])

    walk(yaml.safe_load((seed_dir() / "needs.yaml").read_text())["needs"], ())
    return found


def _add_languages(doc: dict[str, Any], codes: Sequence[str]) -> None:
    languages: list[dict[str, Any]] = list(doc.get("languages", []))
    if not any(lang["code"] == BASELINE_LANGUAGE for lang in languages):
        languages.insert(0, {"code": BASELINE_LANGUAGE})
    seen = {lang["code"] for lang in languages}
    for code in codes:
        if code not in seen:
            seen.add(code)
            languages.append({"code": code})
    doc["languages"] = languages


def _add_costs(doc: dict[str, Any], costs: Sequence[str | dict[str, Any]]) -> None:
    options: list[dict[str, Any]] = list(doc.get("cost_options", []))
    seen = {option["option"] for option in options}
    for cost in costs:
        option = dict(cost) if isinstance(cost, dict) else {"option": cost}
        if option["option"] not in seen:
            seen.add(option["option"])
            options.append(option)
    doc["cost_options"] = options


def _add_ages(
    doc: dict[str, Any], groups: Sequence[tuple[str, list[Any]]], result: Normalised, field: str
) -> None:
    """The age range the accepted groups cover, when they make one unbroken range."""
    if not groups:
        return
    spans: list[tuple[int, int | None]] = sorted((low, high) for _, (low, high) in groups)
    reach = spans[0][1]
    for low, high in spans[1:]:
        if reach is not None and low > reach + 1:
            names = ", ".join(code for code, _ in groups)
            result.warn(field, f"age groups {names} leave a gap: no age range set")
            return
        reach = None if reach is None or high is None else max(reach, high)
    if spans[0][0] > 0:
        doc.setdefault("minimum_age", spans[0][0])
    if reach is not None:
        doc.setdefault("maximum_age", reach)


def _add_locations(doc: dict[str, Any], entries: Sequence[tuple[str, dict[str, Any]]]) -> None:
    """A virtual location per remote mode; accessibility codes on every physical location."""
    locations: list[dict[str, Any]] = doc.setdefault("locations", [])
    present = {location.get("location_type", "physical") for location in locations}
    for mode in dict.fromkeys(m for _, entry in entries for m in entry.get("modes", [])):
        if mode not in present:
            locations.append(dict(VIRTUAL_LOCATIONS[mode]))
            present.add(mode)
    access = list(dict.fromkeys(a for _, entry in entries for a in entry.get("accessibility", [])))
    for location in locations:
        if access and location.get("location_type", "physical") == "physical":
            have = location.setdefault("accessibility", [])
            known = {item["code"] for item in have}
            have.extend({"code": code} for code in access if code not in known)
