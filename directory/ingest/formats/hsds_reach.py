"""How to reach an HSDS service, for the HSDS normaliser: its phones, opening hours, contacts and
languages, from the rows of a service, a location or a service at a location (the same helpers
for each, as HSDS attaches them at any of the three)."""

from __future__ import annotations

import re
from typing import Any

from directory.ingest import common, hours
from directory.ingest.formats.hsds_values import _email, _list, _phone_country, _short, _valid
from directory.ingest.mappings import language_entries
from directory.ingest.records import Normalised
from directory.listings.schemas import ContactIn, LanguageIn, ScheduleIn

PHONE_TYPES = {"voice", "text", "fax", "cell", "video", "pager", "textphone"}


def _phones(
    rows: list[dict[str, Any]], result: Normalised, field: str, country: str = "US"
) -> list[dict[str, Any]]:
    found: dict[tuple[Any, ...], dict[str, Any]] = {}
    for row in rows:
        number = (common.clean(row.get("number")) or "").strip("\"' ")
        if not number:
            continue
        kind = (common.clean(row.get("type")) or "voice").lower()
        if kind not in PHONE_TYPES:
            result.warn(field, f"unknown phone type, read as voice: {kind!r}")
            kind = "voice"
        entry = common.phone_entry(
            number,
            result,
            field,
            country=_phone_country(number, country),
            type_=kind,
            description=_short(row.get("description"), result, field),
        )
        if entry is None:
            continue
        extension = re.sub(r"\.0+$", "", _short(row.get("extension")) or "")
        entry |= {"extension": extension} if extension and "extension" not in entry else {}
        key = (entry["number"], entry.get("extension"), entry["type"], entry.get("description"))
        found.setdefault(key, entry)  # phone_entry has checked that the number dials
    return list(found.values())


def _schedules(
    rows: list[dict[str, Any]],
    result: Normalised,
    field: str,
    holidays: list[dict[str, Any]],
) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    parsed = hours.schedules_from_rows(rows, result, field)
    for schedule in parsed + hours.holiday_schedules(holidays, result, field):
        if schedule not in found and _valid(ScheduleIn, schedule, result, field):
            found.append(schedule)
    return found


def _contacts(
    rows: list[dict[str, Any]], result: Normalised, country: str = "US"
) -> list[dict[str, Any]]:
    """HSDS contacts (a named person or desk), each with its own phones (dialled from
    ``country``)."""
    found: list[dict[str, Any]] = []
    for row in rows:
        entry: dict[str, Any] = {
            k: v
            for k in ("name", "title", "department")
            if (v := _short(row.get(k), result, f"contacts.{k}"))
        }
        if email := _email(row.get("email"), result, "contacts.email"):
            entry["email"] = email
        phones = _phones(_list(row.get("phones")), result, "contacts.phones", country)
        entry |= {"phones": phones[:10]} if phones else {}
        if entry and entry not in found and _valid(ContactIn, entry, result, "contacts"):
            found.append(entry)
    return found


def _languages(rows: list[dict[str, Any]], result: Normalised) -> list[dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for row in rows:
        note = _short(row.get("note"))
        texts = [
            common.clean(row.get("code")),
            _lines(row.get("name") or row.get("language")),
        ]
        entries = next((e for t in texts if t and (e := language_entries(t))), None)
        if entries is None:
            result.warn("languages", f"unknown language: {texts[1] or texts[0]!r}")
            continue
        for entry in entries:
            entry = entry | ({"note": note} if note and "note" not in entry else {})
            if entry["code"] not in found and _valid(LanguageIn, entry, result, "languages"):
                found[entry["code"]] = entry
    return list(found.values())


def _lines(value: Any) -> str | None:
    """A value trimmed, its line breaks kept (a list of languages one per line)."""
    text = common.tidy(str(value)) if value is not None else ""
    return "\n".join(c for c in (common.clean(line) for line in text.splitlines()) if c) or None
