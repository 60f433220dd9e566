"""An HSDS 3.0 record's UUIDs kept as its listing's ids: on creation, through re-imports of a
changed record, for a later service of the same organization, and never when another row has the
id (whatever its table); a remap keeps them too."""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from directory.ingest.formats import resolve
from directory.ingest.load import run_import
from directory.ingest.remap import remap
from directory.ingest.report import ImportReport
from directory.listings.models import (
    Location,
    Organization,
    Provenance,
    Service,
    ServiceAtLocation,
)
from directory.listings.rows import Rows

ORG_NAME = "Keep Ids Peer Network"


def record(
    ids: dict[str, uuid.UUID], *, name: str = "Keep Ids Warmline", said: str = "first"
) -> dict[str, Any]:
    """An HSDS 3.0 service with its organization and one site, named by ``ids``."""
    address = {
        "address_1": "1 Main St",
        "city": "Austin",
        "state_province": "TX",
        "postal_code": "78701",
        "country": "US",
        "address_type": "physical",
    }
    location = {
        "id": str(ids["location"]),
        "name": f"{name} site",
        "location_type": "physical",
        "addresses": [address],
    }
    return {
        "id": str(ids["service"]),
        "name": name,
        "description": f"{name}: {said}",
        "status": "active",
        "organization": {"id": str(ids["organization"]), "name": ORG_NAME, "description": said},
        "service_at_locations": [{"id": str(ids["service_at_location"]), "location": location}],
    }


def new_ids(**given: uuid.UUID) -> dict[str, uuid.UUID]:
    kinds = ("service", "organization", "service_at_location", "location")
    return {kind: given.get(kind) or uuid.uuid4() for kind in kinds}


def load(session: Session, path: Path, records: list[dict[str, Any]], source: str) -> ImportReport:
    path.write_text(json.dumps(records))
    report = run_import(session, resolve("auto", path), path, source=source)
    session.flush()
    return report


def listing(session: Session, service_id: uuid.UUID) -> dict[str, Any]:
    """The listing's organization and sites, and how many organizations bear the name."""
    service = session.get(Service, service_id)
    assert service is not None
    session.refresh(service)
    sites = select(ServiceAtLocation.id, ServiceAtLocation.location_id).where(
        ServiceAtLocation.service_id == service_id
    )
    named = select(func.count()).select_from(Organization).where(Organization.name == ORG_NAME)
    return {
        "organization": service.organization_id,
        "sites": [tuple(site) for site in session.execute(sites)],
        "organizations named": session.scalar(named),
        "description": service.description,
    }


def test_a_changed_record_keeps_its_organization_and_sites(
    session: Session, tmp_path: Path
) -> None:
    ids, path = new_ids(), tmp_path / "services.json"
    kept = {
        "organization": ids["organization"],
        "sites": [(ids["service_at_location"], ids["location"])],
        "organizations named": 1,
    }
    assert load(session, path, [record(ids)], "test:keep").counts["created"] == 1
    assert listing(session, ids["service"]) == kept | {"description": "Keep Ids Warmline: first"}

    report = load(session, path, [record(ids, said="changed")], "test:keep")

    assert report.counts["updated"] == 1
    assert listing(session, ids["service"]) == kept | {"description": "Keep Ids Warmline: changed"}
    organization = session.get(Organization, ids["organization"])
    assert organization is not None
    session.refresh(organization)
    assert organization.description == "changed"  # the kept row is the one updated


def test_a_later_service_of_the_same_organization_joins_it(
    session: Session, tmp_path: Path
) -> None:
    first, path = new_ids(), tmp_path / "services.json"
    load(session, path, [record(first)], "test:keep")
    second = new_ids(organization=first["organization"])

    report = load(
        session, path, [record(first), record(second, name="Keep Ids Group")], "test:keep"
    )

    assert report.counts == {"unchanged": 1, "created": 1}
    assert listing(session, second["service"]) == {
        "organization": first["organization"],
        "sites": [(second["service_at_location"], second["location"])],
        "organizations named": 1,
        "description": "Keep Ids Group: first",
    }


def test_an_id_another_row_has_is_not_kept_whatever_its_table(
    session: Session, tmp_path: Path
) -> None:
    first = new_ids()
    load(session, tmp_path / "first.json", [record(first)], "test:keep")
    # the organization names the first listing's location; the site names the first service
    taken = new_ids(organization=first["location"], service_at_location=first["service"])
    # one id for the service, its organization and its location
    same = uuid.uuid4()
    twice = new_ids(service=same, organization=same, location=same)

    load(session, tmp_path / "second.json", [record(taken, name="Other")], "test:other")
    load(session, tmp_path / "third.json", [record(twice, name="Twice")], "test:twice")

    assert session.get(Organization, first["location"]) is None
    assert session.get(Location, first["location"]) is not None
    assert session.get(ServiceAtLocation, first["service"]) is None
    other = listing(session, taken["service"])
    assert other["organization"] != first["location"]
    assert other["sites"][0][1] == taken["location"]  # the free one is kept
    assert session.get(Service, same) is None
    assert session.get(Organization, same) is None
    assert session.get(Location, same) is None


def test_records_of_one_organization_name_with_and_without_an_id_both_load(
    session: Session, tmp_path: Path
) -> None:
    """A record whose organization has no id, then one of the same name whose has: the first
    keeps the organization named after the source (its row is still written)."""
    nameless, named = new_ids(), new_ids()
    records = [record(nameless, name="Nameless"), record(named, name="Named")]
    records[0]["organization"].pop("id")

    report = load(session, tmp_path / "services.json", records, "test:keep")

    assert report.counts == {"created": 2}
    assert listing(session, named["service"])["organization"] == named["organization"]
    first = listing(session, nameless["service"])["organization"]
    assert session.get(Organization, first) is not None


def test_a_remap_keeps_the_kept_ids(session: Session, tmp_path: Path) -> None:
    """``directory ingest remap`` rewrites a listing whose record now maps differently."""
    ids = new_ids()
    load(session, tmp_path / "services.json", [record(ids)], "test:keep")
    before = listing(session, ids["service"])
    link = session.scalars(select(Provenance).where(Provenance.source == "test:keep")).one()
    link.content_hash = "mapped otherwise"

    assert remap(session, source="test:keep")["updated"] == 1

    assert listing(session, ids["service"]) == before


def test_an_id_of_a_round_still_being_written_is_not_kept_again(
    session: Session, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each listing its own round, written slowly in the writer's thread: the read-ahead of the
    next record runs before the first round is in the database, and still finds its ids taken."""
    write = Rows.write

    def slowly(rows: Rows, session: Session) -> None:
        time.sleep(0.2)
        write(rows, session)

    monkeypatch.setattr(Rows, "write", slowly)
    monkeypatch.setattr("directory.ingest.load.BATCH", 1)
    monkeypatch.setattr("directory.ingest.keep_ids.AHEAD", 1)
    first = new_ids()
    # its site names the first listing's location, its organization the first service
    second = new_ids(service_at_location=first["location"], organization=first["service"])

    report = load(
        session, tmp_path / "two.json", [record(first), record(second, name="Other")], "test:k"
    )

    assert report.counts == {"created": 2}
    assert listing(session, first["service"])["sites"] == [
        (first["service_at_location"], first["location"])
    ]
    other = listing(session, second["service"])
    assert other["sites"][0][0] != first["location"]
    assert other["sites"][0][1] == second["location"]  # the free one is kept
    assert other["organization"] != first["service"]
