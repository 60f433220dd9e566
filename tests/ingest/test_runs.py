"""Imports from the console (the service): upload, dry run, confirm, import, refusals."""

from __future__ import annotations

import datetime as dt
import io
import uuid
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from directory.accounts.models import AuditEntry, User
from directory.accounts.service import create_user
from directory.errors import Forbidden, InvalidInput
from directory.ingest import runs
from directory.ingest.models import ImportRun
from directory.ingest.runs_work import LOCK_SPACE, check, execute, lock_key
from directory.listings.models import Provenance, Service
from directory.listings.schemas import ServiceUpdate
from directory.listings.service import update_service

HEADER = (
    '"","name1","name2","street1","street2","city","state","zip","zip4","county","phone",'
    '"intake_prompt","intake1","intake2","website","latitude","longitude","type_facility"\n'
)


def locator_csv(*names: str, website: str = "http://example.org") -> bytes:
    """A small SAMHSA locator file (the CLI's ``samhsa-locator`` format), one row per name; a
    blank name is the row the import must reject."""
    rows = [
        f'"{i}","{name}","","{10 + i} Main Street","","Waterbury","CT",6708,,"New Haven",'
        f'"860-276-{3000 + i}","","","","{website}",41.56,-73.06,"MH"\n'
        for i, name in enumerate(names, start=1)
    ]
    return (HEADER + "".join(rows)).encode()


def staff(session: Session, role: str = "coordinator") -> User:
    user, _ = create_user(
        session, email=f"{role}-{uuid.uuid4().hex[:8]}@example.org", role=role, program="Runs"
    )
    return user


def submit(
    session: Session,
    factory: sessionmaker[Session],
    folder: Path,
    data: bytes,
    *,
    user: User | None = None,
    name: str = "harbor-peers.csv",
    max_bytes: int = 1 << 20,
    **options: object,
) -> ImportRun:
    """Upload a file and run its dry run (a background task in the app)."""
    run = runs.submit(
        session, user or staff(session), io.BytesIO(data),
        file_name=name, folder=folder, max_bytes=max_bytes,
        **{"format_name": "auto", "source": None, "full": False, **options},  # type: ignore[arg-type]
    )  # fmt: skip
    assert run.status == "checking"
    check(factory, run.id, folder)
    session.refresh(run)
    return run


def listings_named(session: Session, *names: str) -> int:
    return session.scalar(select(func.count()).where(Service.name.in_(names))) or 0


def test_a_dry_run_reports_the_bad_row_and_writes_no_listing(
    session: Session, session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    good = f"Harbor Peers {uuid.uuid4().hex[:6]}"
    run = submit(session, session_factory, tmp_path, locator_csv(good, "", good + " East"))
    assert (run.status, run.format, run.source) == (
        "checked",
        "samhsa-locator",
        "samhsa-locator:harbor-peers",
    )
    report = run.check_report
    assert report is not None
    assert (report["read"], report["created"], report["rejected"], report["dry_run"]) == (
        3, 2, 1, True,
    )  # fmt: skip
    assert [(r["row"], r["field"], r["reason"]) for r in report["rejections"]] == [
        (3, "name1", "missing name")
    ]
    assert report["summary"][0].startswith("harbor-peers.csv (samhsa-locator")
    assert str(tmp_path) not in " ".join(report["summary"])  # the server's folders stay its own
    assert listings_named(session, good, good + " East") == 0
    assert (tmp_path / str(run.id) / "harbor-peers.csv").read_bytes().startswith(b'"","name1"')
    assert (
        session.scalar(
            select(AuditEntry.action).where(AuditEntry.detail["run_id"].astext == str(run.id))
        )
        == "import.upload"
    )


def test_a_confirmed_run_imports_once_and_keeps_its_report(
    session: Session, session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    good = f"Harbor Peers {uuid.uuid4().hex[:6]}"
    user = staff(session)
    run = submit(session, session_factory, tmp_path, locator_csv(good, ""), user=user)
    session.commit()
    assert runs.confirm(session, user, run.id)
    assert not runs.confirm(session, user, run.id)  # a second click starts nothing
    session.commit()
    execute(session_factory, run.id, tmp_path)

    view = runs.read_run(session, user, run.id)
    session.refresh(view.run)
    assert (view.run.status, view.run.progress, view.run.error) == ("done", 2, None)
    assert view.run.import_report is not None
    assert (view.run.import_report["created"], view.run.import_report["rejected"]) == (1, 1)
    assert listings_named(session, good) == 1
    sources = session.scalars(select(Provenance.source).join(Service).where(Service.name == good))
    assert list(sources) == ["samhsa-locator:harbor-peers"]
    assert not (tmp_path / str(run.id)).exists()  # the file goes once imported
    actions = session.scalars(
        select(AuditEntry.action)
        .where(AuditEntry.detail["run_id"].astext == str(run.id))
        .order_by(AuditEntry.id)
    )
    assert list(actions) == ["import.upload", "import.confirm", "import.done"]
    assert not runs.discard(session, user, run.id, folder=tmp_path)  # too late


def test_a_file_over_the_limit_is_refused_and_not_kept(
    session: Session, session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    data = locator_csv("Big Harbor")
    with pytest.raises(runs.TooLarge) as refused:
        submit(session, session_factory, tmp_path, data, max_bytes=len(data) - 1)
    assert (refused.value.status_code, refused.value.field) == (413, "file")
    assert list(tmp_path.iterdir()) == []
    assert session.scalar(select(func.count()).select_from(ImportRun)) == 0


@pytest.mark.parametrize(
    ("name", "options", "field", "says"),
    [
        ("harbor.csv", {"format_name": "gopher"}, "format", "unknown format 'gopher'"),
        ("notes.txt", {}, "format", "not a format this directory reads"),
        ("export.csv", {}, "source", "says nothing about the data"),
        ("services.csv", {"format_name": "samhsa-locator"}, "source", "give it a source name"),
    ],
)
def test_the_clis_refusals(
    session: Session,
    session_factory: sessionmaker[Session],
    tmp_path: Path,
    name: str,
    options: dict[str, object],
    field: str,
    says: str,
) -> None:
    data = b"just some notes\n" if name.endswith(".txt") else locator_csv("Harbor Notes")
    with pytest.raises(InvalidInput) as refused:
        submit(session, session_factory, tmp_path, data, name=name, **options)
    assert refused.value.field == field
    assert says in refused.value.detail
    assert list(tmp_path.iterdir()) == []


def test_a_generic_name_passes_with_a_source_given(
    session: Session, session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    run = submit(
        session, session_factory, tmp_path, locator_csv("Harbor Given"), name="export.csv",
        source="county-list",
    )  # fmt: skip
    assert (run.status, run.source) == ("checked", "county-list")


def test_a_file_of_which_nothing_loads_is_refused_with_the_clis_reason(
    session: Session, session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    run = submit(session, session_factory, tmp_path, locator_csv("", ""))
    assert run.status == "refused"
    assert (
        run.error
        == "0 of 2 records are services: is this the right format? (read as samhsa-locator)"
    )
    assert run.check_report is not None and run.check_report["rejected"] == 2
    assert not (tmp_path / str(run.id)).exists()


def test_a_run_left_running_by_a_stopped_server_is_interrupted(session: Session) -> None:
    """A run whose lock nobody holds (here: made by hand; no transaction of it ever ran)."""
    user = staff(session)
    run = ImportRun(
        created_by=user.id, file_name="harbor.csv", file_bytes=10, format="samhsa-locator",
        source="samhsa-locator:harbor", full=False, status="running", records=2, progress=1,
        started_at=dt.datetime.now(dt.UTC),
    )  # fmt: skip
    session.add(run)
    session.flush()
    assert runs.read_run(session, user, run.id).state == "running"  # just confirmed: starting
    run.started_at = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)
    session.flush()
    assert runs.read_run(session, user, run.id).state == "interrupted"
    assert [v.state for v in runs.recent_runs(session, user) if v.run.id == run.id] == [
        "interrupted"
    ]


def test_a_run_whose_transaction_is_open_is_not_interrupted(
    session: Session, engine: Engine
) -> None:
    user = staff(session)
    run = ImportRun(
        created_by=user.id, file_name="harbor.csv", file_bytes=10, format="samhsa-locator",
        source="samhsa-locator:harbor", full=False, status="checking", records=0, progress=0,
        created_at=dt.datetime.now(dt.UTC) - dt.timedelta(hours=1),
    )  # fmt: skip
    session.add(run)
    session.flush()
    with engine.connect() as other:  # another server's import, still at work
        other.execute(select(func.pg_advisory_xact_lock(LOCK_SPACE, lock_key(run.id))))
        assert runs.read_run(session, user, run.id).state == "checking"
    assert runs.read_run(session, user, run.id).state == "interrupted"


def test_only_staff_import(
    session: Session, session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    with pytest.raises(Forbidden):
        submit(session, session_factory, tmp_path, b"x", user=staff(session, "mentor"))


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        ("../../etc/passwd", "passwd"),
        ("C:\\Users\\me\\Harbor list.csv", "Harbor list.csv"),
        (".hidden.csv", "hidden.csv"),
        ("a/b/<script>.csv", "_script_.csv"),
        ("", "upload"),
    ],
)
def test_stored_names_are_plain(given: str, stored: str) -> None:
    assert runs.safe_name(given) == stored


def test_a_failed_import_says_why_and_writes_nothing(
    session: Session, session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    good = f"Harbor Broken {uuid.uuid4().hex[:6]}"
    user = staff(session)
    run = submit(session, session_factory, tmp_path, locator_csv(good), user=user)
    assert runs.confirm(session, user, run.id)
    session.commit()
    (tmp_path / str(run.id) / run.file_name).write_bytes(b"a,b\n1,2\n")  # changed meanwhile
    execute(session_factory, run.id, tmp_path)

    session.refresh(run)
    assert (run.status, run.import_report) == ("failed", None)
    assert run.error == "harbor-peers.csv: not a SAMHSA locator CSV (missing columns: " + (
        "name1, street1, city, state, zip, latitude, longitude)"
    )
    assert listings_named(session, good) == 0
    assert runs.read_run(session, user, run.id).state == "failed"
    assert (
        session.scalar(
            select(AuditEntry.action)
            .where(AuditEntry.detail["run_id"].astext == str(run.id))
            .order_by(AuditEntry.id.desc())
            .limit(1)
        )
        == "import.failed"
    )


def test_a_hand_edit_the_file_would_overwrite_is_counted_as_a_suggestion(
    session: Session, session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    name, user = f"Harbor Edited {uuid.uuid4().hex[:6]}", staff(session)

    def imported(data: bytes) -> ImportRun:
        run = submit(session, session_factory, tmp_path, data, user=user)
        assert runs.confirm(session, user, run.id)
        session.commit()
        execute(session_factory, run.id, tmp_path)
        session.refresh(run)
        return run

    imported(locator_csv(name))
    service_id = session.scalar(select(Service.id).where(Service.name == name))
    assert service_id is not None
    update_service(
        session, service_id, ServiceUpdate(url="http://hand.example.org"),
        expected_version=None, by=user.email,
    )  # fmt: skip
    run = imported(locator_csv(name, website="http://file.example.org"))
    assert run.check_report is not None and run.import_report is not None
    assert run.check_report["suggestions"] == run.import_report["suggestions"] == 1
    assert run.import_report["updated"] == 1
