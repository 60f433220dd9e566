"""The listing editor's form and the listing documents (``ServiceCreate``/``ServiceUpdate``):
a document as the form's fields, the posted fields as a document, and a read listing as the
document its editor starts from.

Field names follow the document: scalars by their own name (``description``), the
organization's as ``org-name``, repeated rows as ``{row}-{index}-{field}`` with a
``{row}-count`` (``phone-0-number``, ``site-1-phone-0-number``, ``lang-2-code``), check boxes
of a vocabulary as rows that carry their code (``cost-0-option``, ``site-0-access-3-code``),
needs as ``need-{code}``, hours as in ``listing_form_hours`` (``hours-...``,
``site-0-hours-...``). Blank rows are left out of the document.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from pydantic import ValidationError
from pydantic_core import to_jsonable_python

from directory.listings import vocabularies
from directory.listings.read_schemas import ServiceRead
from directory.listings.schemas import SCALAR_FIELDS, ServiceCreate, ServiceUpdate
from directory.web import vocab
from directory.web.listing_form_hours import count, hours_schedules, hours_values

# A listing's own fields the editor shows (publishing is the listing page's act).
SCALARS = tuple(name for name in SCALAR_FIELDS if name != "curation_status")
ORG_FIELDS = ("name", "alternate_name", "description", "email", "url")
PHONE_FIELDS = ("number", "country", "extension", "type", "description")
SITE_FIELDS = ("name", "location_type", "description", "transportation", "latitude", "longitude")
ADDRESS_FIELDS = (
    "attention",
    "address_1",
    "address_2",
    "city",
    "region",
    "state_province",
    "postal_code",
    "country",
    "address_type",
)
# What the editor of a listing changes (the organization and the curation status only when
# creating one: a listing's update cannot change them).
EDITED = (
    *SCALARS,
    "needs",
    "languages",
    "phones",
    "service_areas",
    "cost_options",
    "schedules",
    "locations",
)
CREATED = (*EDITED, "organization", "curation_status")
Document = dict[str, Any]
Row = Callable[[str, Mapping[str, Any]], dict[str, str]]


def raw_document(read: ServiceRead) -> Document:
    """The editable part of a read listing, in the documents' shape (not yet validated)."""
    data = read.model_dump(mode="json")
    doc = {name: data[name] for name in SCALARS}
    doc["needs"] = sorted(need["code"] for need in data["needs"])
    doc["languages"] = [{"code": x["code"], "note": x["note"]} for x in data["languages"]]
    doc["phones"] = [_pick(phone, PHONE_FIELDS) for phone in data["phones"]]
    doc["service_areas"] = data["service_areas"]
    doc["cost_options"] = data["cost_options"]
    doc["schedules"] = [_schedule(s) for s in data["schedules"]]
    doc["locations"] = [_location(site) for site in data["locations"]]
    return doc


def _pick(data: Mapping[str, Any], names: tuple[str, ...]) -> dict[str, Any]:
    return {name: data.get(name) for name in names}


def _schedule(data: Mapping[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in data.items() if key != "id"}


def _location(data: Mapping[str, Any]) -> dict[str, Any]:
    site = _pick(data, SITE_FIELDS)
    site["coordinates_approximate"] = data["coordinates_approximate"]
    addresses = data["addresses"]
    physical = [a for a in addresses if a["address_type"] == "physical"]
    site["address"] = (physical or addresses or [None])[0]
    site["accessibility"] = data["accessibility"]
    site["phones"] = [_pick(phone, PHONE_FIELDS) for phone in data["phones"]]
    site["schedules"] = [_schedule(s) for s in data["schedules"]]
    return site


def canonical(doc: Mapping[str, Any], *, create: bool) -> Document:
    """The document validated (``ValidationError`` when it is not) and written out as JSON."""
    names = CREATED if create else EDITED
    model = ServiceCreate if create else ServiceUpdate
    given = {name: doc[name] for name in names if name in doc}
    return model.model_validate(given).model_dump(mode="json", include=set(names))


def loaded_document(read: ServiceRead) -> Document:
    """The document an editor of this listing starts from: as its form would send it back
    (hours in the editor's canonical form), so an untouched field compares equal."""
    raw = to_jsonable_python(raw_document(read))
    try:
        raw = canonical(raw, create=False)
        return canonical(form_document(form_values(raw))[0], create=False)
    except ValidationError:  # stored before a rule of today: shown, and fixed when saved
        return form_document(form_values(raw))[0]


# ---- document -> form ------------------------------------------------------------------------


def form_values(doc: Mapping[str, Any]) -> dict[str, str]:
    """The form's fields showing a document."""
    values = {name: _text(doc.get(name)) for name in SCALARS}
    values["status"] = values["status"] or "active"
    values["curation_status"] = doc.get("curation_status") or "draft"
    organization = doc.get("organization") or {}
    values.update({f"org-{name}": _text(organization.get(name)) for name in ORG_FIELDS})
    values.update({f"need-{code}": "on" for code in doc.get("needs") or []})
    values.update(_rows("phone", doc.get("phones") or [], _phone_values))
    values.update(_rows("lang", doc.get("languages") or [], _language_values))
    values.update(_rows("area", doc.get("service_areas") or [], _area_values))
    values.update(_cost_values(doc.get("cost_options") or []))
    values.update(hours_values("hours", doc.get("schedules") or []))
    values.update(_rows("site", doc.get("locations") or [], site_values))
    return values


def _text(value: Any) -> str:
    if value is None or value is False:
        return ""
    return "on" if value is True else str(value)


def _rows(prefix: str, items: list[Any], each: Row) -> dict[str, str]:
    values = {f"{prefix}-count": str(len(items))}
    for index, item in enumerate(items):
        values.update(each(f"{prefix}-{index}", item))
    return values


def _phone_values(name: str, phone: Mapping[str, Any]) -> dict[str, str]:
    values = {f"{name}-{field}": _text(phone.get(field)) for field in PHONE_FIELDS}
    values[f"{name}-country"] = values[f"{name}-country"] or "US"
    values[f"{name}-type"] = values[f"{name}-type"] or "voice"
    return values


def _language_values(name: str, language: Mapping[str, Any]) -> dict[str, str]:
    return {
        f"{name}-code": _text(language.get("code")),
        f"{name}-note": _text(language.get("note")),
    }


def _area_values(name: str, area: Mapping[str, Any]) -> dict[str, str]:
    return {
        f"{name}-name": _text(area.get("name")),
        f"{name}-description": _text(area.get("description")),
        f"{name}-regions": ", ".join(area.get("regions") or []),
    }


def _cost_values(costs: list[Mapping[str, Any]]) -> dict[str, str]:
    """A row for each cost of the vocabulary, then for any other the listing has."""
    given = {cost["option"]: cost for cost in costs}
    values: dict[str, str] = {}
    codes = list(dict.fromkeys([*vocab.COSTS, *given]))
    for index, code in enumerate(codes):
        cost = given.get(code, {})
        name = f"cost-{index}"
        values[f"{name}-option"] = code
        values[f"{name}-on"] = "on" if code in given else ""
        values[f"{name}-amount"] = _text(cost.get("amount"))
        values[f"{name}-currency"] = _text(cost.get("currency"))
        values[f"{name}-details"] = _text(cost.get("amount_description") or cost.get("description"))
    values["cost-count"] = str(len(codes))
    return values


def site_values(name: str, site: Mapping[str, Any]) -> dict[str, str]:
    """The fields of one site (``site-0``); a blank site for ``{}``."""
    values = {f"{name}-{field}": _text(site.get(field)) for field in SITE_FIELDS}
    values[f"{name}-location_type"] = values[f"{name}-location_type"] or "physical"
    values[f"{name}-coordinates_approximate"] = _text(site.get("coordinates_approximate"))
    address = site.get("address") or {}
    values.update({f"{name}-{field}": _text(address.get(field)) for field in ADDRESS_FIELDS})
    values[f"{name}-country"] = values[f"{name}-country"] or "US"
    values[f"{name}-address_type"] = values[f"{name}-address_type"] or "physical"
    values.update(_access_values(f"{name}-access", site.get("accessibility") or []))
    values.update(_rows(f"{name}-phone", site.get("phones") or [], _phone_values))
    values.update(hours_values(f"{name}-hours", site.get("schedules") or []))
    return values


def _access_values(prefix: str, items: list[Mapping[str, Any]]) -> dict[str, str]:
    given = {item["code"]: item for item in items}
    codes = list(dict.fromkeys([*vocabularies.accessibility_codes(), *given]))
    values = {f"{prefix}-count": str(len(codes))}
    for index, code in enumerate(codes):
        item = given.get(code, {})
        values[f"{prefix}-{index}-code"] = code
        values[f"{prefix}-{index}-on"] = "on" if code in given else ""
        values[f"{prefix}-{index}-details"] = _text(item.get("details"))
        values[f"{prefix}-{index}-url"] = _text(item.get("url"))
    return values


# ---- form -> document ------------------------------------------------------------------------

Path = tuple[str | int, ...]
Where = dict[Path, str]


def form_document(form: Mapping[str, str]) -> tuple[Document, dict[str, str], Where]:
    """The document the posted fields say (not validated); problems found in reading the
    fields, by field name; and which form row each list item came from (for errors)."""
    errors: dict[str, str] = {}
    where: Where = {}
    doc: Document = {name: _value(form, name) for name in SCALARS}
    doc["curation_status"] = _value(form, "curation_status") or "draft"
    doc["organization"] = {name: _value(form, f"org-{name}") for name in ORG_FIELDS}
    doc["needs"] = sorted(k[5:] for k, v in form.items() if k.startswith("need-") and v)
    doc["phones"] = _read_rows(form, "phone", ("phones",), where, _phone)
    doc["languages"] = _read_rows(form, "lang", ("languages",), where, _language)
    doc["service_areas"] = _read_rows(form, "area", ("service_areas",), where, _area)
    doc["cost_options"] = _costs(form)
    doc["schedules"] = hours_schedules("hours", form, errors)
    site = lambda f, name, at: _site(f, name, at, where, errors)  # noqa: E731
    doc["locations"] = _read_rows(form, "site", ("locations",), where, site)
    return doc, errors, where


def _value(form: Mapping[str, str], name: str) -> str | None:
    return form.get(name, "").strip() or None


def _read_rows(
    form: Mapping[str, str],
    prefix: str,
    path: Path,
    where: Where,
    read: Callable[[Mapping[str, str], str, Path], dict[str, Any]],
) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    for index in range(count(form, prefix)):
        at = (*path, len(items))
        where[at] = f"{prefix}-{index}"
        item = read(form, f"{prefix}-{index}", at)
        if item:
            items.append(item)
    return items


def _phone(form: Mapping[str, str], name: str, _at: Path = ()) -> dict[str, Any]:
    phone = {field: _value(form, f"{name}-{field}") for field in PHONE_FIELDS}
    if not (phone["number"] or phone["extension"] or phone["description"]):
        return {}
    return {**phone, "country": phone["country"] or "US", "type": phone["type"] or "voice"}


def _language(form: Mapping[str, str], name: str, _at: Path = ()) -> dict[str, Any]:
    code, note = _value(form, f"{name}-code"), _value(form, f"{name}-note")
    return {"code": code, "note": note} if code or note else {}


def _area(form: Mapping[str, str], name: str, _at: Path = ()) -> dict[str, Any]:
    text = form.get(f"{name}-regions", "").replace(",", " ")
    area = {
        "name": _value(form, f"{name}-name"),
        "description": _value(form, f"{name}-description"),
        "regions": text.split(),
    }
    return area if any(area.values()) else {}


def _costs(form: Mapping[str, str]) -> list[dict[str, Any]]:
    costs = []
    for index in range(count(form, "cost")):
        name = f"cost-{index}"
        if form.get(f"{name}-on") and _value(form, f"{name}-option"):
            costs.append(
                {
                    "option": _value(form, f"{name}-option"),
                    "amount": _value(form, f"{name}-amount"),
                    "currency": _value(form, f"{name}-currency"),
                    "amount_description": _value(form, f"{name}-details"),
                }
            )
    return costs


def _site(
    form: Mapping[str, str], name: str, path: Path, where: Where, errors: dict[str, str]
) -> Document:
    site: Document = {field: _value(form, f"{name}-{field}") for field in SITE_FIELDS}
    site["location_type"] = site["location_type"] or "physical"
    site["coordinates_approximate"] = bool(form.get(f"{name}-coordinates_approximate"))
    address = {field: _value(form, f"{name}-{field}") for field in ADDRESS_FIELDS}
    defaulted = ("country", "address_type")
    filled = any(value for field, value in address.items() if field not in defaulted)
    address["country"] = address["country"] or "US"
    address["address_type"] = address["address_type"] or "physical"
    site["address"] = address if filled else None
    site["accessibility"] = _access(form, f"{name}-access")
    site["phones"] = _read_rows(form, f"{name}-phone", (*path, "phones"), where, _phone)
    site["schedules"] = hours_schedules(f"{name}-hours", form, errors)
    own = ("name", "description", "transportation", "latitude", "longitude")
    lists = site["accessibility"] or site["phones"] or site["schedules"]
    return site if filled or lists or any(site[field] for field in own) else {}


def _access(form: Mapping[str, str], prefix: str) -> list[dict[str, Any]]:
    found = []
    for index in range(count(form, prefix)):
        name = f"{prefix}-{index}"
        if form.get(f"{name}-on") and _value(form, f"{name}-code"):
            found.append(
                {
                    "code": _value(form, f"{name}-code"),
                    "details": _value(form, f"{name}-details"),
                    "url": _value(form, f"{name}-url"),
                }
            )
    return found
