"""The posted editor as a valid document, or its problems by the form field that caused each;
and the rows a coordinator adds or removes without saving (no JavaScript needed)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from directory.web import forms
from directory.web.listing_form import (
    SCALARS,
    Document,
    Path,
    Where,
    canonical,
    form_document,
    site_values,
)
from directory.web.listing_form_hours import count
from directory.web.vocab import N_

MESSAGES = {
    **forms.BY_TYPE,
    "int_parsing": N_("Give a whole number."),
    "int_from_float": N_("Give a whole number."),
    "float_parsing": N_("Give a number."),
    "decimal_parsing": N_("Give a number."),
    "decimal_max_places": N_("Give at most two decimals."),
    "greater_than_equal": N_("This number is too small."),
    "less_than_equal": N_("This number is too large."),
    "url_parsing": N_("Give a web address such as https://example.org."),
    "url_scheme": N_("Give a web address such as https://example.org."),
    "string_pattern_mismatch": N_("This is not in the expected form."),
    "too_long": N_("There are too many of these."),
}
# Our own checks' messages (value errors), by the field they land on.
BY_FIELD = (
    (re.compile(r"^lang-\d+-code$"), N_("Not an ISO 639 language code (such as es, vi or ase).")),
    (re.compile(r"-country$"), N_("Not an ISO 3166 country code (such as US or MX).")),
    (re.compile(r"phone-\d+-number$"), N_("Not a phone number of that country.")),
    (re.compile(r"^area-\d+-regions$"), N_("Give ISO 3166 codes such as US-FL or US.")),
    (re.compile(r"-latitude$"), N_("Give both the latitude and the longitude.")),
    (re.compile(r"^org-name$"), N_("Give the organization's name.")),
)
# A row's field that takes the row's own problems (a phone that is not a number).
ROW_FIELD = {"site": "latitude", "phone": "number", "lang": "code", "area": "name"}
ROW_PART = {"address": None, "accessibility": "access", "schedules": "hours", "regions": "regions"}
ROWS = r"site|phone|lang|area|hours-exc|site-[0-9]{1,3}-(?:phone|hours-exc)"
ADDABLE = re.compile(rf"^(?:{ROWS})$")
REMOVABLE = re.compile(rf"^(?P<prefix>{ROWS})-(?P<index>[0-9]{{1,3}})$")


class FormInvalid(Exception):
    """The form's problems, by field name (``form`` for the rest); messages in English."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__(errors)
        self.errors = errors


def parse(form: Mapping[str, str], *, create: bool) -> Document:
    """The valid document the posted editor says; ``FormInvalid`` with its problems."""
    doc, errors, where = form_document(form)
    try:
        found = canonical(doc, create=create)
    except ValidationError as error:
        raise FormInvalid({**field_errors(error, where), **errors}) from None
    if errors:
        raise FormInvalid(errors)
    return found


def field_errors(error: ValidationError, where: Where) -> dict[str, str]:
    """Validation problems by the form field that holds the value."""
    found: dict[str, str] = {}
    for item in error.errors():
        name = input_name(tuple(item["loc"]), where)
        message = MESSAGES.get(item["type"])
        if message is None:
            own = (text for pattern, text in BY_FIELD if pattern.search(name))
            message = next(own, str(item["msg"]).removeprefix("Value error, "))
        found.setdefault(name, message)
    return found


def input_name(loc: Path, where: Where) -> str:
    """The form field of a document's place (``("locations", 0, "phones", 1, "number")`` ->
    ``site-0-phone-1-number``, when those were the rows the items came from)."""
    for cut in range(len(loc), 0, -1):
        row = where.get(loc[:cut])
        if row is not None:
            return f"{row}-{_row_field(row, loc[cut:])}"
    head = str(loc[0]) if loc else ""
    if head == "organization":
        return f"org-{loc[1]}" if len(loc) > 1 else "org-name"
    if head in SCALARS or head == "curation_status":
        return head
    return {"schedules": "hours", "cost_options": "costs", "needs": "needs"}.get(head, "form")


def _row_field(row: str, rest: Path) -> str:
    names = [part for part in rest if isinstance(part, str)]
    if not names:
        return ROW_FIELD[row.rsplit("-", 2)[-2]]
    if names[0] in ROW_PART:
        return ROW_PART[names[0]] or (names[1] if len(names) > 1 else "address_1")
    return names[0]


def add_row(form: Mapping[str, str], prefix: str, blank: Mapping[str, str]) -> dict[str, str]:
    """The form with one more row of a repeated group (its fields from ``blank``, named for
    row 0)."""
    at = count(form, prefix)
    fresh = {
        key.replace(f"{prefix}-0-", f"{prefix}-{at}-", 1): value for key, value in blank.items()
    }
    return {**form, **fresh, f"{prefix}-count": str(at + 1)}


def remove_row(form: Mapping[str, str], prefix: str, index: int) -> dict[str, str]:
    """The form without one row of a repeated group; the rows after it move up."""
    row = re.compile(rf"^{re.escape(prefix)}-([0-9]{{1,4}})(-.*)$")
    kept: dict[str, Any] = {}
    for key, value in form.items():
        found = row.match(key)
        if found is None:
            kept[key] = value
        elif (at := int(found.group(1))) != index:
            kept[f"{prefix}-{at - 1 if at > index else at}{found.group(2)}"] = value
    kept[f"{prefix}-count"] = str(max(count(form, prefix) - 1, 0))
    return kept


def rows_changed(form: Mapping[str, str]) -> dict[str, str] | None:
    """The form with a row added or removed when one of those buttons sent it (not a save);
    None for a save."""
    fields = {k: v for k, v in form.items() if k not in ("csrf", "add", "remove")}
    added = form.get("add", "")
    if ADDABLE.match(added):
        return add_row(fields, added, _blank(added, fields))
    removed = REMOVABLE.match(form.get("remove", ""))
    if removed:
        return remove_row(fields, removed["prefix"], int(removed["index"]))
    return None


def _blank(prefix: str, form: Mapping[str, str]) -> dict[str, str]:
    """A new row's fields (named for row 0): a site gets the listing's time zone."""
    if prefix == "site":
        return {**site_values("site-0", {}), "site-0-hours-tz": form.get("hours-tz", "")}
    if prefix.endswith("phone"):
        return {f"{prefix}-0-country": "US", f"{prefix}-0-type": "voice"}
    return {}
