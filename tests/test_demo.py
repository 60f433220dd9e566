"""The demo region: marked wherever it shows, never a crisis line, and removable for good."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, select, text
from sqlalchemy.orm import Session

from directory import migrate
from directory.accounts.models import AuditEntry
from directory.accounts.service import create_user
from directory.db import make_engine, sqlalchemy_url
from directory.errors import Conflict
from directory.listings.demo import DEMO_SOURCE, demo_only_services, remove_demo
from directory.listings.models import Provenance, SearchOutbox, Service
from directory.listings.queries import read_service
from directory.referrals.models import Referral
from directory.referrals.notes import cipher_for
from directory.referrals.schemas import ReferralCreate
from directory.referrals.service import create_referral
from directory.search.meili_documents import meili_document, result
from directory.search.meilisearch import RETRIEVE
from directory.search.sync import documents_of

UNIT = "Adult Crisis Stabilization Unit (demo)"
LIFELINE = "988 Suicide & Crisis Lifeline"


def service_named(session: Session, name: str) -> uuid.UUID:
    return session.scalars(select(Service.id).where(Service.name == name)).one()


def count(session: Session, sql: str, **params: object) -> int:
    return int(session.scalar(text(sql), params) or 0)


# --- marked ------------------------------------------------------------------------------------


def test_a_listing_page_says_demo_and_the_public_crisis_lines_leave_it_out(
    client: TestClient, coordinator: dict[str, str], session: Session
) -> None:
    unit = client.get(f"/v1/services/{service_named(session, UNIT)}", headers=coordinator)
    lifeline = client.get(f"/v1/services/{service_named(session, LIFELINE)}", headers=coordinator)
    assert (unit.status_code, unit.json()["demo"]) == (200, True)
    assert (lifeline.status_code, lifeline.json()["demo"]) == (200, False)
    lines = client.get("/v1/crisis-lines", params={"postcode": "33602"})
    assert lines.status_code == 200, lines.text
    names = [line["name"] for line in lines.json()["lines"]]
    assert names[0] == LIFELINE
    assert [name for name in names if name.endswith("(demo)")] == []


def test_meilisearch_hits_carry_the_mark(session: Session) -> None:
    """What Meilisearch stores and returns (its retrieved attributes) keeps the mark."""
    now = dt.datetime(2026, 11, 24, 15, 0, tzinfo=dt.UTC)
    ids = [service_named(session, UNIT), service_named(session, LIFELINE)]
    for doc in documents_of(session, ids):
        stored = json.loads(json.dumps(meili_document(doc), default=str))
        hit = {key: stored[key] for key in RETRIEVE if key in stored}
        assert result(hit, None, now).demo is (doc.name == UNIT)


# --- removed -----------------------------------------------------------------------------------


def test_removing_the_demo_region_deletes_its_listings_and_nothing_else(session: Session) -> None:
    demo = list(session.scalars(demo_only_services()))
    assert len(demo) == 50
    others = count(session, "SELECT count(*) FROM service") - len(demo)
    demo_organizations = "SELECT count(*) FROM organization WHERE name LIKE '%(demo)'"
    assert count(session, demo_organizations) > 0
    orphans = (
        "SELECT count(*) FROM location l"
        " WHERE NOT EXISTS (SELECT 1 FROM service_at_location s WHERE s.location_id = l.id)"
    )
    before = count(session, orphans)

    assert remove_demo(session) == 50
    assert count(session, "SELECT count(*) FROM service") == others
    assert session.scalars(select(Provenance).where(Provenance.source == DEMO_SOURCE)).all() == []
    for table, column in (("search_document", "service_id"), ("attribute", "link_id")):
        sql = f"SELECT count(*) FROM {table} WHERE {column} = ANY(:ids)"
        assert count(session, sql, ids=demo) == 0, table
    assert count(session, orphans) == before  # their sites went with them
    assert count(session, demo_organizations) == 0
    deletes = select(SearchOutbox.entity_id).where(SearchOutbox.operation == "delete")
    assert set(session.scalars(deletes)) >= set(demo)  # so Meilisearch forgets them too
    assert remove_demo(session) == 0


def test_a_listing_another_source_also_holds_is_kept_and_stays_marked(session: Session) -> None:
    unit = service_named(session, UNIT)
    session.add(Provenance(service_id=unit, source="hsds:county", external_id="csu-1"))
    session.flush()
    assert remove_demo(session) == 49
    assert read_service(session, unit, published_only=True).demo is True


def refer(session: Session, program: str, service_id: uuid.UUID) -> uuid.UUID:
    mentor, _ = create_user(
        session, email=f"m-{uuid.uuid4().hex[:8]}@example.org", role="mentor", program=program
    )
    doc = ReferralCreate.model_validate(
        {
            "mentee_ref": "DM-0001",
            "service_id": service_id,
            "contact_preference": "mentor-will-contact",
            "consent": {
                "scope": "share my need",
                "obtained_at": dt.datetime.now(dt.UTC),
                "method": "verbal",
            },
        }
    )
    row, created = create_referral(session, mentor, doc, cipher=cipher_for(None, "test-secret"))
    assert created
    referral_id: uuid.UUID = row.id
    return referral_id


def test_a_real_programs_referral_to_a_demo_listing_stops_the_removal(session: Session) -> None:
    refer(session, "Harbor Peers", service_named(session, UNIT))
    with pytest.raises(Conflict, match="1 referral\\(s\\) of Harbor Peers point to demo"):
        remove_demo(session)
    assert len(list(session.scalars(demo_only_services()))) == 50


def test_the_demo_programs_referrals_go_with_the_demo_listings(session: Session) -> None:
    referral = refer(session, "Demo program", service_named(session, UNIT))
    assert remove_demo(session) == 50
    assert session.get(Referral, referral) is None
    audit = select(AuditEntry.action).where(AuditEntry.referral_id == referral)
    assert list(session.scalars(audit)) == ["referral.create", "demo.remove"]


# --- the command ---------------------------------------------------------------------------------


def directory(url: str, *args: str, env: str = "development") -> str:
    """Run the `directory` command on a database; its output (it must succeed)."""
    settings = {k: v for k, v in os.environ.items() if not k.startswith("DIRECTORY_")}
    settings |= {"DIRECTORY_DATABASE_URL": url, "DIRECTORY_ENV": env}
    settings |= {"DIRECTORY_SECRET_KEY": "a-real-secret-for-this-test-9f2Kx7Qp"}
    done = subprocess.run(
        [sys.executable, "-m", "directory", *args],
        env=settings,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


@pytest.fixture
def fresh_database(database_url: str) -> Iterator[str]:
    """A migrated, empty database of its own in the test cluster (the command commits)."""
    name = f"demo_cli_{uuid.uuid4().hex[:8]}"
    admin = create_engine(sqlalchemy_url(database_url), isolation_level="AUTOCOMMIT")
    url = sqlalchemy_url(database_url).set(database=name).render_as_string(hide_password=False)
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    engine = make_engine(url)
    try:
        migrate.upgrade(engine)
        yield url
    finally:
        engine.dispose()
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        admin.dispose()


def test_production_never_seeds_the_demo_and_the_command_removes_it(fresh_database: str) -> None:
    engine = make_engine(fresh_database)

    def scalar(sql: str) -> int:
        with engine.connect() as connection:
            return int(connection.scalar(text(sql), {"demo": DEMO_SOURCE}) or 0)

    demo_links = "SELECT count(*) FROM provenance WHERE source = :demo"
    try:
        production = directory(fresh_database, "seed", env="production")
        assert "crisis_lines.yaml" in production and "demo_region.yaml" not in production
        assert scalar(demo_links) == 0

        assert "demo_region.yaml: 50 created" in directory(fresh_database, "seed")
        assert scalar(demo_links) == 50
        removed = directory(fresh_database, "demo", "remove")
        assert "removed 50 demo listing(s)" in removed
        assert scalar(demo_links) == 0
        assert scalar("SELECT count(*) FROM search_document WHERE name LIKE '%(demo)'") == 0
        assert scalar("SELECT count(*) FROM search_document") > 0
        assert scalar("SELECT count(*) FROM search_outbox WHERE processed_at IS NULL") == 0
        assert "removed 0 demo listing(s)" in directory(fresh_database, "demo", "remove")
    finally:
        engine.dispose()
