"""The needs taxonomy: a small hierarchy of canonical codes, stored as HSDS taxonomy terms."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

from sqlalchemy import ColumnElement, any_, func, select
from sqlalchemy.orm import Session

from directory.errors import InvalidInput
from directory.listings.models import Taxonomy, TaxonomyTerm
from directory.listings.read_schemas import NeedRead

NEEDS_TAXONOMY = "directory-needs"


def needs_taxonomy_id(session: Session) -> uuid.UUID:
    """The id of the needs taxonomy (present once ``directory seed`` has run)."""
    found = session.scalar(select(Taxonomy.id).where(Taxonomy.name == NEEDS_TAXONOMY))
    if found is None:
        raise InvalidInput("the needs taxonomy is not loaded: run `directory seed`", field="needs")
    return found


def _terms(session: Session) -> list[TaxonomyTerm]:
    query = (
        select(TaxonomyTerm)
        .join(Taxonomy)
        .where(Taxonomy.name == NEEDS_TAXONOMY)
        .order_by(TaxonomyTerm.position, TaxonomyTerm.code)
    )
    return list(session.scalars(query))


def resolve_needs(
    session: Session, codes: Iterable[str], *, field: str = "needs"
) -> dict[str, uuid.UUID]:
    """Map need codes to term ids; an unknown code is a 422 naming the field."""
    wanted = list(dict.fromkeys(codes))
    if not wanted:
        return {}
    found = _need_ids(session)
    unknown = [code for code in wanted if code not in found]
    if unknown:
        raise InvalidInput(
            f"unknown need code(s): {', '.join(unknown)}; see GET /v1/needs", field=field
        )
    return {code: found[code] for code in wanted}


def all_known(codes: ColumnElement[Any]) -> ColumnElement[bool]:
    """SQL that is true when every code of an array (without repeats) is a need: a write
    checks its codes in its own statement (``resolve_needs`` then says which is unknown)."""
    known = (
        select(func.count())
        .select_from(TaxonomyTerm)
        .join(Taxonomy)
        .where(Taxonomy.name == NEEDS_TAXONOMY, TaxonomyTerm.code == any_(codes))
        .scalar_subquery()
    )
    return known == func.cardinality(codes)


def _need_rows(session: Session) -> list[Any]:
    """(id, parent_id, code) of every need, read once per session: an import resolves
    thousands of codes, and a search both checks its codes and walks their ancestors."""
    cached: list[Any] | None = session.info.get("need_rows")
    if cached is None:
        cached = list(
            session.execute(
                select(TaxonomyTerm.id, TaxonomyTerm.parent_id, TaxonomyTerm.code)
                .join(Taxonomy)
                .where(Taxonomy.name == NEEDS_TAXONOMY)
            ).all()
        )
        session.info["need_rows"] = cached
    return cached


def _need_ids(session: Session) -> dict[str, uuid.UUID]:
    """Every need code's term id."""
    cached: dict[str, uuid.UUID] | None = session.info.get("need_ids")
    if cached is None:
        cached = session.info["need_ids"] = {row.code: row.id for row in _need_rows(session)}
    return cached


def with_descendants(session: Session, code: str, *, field: str = "need") -> list[uuid.UUID]:
    """A need's term id and the ids of every need below it."""
    root = resolve_needs(session, [code], field=field)[code]
    children: dict[uuid.UUID | None, list[uuid.UUID]] = {}
    for term in _terms(session):
        children.setdefault(term.parent_id, []).append(term.id)
    found, frontier = [root], [root]
    while frontier:
        frontier = [child for parent in frontier for child in children.get(parent, [])]
        found.extend(frontier)
    return found


def need_tree(session: Session) -> list[NeedRead]:
    """The whole taxonomy as a tree, roots first in their curated order."""
    terms = _terms(session)
    nodes = {t.id: NeedRead(code=t.code, name=t.name, description=t.description) for t in terms}
    roots: list[NeedRead] = []
    for term in terms:
        parent = nodes.get(term.parent_id) if term.parent_id else None
        (parent.children if parent else roots).append(nodes[term.id])
    return roots


def need_lineage(session: Session) -> dict[str, tuple[str, ...]]:
    """Each need code with the codes above it (``detox`` -> detox, substance-use)."""
    cached: dict[str, tuple[str, ...]] | None = session.info.get("need_lineage")
    if cached is None:
        rows = _need_rows(session)
        parent = {row.id: row.parent_id for row in rows}
        code = {row.id: row.code for row in rows}
        cached = {}
        for term in rows:
            chain: list[str] = []
            at: uuid.UUID | None = term.id
            while at is not None and at in code and len(chain) < 10:
                chain.append(code[at])
                at = parent[at]
            cached[term.code] = tuple(chain)
        session.info["need_lineage"] = cached
    return cached
