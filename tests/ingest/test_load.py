"""Loading files into PostGIS: idempotency, updates, --full, dry runs, broken files, merging."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from directory.ingest.formats import resolve
from directory.ingest.load import run_import
from directory.ingest.records import FormatError
from directory.listings.models import Provenance, SearchOutbox, Service

LOCATOR = "samhsa-locator-geocoded/MentalHealthProviders_Geocoded.csv"


def sample(datasets_dir: Path, folder: Path, rows: int, *, name: str = "sample.csv") -> Path:
    """The header and the first ``rows`` rows of the real locator file."""
    lines = (datasets_dir / LOCATOR).read_text(encoding="utf-8").splitlines(keepends=True)
    path = folder / name
    path.write_text("".join(lines[: rows + 1]), encoding="utf-8")
    return path


def load(session: Session, path: Path, *, source: str = "test:locator", **options: bool):  # type: ignore[no-untyped-def]
    return run_import(session, resolve("auto", path), path, source=source, **options)


def table_counts(session: Session) -> dict[str, int]:
    tables = ("service", "location", "phone", "provenance", "attribute", "search_outbox")
    return {t: session.scalar(text(f"SELECT count(*) FROM {t}")) or 0 for t in tables}


def test_the_real_locator_file_loads_and_reloads_unchanged(
    session: Session, datasets_dir: Path, client: TestClient, coordinator: dict[str, str]
) -> None:
    report = load(session, datasets_dir / LOCATOR)
    assert (report.read, len(report.rejected)) == (11_375, 0)
    # 342 rows repeat a facility of an earlier row: they merge into its listing
    assert (report.counts["created"], report.counts["merged"]) == (11_033, 342)
    ct = session.execute(
        text(
            "SELECT a.postal_code, l.coordinates_approximate FROM address a "
            "JOIN location l ON l.id = a.location_id WHERE a.address_1 = '60 Westwood Avenue'"
        )
    ).first()
    assert ct is not None and tuple(ct) == ("06708", False)  # the lost leading zero is back

    before = table_counts(session)
    again = load(session, datasets_dir / LOCATOR)
    assert (again.counts["created"], again.counts["updated"]) == (0, 0)
    assert again.counts["unchanged"] == report.read
    assert table_counts(session) == before
    assert "nothing changed" in "\n".join(again.summary())

    found = client.get(
        "/v1/services", params={"need": "mental-health", "per_page": 1}, headers=coordinator
    ).json()
    assert found["total"] > 11_000


def test_a_changed_row_updates_and_bumps_the_version(
    session: Session, datasets_dir: Path, tmp_path: Path
) -> None:
    path = sample(datasets_dir, tmp_path, 20)
    load(session, path)
    changed = path.read_text().replace("860-276-3000", "860-276-3999", 1)
    path.write_text(changed)
    report = load(session, path)
    assert (report.counts["updated"], report.counts["unchanged"]) == (1, 19)
    (service_id,) = session.execute(
        text("SELECT service_id FROM phone WHERE e164 = '+18602763999'")
    ).one()
    service = session.get(Service, service_id)
    assert service is not None and service.version == 2
    assert service.name == "Perspectives Center for Care Inc"


def test_full_deactivates_what_the_file_no_longer_has(
    session: Session, datasets_dir: Path, tmp_path: Path
) -> None:
    load(session, sample(datasets_dir, tmp_path, 20))
    report = load(session, sample(datasets_dir, tmp_path, 15), full=True)
    assert report.counts["deactivated"] == 5
    statuses = session.execute(
        select(Service.status, func.count())
        .join(Provenance)
        .where(Provenance.source == "test:locator")
        .group_by(Service.status)
    ).all()
    assert dict(statuses) == {"active": 15, "inactive": 5}  # nothing deleted


def test_every_write_records_an_outbox_row(
    session: Session, datasets_dir: Path, tmp_path: Path
) -> None:
    before = session.scalar(select(func.count()).select_from(SearchOutbox)) or 0
    report = load(session, sample(datasets_dir, tmp_path, 10))
    after = session.scalar(select(func.count()).select_from(SearchOutbox)) or 0
    assert after - before == report.counts["created"] == 10


@pytest.mark.parametrize("breakage", ["latin-1", "wrong columns", "empty"])
def test_a_broken_file_fails_with_one_clear_message(
    datasets_dir: Path, tmp_path: Path, breakage: str
) -> None:
    path = sample(datasets_dir, tmp_path, 30)
    data = path.read_bytes()
    if breakage == "latin-1":
        path.write_bytes(data.replace(b"Perspectives", "Perspectivés".encode("latin-1")))
    elif breakage == "wrong columns":
        path.write_bytes(b"a,b,c\n1,2,3\n")
    else:
        path.write_bytes(b"")
    with pytest.raises(FormatError) as raised:
        list(resolve("samhsa-locator", path).read(path))
    assert raised.value.detail.startswith(path.name)


def test_a_row_cut_short_is_rejected_and_the_rest_loads(
    session: Session, datasets_dir: Path, tmp_path: Path
) -> None:
    path = sample(datasets_dir, tmp_path, 30)
    data = path.read_bytes()
    path.write_bytes(data[: data.rindex(b",")])  # the last row loses its last field
    report = load(session, path, source="test:truncated")
    assert [(r.row, r.reason) for r in report.rejected] == [
        (31, "17 fields where the header has 18")
    ]
    assert report.counts["created"] == 29


def test_a_file_that_breaks_late_commits_nothing(
    engine: Engine, datasets_dir: Path, tmp_path: Path
) -> None:
    """A decoding error after the first batches were written still leaves the database as it was:
    the import is one transaction. Runs on committed sessions, as the command does."""
    from directory.ingest.cli import run_ingest

    path = sample(datasets_dir, tmp_path, 2_000)
    path.write_bytes(path.read_bytes() + "Caf\xe9,x\n".encode("latin-1"))
    factory = sessionmaker(engine)
    source = f"test:late-{uuid.uuid4()}"
    with pytest.raises(FormatError):
        run_ingest(
            factory,
            "samhsa-locator",
            path,
            source=source,
            dry_run=False,
            full=False,
            report_file=None,
        )
    with engine.connect() as connection:
        stored = connection.scalar(
            text("SELECT count(*) FROM provenance WHERE source = :s"), {"s": source}
        )
    assert stored == 0


def test_remap_applies_edited_mappings_without_the_file(
    session: Session, datasets_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import shutil

    from directory.ingest import mappings
    from directory.ingest.remap import remap

    report = load(session, sample(datasets_dir, tmp_path, 10))
    assert report.counts["created"] == 10
    assert remap(session, source="test:locator")["updated"] == 0  # nothing changed yet

    edited = tmp_path / "mappings"
    shutil.copytree(mappings.mappings_dir(), edited)
    table = (edited / "samhsa.yaml").read_text()
    assert "\n  MH: {needs: [mental-health]}" in table
    (edited / "samhsa.yaml").write_text(
        table.replace(
            "\n  MH: {needs: [mental-health]}", "\n  MH: {needs: [mental-health, peer-support]}"
        )
    )
    monkeypatch.setattr(mappings, "mappings_dir", lambda: edited)
    (tmp_path / "sample.csv").unlink()  # remap never reads the file again
    counts = remap(session, source="test:locator")
    assert counts["updated"] == 10
    peer = session.scalar(
        text(
            "SELECT count(DISTINCT a.link_id) FROM attribute a JOIN taxonomy_term t "
            "ON t.id = a.taxonomy_term_id JOIN provenance p ON p.service_id = a.link_id "
            "WHERE t.code = 'peer-support' AND p.source = 'test:locator'"
        )
    )
    assert peer == 10
    monkeypatch.undo()
    mappings.reload()


def test_a_returning_record_reactivates_its_listing(
    session: Session, datasets_dir: Path, tmp_path: Path
) -> None:
    load(session, sample(datasets_dir, tmp_path, 6))
    load(session, sample(datasets_dir, tmp_path, 4), full=True)
    back = load(session, sample(datasets_dir, tmp_path, 6), full=True)
    assert (back.counts["updated"], back.counts["deactivated"]) == (2, 0)
    statuses = (
        session.execute(
            select(Service.status).join(Provenance).where(Provenance.source == "test:locator")
        )
        .scalars()
        .all()
    )
    assert set(statuses) == {"active"}


def test_an_update_keeps_the_organization_and_a_nul_is_a_rejection(
    session: Session, datasets_dir: Path, tmp_path: Path
) -> None:
    path = sample(datasets_dir, tmp_path, 3)
    load(session, path)
    organizations = session.scalar(text("SELECT count(*) FROM organization"))
    path.write_text(path.read_text().replace("860-276-3000", "860-276-3999", 1))
    assert load(session, path).counts["updated"] == 1
    assert session.scalar(text("SELECT count(*) FROM organization")) == organizations
    path.write_text(path.read_text().replace("New Haven", "New\x00Haven", 1))
    report = load(session, path)
    assert [(r.field, r.reason) for r in report.rejected] == [
        ("county", "text contains a NUL character")
    ]


def test_a_written_backslash_u0000_is_text_not_a_nul(
    session: Session, datasets_dir: Path, tmp_path: Path
) -> None:
    path = sample(datasets_dir, tmp_path, 3)
    path.write_text(path.read_text().replace("New Haven", "New \\u0000 Haven", 1))
    report = load(session, path)
    assert report.rejected == [] and report.counts["created"] == 3
    raw = session.scalars(text("SELECT raw::text FROM provenance WHERE raw::text LIKE '%u0000%'"))
    assert len(raw.all()) == 1


@pytest.mark.parametrize("after", [1, 10**9])
def test_a_big_import_refreshes_the_planner_statistics_with_its_rows(
    session: Session,
    datasets_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    after: int,
) -> None:
    """Past ANALYZE_AFTER listings an import analyzes the listing tables in its transaction, so
    the index sync after its commit is planned for the tables as they are (not as empty)."""
    monkeypatch.setattr("directory.ingest.load.ANALYZE_AFTER", after)
    started = session.scalar(text("SELECT clock_timestamp()"))
    load(session, sample(datasets_dir, tmp_path, 30))
    analyzed = session.scalar(
        text("SELECT last_analyze FROM pg_stat_user_tables WHERE relname = 'service'")
    )
    assert (analyzed is not None and analyzed >= started) is (after == 1)
