"""`directory seed`: the taxonomy, crisis lines and demo region, idempotent."""

from __future__ import annotations

from collections import Counter

import yaml
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from directory.listings.demo import DEMO_SOURCE, remove_demo
from directory.listings.models import CrisisChannel, Provenance, Service
from directory.listings.seed import DEMO_REGION, seed_all
from tests.conftest import SEED_DIR

TABLES = (
    "organization",
    "service",
    "location",
    "service_at_location",
    "address",
    "phone",
    "schedule",
    "language",
    "accessibility",
    "service_area",
    "cost_option",
    "taxonomy_term",
    "attribute",
    "crisis_channel",
    "provenance",
)


def snapshot(session: Session) -> dict[str, list[tuple[object, ...]]]:
    return {
        t: sorted(tuple(r) for r in session.execute(text(f"SELECT id FROM {t}"))) for t in TABLES
    }


def test_a_second_seed_changes_nothing(session: Session) -> None:
    before = snapshot(session)
    versions = dict(session.execute(select(Service.id, Service.version)).all())
    report = seed_all(session, SEED_DIR)
    assert all(set(counts) == {"unchanged"} for counts in report.values()), report
    assert snapshot(session) == before
    assert dict(session.execute(select(Service.id, Service.version)).all()) == versions


def test_an_edited_seed_updates_in_place(session: Session, tmp_path: object) -> None:
    import shutil
    from pathlib import Path

    folder = Path(str(tmp_path))
    for name in ("needs.yaml", "crisis_lines.yaml", "demo_region.yaml"):
        shutil.copy(SEED_DIR / name, folder / name)
    edited = (
        (folder / "crisis_lines.yaml")
        .read_text()
        .replace("name: 988 Suicide & Crisis Lifeline", "name: 988 Lifeline (renamed)", 1)
    )
    (folder / "crisis_lines.yaml").write_text(edited)
    lifeline = session.scalars(
        select(Service).where(Service.name == "988 Suicide & Crisis Lifeline")
    ).one()
    report = seed_all(session, folder)
    assert report["crisis_lines.yaml"]["updated"] == 1
    session.refresh(lifeline)
    assert (lifeline.name, lifeline.version > 1) == ("988 Lifeline (renamed)", True)


def test_crisis_lines_are_curated_and_dialable(session: Session) -> None:
    lines = session.scalars(select(Provenance).where(Provenance.source == "seed:crisis-lines"))
    provenance = list(lines)
    assert len(provenance) >= 12
    assert all(p.source_url and p.source_url.startswith("https://") for p in provenance)
    channels = session.scalars(select(CrisisChannel)).all()
    assert all(c.tel_uri.startswith("tel:") for c in channels if c.channel != "chat")
    by_number = {(c.channel, c.tel_uri) for c in channels}
    for expected in [
        ("call", "tel:988"),
        ("text", "tel:988"),
        ("text", "tel:838255"),
        ("text", "tel:741741"),
        ("call", "tel:116123"),
        ("call", "tel:131114"),
    ]:
        assert expected in by_number
    countries = set(
        session.scalars(
            text(
                "SELECT DISTINCT unnest(regions) FROM service_area sa JOIN provenance p "
                "ON p.service_id = sa.service_id WHERE p.source = 'seed:crisis-lines'"
            )
        )
    )
    assert {"US", "CA", "GB", "IE", "AU"} <= countries


def test_demo_region_is_big_enough_and_marked(session: Session) -> None:
    demo = session.scalars(
        select(Service).join(Provenance).where(Provenance.source == DEMO_SOURCE)
    ).all()
    assert 40 <= len(demo) <= 60
    assert all(s.name.endswith("(demo)") for s in demo)
    assert all((s.description or "").startswith("DEMO LISTING") for s in demo)
    located = session.scalar(
        text(
            "SELECT count(*) FROM location l "
            "JOIN service_at_location sal ON sal.location_id = l.id "
            "JOIN provenance p ON p.service_id = sal.service_id WHERE p.source = :demo "
            "AND ST_DWithin(l.point, ST_MakePoint(-82.55, 27.9)::geography, 60000)"
        ),
        {"demo": DEMO_SOURCE},
    )
    assert located is not None and located >= 40
    statuses = Counter(s.curation_status for s in demo)
    assert statuses["published"] == len(demo)
    assert session.scalar(select(func.count()).select_from(Service)) >= 57
    assert yaml.safe_load((SEED_DIR / DEMO_REGION).read_text())["source"] == DEMO_SOURCE


def test_seeding_without_the_demo_region_leaves_it_out(session: Session) -> None:
    assert remove_demo(session) == 50
    report = seed_all(session, SEED_DIR, demo=False)
    assert set(report) == {"needs.yaml", "crisis_lines.yaml"}
    assert session.scalars(select(Provenance).where(Provenance.source == DEMO_SOURCE)).all() == []


def test_reseeding_keeps_curation_and_updates_the_organization(
    session: Session, tmp_path: object
) -> None:
    import shutil
    from pathlib import Path

    from directory.listings.curating import archive_service

    lifeline = session.scalars(
        select(Service).where(Service.name == "988 Suicide & Crisis Lifeline")
    ).one()
    assert lifeline.version == 1  # seeding writes each listing once
    archive_service(session, lifeline.id, expected_version=None)
    folder = Path(str(tmp_path))
    for name in ("needs.yaml", "crisis_lines.yaml", "demo_region.yaml"):
        shutil.copy(SEED_DIR / name, folder / name)
    text_ = (folder / "crisis_lines.yaml").read_text()
    text_ = text_.replace("name: Vibrant Emotional Health", "name: Vibrant (renamed)", 1)
    (folder / "crisis_lines.yaml").write_text(
        text_.replace("988 Suicide & Crisis Lifeline", "988 Lifeline", 1)
    )
    seed_all(session, folder)
    session.expire_all()
    from directory.listings.queries import load_service

    reloaded = load_service(session, lifeline.id)
    assert reloaded.curation_status == "archived"
    assert reloaded.organization.name == "Vibrant (renamed)"
