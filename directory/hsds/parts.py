"""The selects of a listing's parts as HSDS tables (phones, contacts, addresses, schedules,
service areas, languages, accessibility, cost options, attributes), for ``tables``.

A part's HSDS id is derived from what it belongs to and what it says (an MD5 of kind, parent id
and content, as a UUID), not our row's id: we replace a listing's rows whenever a list of it is
edited, and so would give an unchanged phone a new id each time, where this id stays as long as
the phone does; and an export imported elsewhere (ours included) and exported again gives every
part the same id. Two equal parts of one parent are told apart by their order.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    ColumnElement,
    Integer,
    String,
    and_,
    case,
    cast,
    exists,
    func,
    literal,
    null,
    or_,
    select,
    union_all,
)
from sqlalchemy.dialects.postgresql import UUID

from directory.hsds.columns import REGION_URN
from directory.listings.models import (
    Accessibility,
    Address,
    Attribute,
    Contact,
    CostOption,
    CrisisChannel,
    Language,
    Phone,
    Schedule,
    ServiceArea,
)

Rows = Any  # a Select (typed in ``tables``)
SEPARATOR = "\x1f"


def derived_id(kind: str, parent: Any, *content: Any, order: Any) -> ColumnElement[Any]:
    """The part's id: from its kind, its parent's id and its content (then its rank)."""
    parts = [func.coalesce(cast(value, String), "") for value in content]
    key = func.concat_ws(SEPARATOR, literal(kind), cast(parent, String), *parts)
    rank = func.row_number().over(partition_by=key, order_by=order)
    return cast(func.md5(func.concat(key, SEPARATOR, rank)), UUID).label("id")


def _number(number: Any, e164: Any, extension: Any) -> tuple[Any, Any]:
    """HSDS number and extension: E.164 else as printed; a non-numeric extension after it."""
    numeric = extension.op("~")("^[1-9][0-9]{0,8}$")
    base = func.coalesce(e164, number)
    written = case((or_(extension.is_(None), numeric), base), else_=base + " ext. " + extension)
    whole = case((numeric, cast(extension, Integer)), else_=None)
    return written.label("number"), whole.label("extension")


def _phone_id(parent: Any, *content: Any, order: Any) -> Any:
    """From the number as dialled, its extension, its type and its description."""
    return derived_id("phone", parent, *content, order=order)


def phones(ids: Any, place: Any) -> Rows:
    """Phones of services and locations, crisis lines' call and text channels (a channel a
    phone of the service already gives is left out) and contacts' phones."""
    p = Phone
    parent, dialled = func.coalesce(p.service_id, p.location_id), func.coalesce(p.e164, p.number)
    own = select(
        _phone_id(parent, dialled, p.extension, p.type, p.description, order=p.position),
        p.location_id,
        p.service_id,
        cast(null(), UUID).label("contact_id"),
        *_number(p.number, p.e164, p.extension),
        p.type,
        p.description,
    ).where(or_(p.service_id.in_(ids), p.location_id.in_(place)))
    return select(union_all(own, _crisis_phones(ids), _contact_phones(ids)).subquery())


def _crisis_phones(ids: Any) -> Rows:
    c = CrisisChannel
    kind = case((c.channel == "text", "text"), else_="voice")
    dialled = func.coalesce(c.e164, c.number)
    keyword = func.concat("Keyword: ", c.keyword, ". ")
    same = exists().where(
        Phone.service_id == c.service_id,
        func.coalesce(Phone.e164, Phone.number) == dialled,
        Phone.extension.is_(None),
        Phone.type == kind,
    )
    description = func.nullif(
        func.concat(case((c.keyword.is_not(None), keyword), else_=""), c.description), ""
    )
    return select(
        _phone_id(c.service_id, dialled, None, kind, description, order=c.position),
        cast(null(), UUID),
        c.service_id,
        cast(null(), UUID),
        *_number(c.number, c.e164, literal(None, String)),
        kind,
        description,
    ).where(c.service_id.in_(ids), c.channel.in_(("call", "text")), c.tel_uri.is_not(None), ~same)


def _contact_rows(ids: Any) -> Any:
    c = Contact
    return select(
        derived_id(
            "contact", c.service_id, c.name, c.title, c.department, c.email, order=c.position
        ),
        c.service_id,
        c.name,
        c.title,
        c.department,
        c.email,
        c.phones,
    ).where(c.service_id.in_(ids))


def contacts(ids: Any, place: Any) -> Rows:
    found = _contact_rows(ids).subquery()
    columns = ("id", "service_id", "name", "title", "department", "email")
    return select(*(found.c[k] for k in columns))


def _contact_phones(ids: Any) -> Rows:
    found = _contact_rows(ids).subquery()
    item = (
        func.jsonb_array_elements(found.c.phones)
        .table_valued("value", with_ordinality="n")
        .render_derived()
    )
    text = item.c.value.op("->>")
    dialled, extension = func.coalesce(text("e164"), text("number")), text("extension")
    kind = func.coalesce(text("type"), "voice")
    return (
        select(
            _phone_id(
                found.c.id,
                dialled,
                func.nullif(extension, ""),
                kind,
                text("description"),
                order=item.c.n,
            ),
            cast(null(), UUID),
            cast(null(), UUID),
            found.c.id,
            *_number(text("number"), text("e164"), func.nullif(extension, "")),
            kind,
            text("description"),
        )
        .select_from(found)
        .join(item, literal(True))
        .where(func.jsonb_typeof(found.c.phones) == "array")
    )


def addresses(ids: Any, place: Any) -> Rows:
    a = Address
    required = ("address_1", "city", "state_province", "postal_code", "country")
    fields = [func.coalesce(getattr(a, f), "").label(f) for f in required]
    return select(
        derived_id("address", a.location_id, a.address_type, order=a.id),
        a.location_id,
        a.attention,
        a.address_2,
        a.region,
        a.address_type,
        *fields,
    ).where(a.location_id.in_(place))


def schedules(ids: Any, place: Any) -> Rows:
    s = Schedule
    own = ("id", "service_id", "location_id", "position")
    content = [c for c in Schedule.__table__.columns if c.name not in own]
    parent = func.coalesce(s.service_id, s.location_id)
    return select(
        derived_id("schedule", parent, *content, order=s.position),
        s.service_id,
        s.location_id,
        *content,
    ).where(or_(s.service_id.in_(ids), s.location_id.in_(place)))


def service_areas(ids: Any, place: Any) -> Rows:
    a = ServiceArea
    codes = func.array_to_string(a.regions, " ")
    regions = func.regexp_replace(codes, r"(\S+)", REGION_URN + r"\1", "g")
    return select(
        derived_id("service_area", a.service_id, a.name, codes, order=a.position),
        a.service_id,
        a.name,
        a.description,
        func.ST_AsGeoJSON(a.extent).label("extent"),
        case((a.extent.is_not(None), "geojson"), else_=None).label("extent_type"),
        func.nullif(regions, "").label("uri"),
    ).where(a.service_id.in_(ids))


def languages(ids: Any, place: Any) -> Rows:
    lg = Language
    parent = func.coalesce(lg.service_id, lg.location_id)
    return select(
        derived_id("language", parent, lg.code, order=lg.position),
        lg.service_id,
        lg.location_id,
        lg.name,
        lg.code,
        lg.note,
    ).where(or_(lg.service_id.in_(ids), lg.location_id.in_(place)))


def accessibility(ids: Any, place: Any) -> Rows:
    a = Accessibility
    return select(
        derived_id("accessibility", a.location_id, a.code, order=a.position),
        a.location_id,
        a.code.label("description"),
        a.details,
        a.url,
    ).where(a.location_id.in_(place))


def cost_options(ids: Any, place: Any) -> Rows:
    c = CostOption
    content = (c.option, c.amount, c.currency, c.amount_description, c.valid_from, c.valid_to)
    return select(
        derived_id("cost_option", c.service_id, *content, order=c.position),
        c.service_id,
        *content,
    ).where(c.service_id.in_(ids))


def attributes(ids: Any, place: Any) -> Rows:
    """Needs: a service's links to terms of our needs taxonomy."""
    a = Attribute
    return select(
        derived_id("attribute", a.link_id, a.taxonomy_term_id, order=a.id),
        a.link_id,
        a.taxonomy_term_id,
        a.link_type,
        a.link_entity,
        a.value,
    ).where(and_(a.link_entity == "service", a.link_id.in_(ids)))
