"""``directory seed``: needs taxonomy, national crisis lines and demo region, idempotently."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from directory.errors import InvalidInput
from directory.listings.models import Taxonomy, TaxonomyTerm
from directory.listings.schemas import ServiceCreate
from directory.listings.service import Origin, stable_id, upsert_listing
from directory.listings.taxonomy import NEEDS_TAXONOMY

CRISIS_LINES = "crisis_lines.yaml"
DEMO_REGION = "demo_region.yaml"


def seed_all(session: Session, seed_dir: Path, *, demo: bool = True) -> dict[str, Counter[str]]:
    """Load the seed files; returns counts of created / updated / unchanged per file."""
    report = {"needs.yaml": seed_needs(session, seed_dir / "needs.yaml")}
    for name in (CRISIS_LINES, DEMO_REGION) if demo else (CRISIS_LINES,):
        report[name] = seed_listings(session, seed_dir / name)
    return report


def seed_needs(session: Session, path: Path) -> Counter[str]:
    """Create or update the needs taxonomy from its YAML file."""
    data = yaml.safe_load(path.read_text())
    counts: Counter[str] = Counter()
    taxonomy_id = stable_id("taxonomy", NEEDS_TAXONOMY)
    if session.get(Taxonomy, taxonomy_id) is None:
        session.add(Taxonomy(id=taxonomy_id, name=NEEDS_TAXONOMY, description=data["description"]))
        session.flush()
    position = 0

    def walk(items: list[dict[str, Any]], parent: TaxonomyTerm | None) -> None:
        nonlocal position
        for item in items:
            position += 1
            term_id = stable_id("need", item["code"])
            values = {
                "code": item["code"],
                "name": item["name"],
                "position": position,
                "description": item.get("description"),
                "parent_id": parent.id if parent else None,
            }
            term = session.get(TaxonomyTerm, term_id)
            if term is None:
                term = TaxonomyTerm(id=term_id, taxonomy_id=taxonomy_id, **values)
                session.add(term)
                counts["created"] += 1
            elif any(getattr(term, k) != v for k, v in values.items()):
                for key, value in values.items():
                    setattr(term, key, value)
                counts["updated"] += 1
            else:
                counts["unchanged"] += 1
            session.flush()
            walk(item.get("children", []), term)

    walk(data["needs"], None)
    session.info.pop("need_ids", None)  # the per-session cache of resolve_needs
    return counts


def seed_listings(session: Session, path: Path) -> Counter[str]:
    """Upsert every listing of a seed file, keyed by ``(source, external_id)``."""
    data = yaml.safe_load(path.read_text())
    source, counts = data["source"], Counter[str]()
    seen: set[str] = set()
    for index, raw in enumerate(data["services"]):
        item = dict(raw)
        external_id = item.pop("external_id")
        if external_id in seen:
            raise InvalidInput(f"{path.name}: external_id {external_id!r} appears twice")
        seen.add(external_id)
        checked_on = item.pop("checked_on", data.get("checked_on"))
        item["provenance"] = {
            "source": source,
            "external_id": external_id,
            "source_url": item.pop("source_url", None),
        }
        try:
            doc = ServiceCreate.model_validate(item)
        except ValidationError as error:
            raise InvalidInput(f"{path.name}: services[{index}] ({external_id}): {error}") from None
        verified_at = (
            dt.datetime.combine(_date(checked_on), dt.time(), dt.UTC) if checked_on else None
        )
        verified = (verified_at, f"{source} curators") if verified_at else None
        outcome, _ = upsert_listing(session, doc, origin=Origin(verified=verified))
        counts[outcome] += 1
    return counts


def _date(value: object) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))


def needs_loaded(session: Session) -> bool:
    """Whether the needs taxonomy is present."""
    return session.scalar(select(Taxonomy.id).where(Taxonomy.name == NEEDS_TAXONOMY)) is not None
