"""The postgres backend's search statement, composed with SQLAlchemy Core once per shape.

A search's shape is what its statement is made of: which filters it has, whether it is near a
place, how many groups of words weigh in its relevance and whether each names a need. The
statement of a shape is composed once and kept (``statement``); a search passes its values
(words, codes, place, page) as parameters. Composing it anew for each search cost more Python
time than PostgreSQL took to run it.

The statement: ``found`` is every matching document, with its tsvector read once (the relevance
tests that copy: each test of the stored column fetched it from TOAST again); ``matched`` adds
its relevance; ``best`` is each service's one result; then one page of those in order, the count
and the facets of the whole match set, in one row. Only the page's results read what they
show (``search_result``), and whether each is open now. What the relevance and the order mean
is in :mod:`directory.search.postgres`.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass
from functools import lru_cache, reduce
from typing import Any

from geoalchemy2 import Geography
from sqlalchemy import (
    BindParameter,
    ColumnElement,
    DateTime,
    Float,
    Integer,
    ScalarSelect,
    Select,
    Subquery,
    Text,
    all_,
    and_,
    bindparam,
    case,
    cast,
    false,
    func,
    literal,
    literal_column,
    null,
    or_,
    select,
    type_coerce,
)
from sqlalchemy.dialects.postgresql import (
    ARRAY,
    TSQUERY,
    TSVECTOR,
    aggregate_order_by,
    distinct_on,
)
from sqlalchemy.sql.visitors import replacement_traverse

from directory.search.models import SearchDocument, SearchResult

D = SearchDocument.__table__.alias("d")  # the documents searched
LISTED = SearchDocument.__table__.alias("listed")  # the page's documents, for their hours
SHOWN = SearchResult.__table__.alias("shown")  # and what they show
TEXTS = ARRAY(Text)
GEOGRAPHY = Geography("POINT", srid=4326)
FILTERS = ("needs", "languages", "accessibility", "costs")
EVERY = ("languages", "accessibility")  # a document must have every code asked; else any

DISTANCE_WEIGHT = 0.25  # near a place, relevance loses up to this share with distance
REMOTE_WEIGHT = 0.5  # and a service that only serves the area (telehealth, lines) this share
# Where a word matched, best first: needs and their keywords, name, description, place.
FIELD_WEIGHTS = (("B", 1.0), ("A", 0.9), ("C", 0.6), ("D", 0.5))
NEED_WEIGHT = 1.0  # a word naming a need the listing has counts as a match in its needs
BROADER_WEIGHT = 0.5  # a listing with a need above the one named ("mental health": depression)


@dataclass(frozen=True)
class Group:
    """One group of words in the relevance: whether it names needs (``n{k}``), and whether
    those have needs above them (``b{k}``). Its tsqueries: ``t{k}``, ``t{k}B``, ... by field."""

    named: bool
    above: bool


@dataclass(frozen=True)
class Shape:
    groups: tuple[Group, ...] = ()  # the groups of words that weigh in the relevance
    words: bool = False  # documents must match the words (``words``) or the needs they name
    named: bool = False  # ... the needs the words name (``named``)
    nothing: bool = False  # the words can match nothing
    filters: tuple[str, ...] = ()  # of FILTERS, each its codes as a parameter of its name
    age: bool = False
    mode: str = "any"
    open_now: bool | None = None
    accepting: bool = False
    place: bool = False  # ``lng``, ``lat``, ``radius_m``, ``regions``
    sort: str = "relevance"


@lru_cache(maxsize=512)
def statement(shape: Shape) -> Select[Any]:
    """The search statement of a shape; its parameters: those the shape names, plus ``now``,
    ``limit``, ``offset`` (and ``not_taking`` with ``accepting``)."""
    matched = _matched(shape)
    best = (
        select(matched)
        .ext(distinct_on(matched.c.service_id))
        .order_by(matched.c.service_id, *_pick(matched.c, shape.place))
        .cte("best")
        .prefix_with("MATERIALIZED")
    )
    order = _order(best.c, shape)
    page = (
        select(best.c.id, best.c.kind, best.c.last_verified_at, best.c.rank, best.c.distance_m)
        .add_columns(func.row_number().over(order_by=order).label("position"))
        .order_by(*order)
        .limit(bindparam("limit", type_=Integer))
        .offset(bindparam("offset", type_=Integer))
        .subquery("page")
    )
    return select(
        select(func.count()).select_from(best).scalar_subquery().label("total"),
        _items(page).label("items"),
        *(_facet(best.c[name]).label(name) for name in ("needs", "languages", "accessibility")),
    )


def word_condition(shape: Shape) -> ColumnElement[bool] | None:
    """The condition the words of a shape put on a document (None: none)."""
    if shape.nothing:
        return false()
    conditions = []
    if shape.words:
        conditions.append(_matches("words"))
    if shape.named:
        conditions.append(_column("needs", shape.place).overlap(_param("named", TEXTS)))
    return or_(*conditions) if conditions else None


def _matched(shape: Shape) -> Subquery:
    """The matching documents with their relevance and distance."""
    origin = cast(func.ST_SetSRID(func.ST_MakePoint(_param("lng"), _param("lat")), 4326), GEOGRAPHY)
    distance = func.ST_Distance(D.c.point, origin) if shape.place else cast(null(), Float)
    copy = D.c.tsv.op("||")(cast(literal(""), TSVECTOR))
    found = (
        select(
            D.c.id,
            D.c.service_id,
            D.c.kind,
            D.c.needs,
            D.c.languages,
            D.c.accessibility,
            D.c.last_verified_at,
            type_coerce(distance, Float).label("distance_m"),
            *([copy.label("tsv")] if shape.groups else []),
        )
        .where(*_conditions(shape, origin))
        .cte("found")
        .prefix_with("MATERIALIZED")
    )

    def swap(element: Any, **_: Any) -> Any:  # D's columns -> found's
        return found.c[element.key] if getattr(element, "table", None) is D else None

    relevance: Any = replacement_traverse(_rank(shape), {}, swap)
    columns = [c for c in found.c if c.key != "tsv"]
    return select(*columns, relevance.label("rank")).subquery("matched")


def _conditions(shape: Shape, origin: ColumnElement[Any]) -> list[ColumnElement[bool]]:
    where = [] if (words := word_condition(shape)) is None else [words]
    for name in shape.filters:
        wanted, column = _param(name, TEXTS), _column(name, shape.place)
        where.append(column.contains(wanted) if name in EVERY else column.overlap(wanted))
    if shape.age:
        where.append(func.coalesce(D.c.minimum_age, 0) <= _param("age", Integer))
        where.append(func.coalesce(D.c.maximum_age, 200) >= _param("age", Integer))
    if shape.mode != "any":
        where.append(D.c.kind == ("site" if shape.mode == "in_person" else "area"))
    if shape.open_now is not None:
        is_open = _open_now(D)
        where.append(
            func.coalesce(is_open, False) if shape.open_now else ~func.coalesce(is_open, True)
        )
    if shape.accepting:  # a listing without a status stays: nobody has asked yet
        status = func.coalesce(D.c.capacity_status, "")
        where.append(status != all_(_param("not_taking", TEXTS)))
    if shape.place:
        near = func.ST_DWithin(D.c.point, origin, _param("radius_m"))
        serves = D.c.regions.overlap(_param("regions", TEXTS))
        where.append(or_(and_(D.c.kind == "site", near), and_(D.c.kind == "area", serves)))
    return where


def _column(name: str, place: bool) -> Any:
    # Near a place, the GiST index finds the few candidates and array conditions filter them:
    # left an indexable array, the planner ANDs a need's whole GIN posting list (a third of the
    # index) with the place, measured 10x slower. coalesce() keeps it off the index.
    column = D.c[name]
    return type_coerce(func.coalesce(column, literal([], TEXTS)), TEXTS) if place else column


def _rank(shape: Shape) -> ColumnElement[float]:
    """Relevance (0..1): each group's match, weighed by its ``w{k}``, over ``weights``."""
    if not shape.groups:
        return literal(0.0, Float)
    parts = [_param(f"w{k}") * _group_rank(k, group) for k, group in enumerate(shape.groups)]
    return type_coerce(reduce(operator.add, parts) / _param("weights"), Float)


def _group_rank(k: int, group: Group) -> ColumnElement[float]:
    """How well a document answers one group of words (0..1): where it matched best."""
    whens: list[tuple[ColumnElement[bool], float]] = []
    if group.named:
        whens.append((D.c.needs.overlap(_param(f"n{k}", TEXTS)), NEED_WEIGHT))
    outside = ~_matches(f"t{k}")
    if group.above:  # a general service answers a narrower need, below the services for it
        broader = D.c.needs.overlap(_param(f"b{k}", TEXTS))
        whens.append((and_(outside, broader), BROADER_WEIGHT))
    whens.append((outside, 0.0))
    for letter, field_weight in FIELD_WEIGHTS[:-1]:
        whens.append((_matches(f"t{k}{letter}"), field_weight))
    last = FIELD_WEIGHTS[-1][1]
    if group.above:
        whens.append((D.c.needs.overlap(_param(f"b{k}", TEXTS)), max(BROADER_WEIGHT, last)))
    return case(*((w, literal(v, Float)) for w, v in whens), else_=literal(last, Float))


def _matches(name: str) -> ColumnElement[bool]:
    matches: ColumnElement[bool] = D.c.tsv.bool_op("@@")(cast(_param(name, Text), TSQUERY))
    return matches


def _open_now(documents: Any) -> ColumnElement[bool]:
    now = func.week_minute(_param("now", DateTime(timezone=True)), documents.c.timezone)
    is_open: ColumnElement[bool] = documents.c.open_minutes.bool_op("@>")(now)
    return is_open


def _param(name: str, type_: Any = Float) -> BindParameter[Any]:
    return bindparam(name, type_=type_)


def _items(page: Subquery) -> ScalarSelect[Any]:
    """The page's results in order, as one JSON array."""
    item = func.json_build_object(
        *("kind", page.c.kind, "body", SHOWN.c.body, "distance_m", page.c.distance_m),
        *("last_verified_at", page.c.last_verified_at, "open_now", _open_now(LISTED)),
    )
    listed = func.json_agg(aggregate_order_by(item, page.c.position))
    return (
        select(func.coalesce(listed, func.json_build_array()))
        .select_from(
            page.join(SHOWN, SHOWN.c.id == page.c.id).join(LISTED, LISTED.c.id == page.c.id)
        )
        .scalar_subquery()
    )


def _facet(codes: Any) -> ScalarSelect[Any]:
    """How many of the matched services have each code of an array column."""
    code = func.unnest(codes).label("code")
    counted = select(code, func.count().label("n")).group_by(literal_column("1")).subquery()
    counts = func.json_object_agg(counted.c.code, counted.c.n)
    return select(func.coalesce(counts, func.json_build_object())).scalar_subquery()


def _pick(c: Any, place: bool) -> list[ColumnElement[Any]]:
    """Which of a service's matching documents is its result: near a place its nearest site in
    range, else its area document; without a place, the most relevant."""
    if not place:
        return [c.rank.desc(), c.kind == "area", c.id]
    return [c.kind == "area", c.distance_m.asc().nulls_last(), c.rank.desc(), c.id]


def _order(c: Any, shape: Shape) -> list[ColumnElement[Any]]:
    if shape.sort == "distance":
        return [c.distance_m.asc().nulls_last(), c.rank.desc(), c.id]
    if not shape.place:
        return [c.rank.desc(), c.last_verified_at.desc().nulls_last(), c.id]
    # Relevance, less up to DISTANCE_WEIGHT of it at the edge of the radius, less REMOTE_WEIGHT
    # for a service that only serves the area: a closer service wins a near-tie, a better
    # match wins over a closer one, and one to go to over one reached remotely alike.
    share = case(
        (c.distance_m.is_(None), literal(1 - REMOTE_WEIGHT, Float)),
        else_=1
        - literal(DISTANCE_WEIGHT, Float) * func.least(c.distance_m / _param("radius_m"), 1),
    )
    return [
        (c.rank * share).desc(),
        c.distance_m.asc().nulls_last(),
        c.last_verified_at.desc().nulls_last(),
        c.id,
    ]
