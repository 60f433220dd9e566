"""Running an uploaded file through the import, as ``directory ingest`` does: one transaction
(rolled back for the dry run), its report kept on the run, progress written as it goes.

The dry run and the confirmed import run in a thread of the server, each holding an advisory
lock named after the run until its outcome is stored: a run still "checking" or "running" whose
lock nobody holds was cut short (the server stopped), and since an import is one transaction,
it wrote nothing.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import shutil
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, text, update
from sqlalchemy.orm import Session, sessionmaker

from directory.accounts import audit
from directory.accounts.models import User
from directory.curation.models import ChangeSuggestion
from directory.errors import Conflict, DirectoryError
from directory.ingest.cli import nothing_loaded
from directory.ingest.formats import formats
from directory.ingest.load import run_import
from directory.ingest.models import ImportRun
from directory.ingest.records import FormatError
from directory.ingest.report import ImportReport

log = logging.getLogger(__name__)

LOCK_SPACE = 0x1D1  # the first key of the runs' advisory locks (the second: from the run's id)
PROGRESS_EVERY = 100  # records between two progress writes...
PROGRESS_SECONDS = 1.0  # ...and at least this long between them
STARTING = dt.timedelta(seconds=30)  # a confirmed run may take this long to take its lock
UNEXPECTED = "the import stopped on an unexpected error; nothing was written"

Finish = Callable[[Session, dict[str, Any]], None]


def run_folder(folder: Path, run_id: uuid.UUID) -> Path:
    """Where a run's uploaded file is kept (under the data folder, named by the run)."""
    return folder / str(run_id)


def check(factory: sessionmaker[Session], run_id: uuid.UUID, folder: Path) -> None:
    """Dry-run an uploaded file as ``directory ingest --dry-run`` does (in a thread of its own)
    and keep the report on the run: ``checked``, or ``refused`` when no record would load."""
    run = _load(factory, run_id, "checking")
    if run is None:
        return
    path = run_folder(folder, run_id) / run.file_name
    try:
        # The lock is held until the report is stored, in the same transaction as the lock.
        with factory() as holder, holder.begin():
            holder.execute(select(func.pg_advisory_xact_lock(LOCK_SPACE, lock_key(run.id))))
            values = _checked(factory, run, path)
            holder.execute(update(ImportRun).where(ImportRun.id == run.id).values(**values))
    except Exception as error:  # the file's own faults are FormatErrors: "refused" above
        _failed(factory, run, _reason(error, run_id))
        values = {"status": "failed"}
    if values["status"] != "checked":  # nothing more can be done with the file
        shutil.rmtree(run_folder(folder, run_id), ignore_errors=True)


def execute(factory: sessionmaker[Session], run_id: uuid.UUID, folder: Path) -> None:
    """Import a confirmed run's file (in a thread of its own); the file goes afterwards."""
    run = _load(factory, run_id, "running")
    if run is None:
        return
    path = run_folder(folder, run_id) / run.file_name
    try:
        report, data = _import_file(
            factory, run, path, dry_run=False, finish=lambda s, d: _done(s, run, d)
        )
        if not report.loaded():
            _failed(factory, run, nothing_loaded(report), data)
    except Exception as error:
        _failed(factory, run, _reason(error, run_id))
    finally:
        shutil.rmtree(run_folder(folder, run_id), ignore_errors=True)


def _reason(error: Exception, run_id: uuid.UUID) -> str:
    """What a failed run says: a DirectoryError's own detail (written for people), else a
    generic message, the traceback going to the log (call it in an ``except`` block)."""
    if isinstance(error, DirectoryError):
        return error.detail
    log.exception("import run %s failed", run_id)
    return UNEXPECTED


def _load(factory: sessionmaker[Session], run_id: uuid.UUID, status: str) -> ImportRun | None:
    with factory() as session:
        run = session.get(ImportRun, run_id)
    return run if run is not None and run.status == status else None


def _checked(factory: sessionmaker[Session], run: ImportRun, path: Path) -> dict[str, Any]:
    """The dry run's outcome, as the run's new values."""
    try:
        report, data = _import_file(factory, run, path, dry_run=True)
    except FormatError as error:  # the file breaks while it is read
        return {"status": "refused", "error": error.detail, "finished_at": func.now()}
    loaded = report.loaded()
    return {
        "status": "checked" if loaded else "refused",
        "error": None if loaded else nothing_loaded(report),
        "check_report": data,
        "records": report.read,
        "progress": report.read,
        "finished_at": None if loaded else func.now(),
    }


def alive(session: Session) -> set[int]:
    """The lock keys of the runs whose import transaction is open now (in any process)."""
    query = text(
        "SELECT objid::bigint FROM pg_locks WHERE locktype = 'advisory'"
        " AND classid = CAST(:space AS oid) AND objsubid = 2 AND granted"
    )
    return set(session.scalars(query, {"space": LOCK_SPACE}))


def lock_key(run_id: uuid.UUID) -> int:
    return int.from_bytes(run_id.bytes[:4]) & 0x7FFFFFFF


def interrupted(run: ImportRun, alive_keys: set[int], now: dt.datetime) -> bool:
    """Whether a run shown as checking or running was cut short: its transaction is gone."""
    if run.status not in ("checking", "running") or lock_key(run.id) in alive_keys:
        return False
    return now - (run.started_at or run.created_at) > STARTING


def _import_file(
    factory: sessionmaker[Session],
    run: ImportRun,
    path: Path,
    *,
    dry_run: bool,
    finish: Finish | None = None,
) -> tuple[ImportReport, dict[str, Any]]:
    """The file read into one transaction; rolled back for a dry run or when nothing loads,
    else ``finish`` writes in it before it commits."""
    if not path.exists():  # deleted once the run showed as interrupted: this thread is late
        raise Conflict(f"{run.file_name} is no longer kept on the server: upload it again")
    fmt = formats()[run.format]
    progress = _Progress(factory, run.id)
    with factory() as session, session.begin() as transaction:
        if not dry_run:
            session.execute(select(func.pg_advisory_xact_lock(LOCK_SPACE, lock_key(run.id))))
        before = _suggestions(session)
        report = run_import(
            session, fmt, path, source=run.source, dry_run=dry_run, full=run.full,
            progress=progress,
        )  # fmt: skip
        data = report_data(report, _suggestions(session) - before, path, run.file_name)
        if dry_run or not report.loaded():
            transaction.rollback()
        elif finish is not None:
            finish(session, data)
    return report, data


def report_data(
    report: ImportReport, suggestions: int, path: Path, file_name: str
) -> dict[str, Any]:
    """The report as stored: ``--report``'s JSON, the conflicts that became suggestions, and the
    lines the CLI prints (the server's path replaced by the file's name)."""
    data = report.to_json()
    data["path"] = file_name
    data["suggestions"] = suggestions
    data["summary"] = [line.replace(str(path), file_name) for line in report.summary()]
    loaded: dict[str, Any] = json.loads(json.dumps(data, default=str))
    return loaded


def _suggestions(session: Session) -> int:
    query = select(func.count()).where(ChangeSuggestion.source == "import")
    return session.scalar(query) or 0


def _done(session: Session, run: ImportRun, data: dict[str, Any]) -> None:
    """In the import's transaction: the run is done exactly when its listings are written."""
    session.execute(
        update(ImportRun)
        .where(ImportRun.id == run.id)
        .values(status="done", import_report=data, progress=data["read"], finished_at=func.now())
    )
    _audit(session, run, "import.done", data)


def _failed(
    factory: sessionmaker[Session],
    run: ImportRun,
    message: str,
    data: dict[str, Any] | None = None,
) -> None:
    with factory() as session, session.begin():
        session.execute(
            update(ImportRun)
            .where(ImportRun.id == run.id)
            .values(status="failed", error=message, import_report=data, finished_at=func.now())
        )
        _audit(session, run, "import.failed", data)


def _audit(session: Session, run: ImportRun, action: str, data: dict[str, Any] | None) -> None:
    """An audit row in the name of who confirmed the import (else of who uploaded the file)."""
    by = run.confirmed_by or run.created_by
    actor = session.get(User, by) if by else None
    counts = {k: data[k] for k in ("read", "created", "updated", "rejected")} if data else {}
    audit.record(session, actor, action, None, run_id=str(run.id), **counts)


class _Progress:
    """Writes how many records the import has read, in transactions of its own."""

    def __init__(self, factory: sessionmaker[Session], run_id: uuid.UUID) -> None:
        self.factory, self.run_id, self.last = factory, run_id, 0.0

    def __call__(self, count: int) -> None:
        if count % PROGRESS_EVERY or time.monotonic() - self.last < PROGRESS_SECONDS:
            return
        self.last = time.monotonic()
        with self.factory() as session, session.begin():
            query = update(ImportRun).where(ImportRun.id == self.run_id).values(progress=count)
            session.execute(query)
