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
from directory.errors import Forbidden, InvalidInput, NotFound
from directory.ingest import runs
from directory.ingest.models import ImportRun
from directory.ingest.runs_work import LOCK_SPACE, check, execute, lock_key, run_folder
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


def staff(session: Session, role: str = "coordinator", program: str | None = "Runs") -> User:
    user, _ = create_user(
        session, email=f"{role}-{uuid.uuid4().hex[:8]}@example.org", role=role, program=program
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

    view = runs.read_run(session, user, run.id, folder=tmp_path)
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


def hand_made(
    session: Session, user: User, folder: Path, status: str, **values: object
) -> ImportRun:
    """A run made by hand (no transaction of it ever ran), with its file in ``folder``."""
    run = ImportRun(
        created_by=user.id, program_id=user.program_id, file_name="harbor.csv", file_bytes=10,
        format="samhsa-locator", source="samhsa-locator:harbor", full=False, status=status,
        records=2, progress=1, **values,
    )  # fmt: skip
    session.add(run)
    session.flush()
    home = run_folder(folder, run.id)
    home.mkdir(parents=True)
    (home / run.file_name).write_bytes(locator_csv("Harbor Hand Made"))
    return run


def test_a_run_left_running_by_a_stopped_server_is_interrupted_and_its_file_goes(
    session: Session, tmp_path: Path
) -> None:
    """A run whose lock nobody holds: its file is deleted once it shows as interrupted."""
    user = staff(session)
    run = hand_made(session, user, tmp_path, "running", started_at=dt.datetime.now(dt.UTC))
    view = runs.read_run(session, user, run.id, folder=tmp_path)
    assert view.state == "running"  # just confirmed: starting
    assert (tmp_path / str(run.id) / "harbor.csv").exists()
    run.started_at = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)
    session.flush()
    assert [v.state for v in runs.recent_runs(session, user, folder=tmp_path) if v.run == run] == [
        "interrupted"
    ]
    assert not (tmp_path / str(run.id)).exists()
    assert runs.read_run(session, user, run.id, folder=tmp_path).state == "interrupted"
    session.refresh(run)
    assert run.status == "running"  # shown as interrupted; a late thread may still end it


def test_a_run_whose_transaction_is_open_is_not_interrupted(
    session: Session, engine: Engine, tmp_path: Path
) -> None:
    user = staff(session)
    an_hour_ago = dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
    run = hand_made(session, user, tmp_path, "checking", created_at=an_hour_ago)
    with engine.connect() as other:  # another server's import, still at work
        other.execute(select(func.pg_advisory_xact_lock(LOCK_SPACE, lock_key(run.id))))
        assert runs.read_run(session, user, run.id, folder=tmp_path).state == "checking"
        assert (tmp_path / str(run.id) / "harbor.csv").exists()
    assert runs.read_run(session, user, run.id, folder=tmp_path).state == "interrupted"


def test_a_check_whose_file_is_gone_fails_saying_why(
    session: Session, session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    """A DirectoryError that is not the file's format (here: the thread started after the file
    was deleted) is stored with its own words, not as an unexpected error."""
    user = staff(session)
    run = hand_made(session, user, tmp_path, "checking")
    session.commit()
    (tmp_path / str(run.id) / "harbor.csv").unlink()
    check(session_factory, run.id, tmp_path)
    session.refresh(run)
    assert (run.status, run.error) == (
        "failed",
        "harbor.csv is no longer kept on the server: upload it again",
    )


def test_a_checked_run_left_a_day_expires_and_its_file_goes(
    session: Session, session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    user = staff(session)
    old = submit(session, session_factory, tmp_path, locator_csv("Harbor Old"), user=user)
    fresh = submit(session, session_factory, tmp_path, locator_csv("Harbor Fresh"), user=user)
    old.created_at = dt.datetime.now(dt.UTC) - dt.timedelta(hours=25)
    session.flush()

    shown = {v.run.id: v.state for v in runs.recent_runs(session, user, folder=tmp_path)}
    assert (shown[old.id], shown[fresh.id]) == ("expired", "checked")
    session.refresh(old)
    assert (
        old.error == "not confirmed within a day: the file is deleted; upload it again to import it"
    )
    assert old.finished_at is not None
    assert old.check_report is not None and old.check_report["read"] == 1  # the report stays
    assert not (tmp_path / str(old.id)).exists()
    assert (tmp_path / str(fresh.id) / "harbor-peers.csv").exists()
    assert not runs.confirm(session, user, old.id)  # too late
    assert runs.read_run(session, user, old.id, folder=tmp_path).run.status == "expired"


def test_an_upload_expires_the_checked_runs_left_a_day(
    session: Session, session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    old = submit(session, session_factory, tmp_path, locator_csv("Harbor Old"))
    old.created_at = dt.datetime.now(dt.UTC) - dt.timedelta(days=2)
    session.flush()
    submit(
        session,
        session_factory,
        tmp_path,
        locator_csv("Harbor New"),
        user=staff(session, program="Elsewhere"),
    )
    session.refresh(old)
    assert old.status == "expired"  # files are the deployment's to tidy, whoever uploads
    assert not (tmp_path / str(old.id)).exists()


def test_another_programs_runs_are_unknown_to_a_coordinator(
    session: Session, session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    run = submit(session, session_factory, tmp_path, locator_csv("Harbor Ours"))
    session.commit()
    other = staff(session, program="Other Runs")
    with pytest.raises(NotFound):
        runs.read_run(session, other, run.id, folder=tmp_path)
    with pytest.raises(NotFound):
        runs.confirm(session, other, run.id)
    with pytest.raises(NotFound):
        runs.discard(session, other, run.id, folder=tmp_path)
    assert run.id not in {v.run.id for v in runs.recent_runs(session, other, folder=tmp_path)}
    session.refresh(run)
    assert (run.status, run.confirmed_by, run.finished_at) == ("checked", None, None)
    assert (tmp_path / str(run.id) / "harbor-peers.csv").exists()
    actions = session.scalars(
        select(AuditEntry.action).where(AuditEntry.detail["run_id"].astext == str(run.id))
    )
    assert list(actions) == ["import.upload"]

    admin = staff(session, "admin", program=None)
    view = runs.read_run(session, admin, run.id, folder=tmp_path)
    assert (view.program, view.state) == ("Runs", "checked")
    listed = {v.run.id: v.program for v in runs.recent_runs(session, admin, folder=tmp_path)}
    assert listed[run.id] == "Runs"
    assert runs.discard(session, admin, run.id, folder=tmp_path)


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
    assert runs.read_run(session, user, run.id, folder=tmp_path).state == "failed"
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
