"""Imports from the console: an uploaded file is stored, checked by a dry run, then imported
once a coordinator confirms it. The same code path as ``directory ingest`` (``runs_work``).

Listings are the deployment's, but runs are their program's: a coordinator sees and acts on
their own program's runs only (another's is an unknown run), an admin on every program's.
"""

from __future__ import annotations

import datetime as dt
import re
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from sqlalchemy import ColumnElement, false, func, select, true, update
from sqlalchemy.orm import Session

from directory.accounts import audit
from directory.accounts.models import Program, User
from directory.accounts.roles import can, require
from directory.db import new_id
from directory.errors import DirectoryError, InvalidInput, NotFound
from directory.ingest.cli import default_source
from directory.ingest.formats import formats, resolve
from directory.ingest.models import ImportRun
from directory.ingest.records import FormatError
from directory.ingest.runs_work import alive, interrupted, run_folder

CHUNK = 1 << 20  # bytes copied at a time from the upload to its file
MAX_NAME = 120
RECENT = 100  # runs on the list
LIVE = ("checking", "running")
# A checked file waits this long for a decision; then it is deleted (the report stays).
UNCONFIRMED = dt.timedelta(days=1)
EXPIRED = "not confirmed within a day: the file is deleted; upload it again to import it"


class TooLarge(DirectoryError):
    """The uploaded file is over the size limit."""

    status_code = 413


@dataclass(frozen=True)
class RunView:
    """A run as the pages show it: who uploaded it, for which program, and its state
    (``interrupted`` for a run whose server stopped while it imported)."""

    run: ImportRun
    by: str | None
    program: str | None
    state: str


def format_names() -> list[str]:
    """The formats a file may be read as (``auto``: the one that recognises it)."""
    return sorted(formats())


def submit(
    session: Session,
    user: User,
    upload: BinaryIO,
    *,
    file_name: str,
    format_name: str,
    source: str | None,
    full: bool,
    folder: Path,
    max_bytes: int,
) -> ImportRun:
    """Keep an uploaded file, refused as the CLI refuses it; the run, for ``runs_work.check``."""
    require(user, "curate")
    expire(session, folder=folder)
    if format_name != "auto" and format_name not in formats():
        raise InvalidInput(f"unknown format {format_name!r}", field="format")
    run = ImportRun(
        id=new_id(), created_by=user.id, program_id=user.program_id, full=full, progress=0,
        file_name=safe_name(file_name), file_bytes=0, format=format_name, source="",
        status="checking", records=0,
    )  # fmt: skip
    home = run_folder(folder, run.id)
    try:
        run.file_bytes = _store(upload, home / run.file_name, max_bytes)
        _resolve(run, home / run.file_name, (source or "").strip())
    except BaseException:
        shutil.rmtree(home, ignore_errors=True)
        raise
    session.add(run)
    session.flush()
    audit.record(
        session, user, "import.upload", None,
        run_id=str(run.id), format=run.format, bytes=run.file_bytes,
    )  # fmt: skip
    return run


def confirm(session: Session, user: User, run_id: uuid.UUID) -> bool:
    """Start the import of a checked run; False when it was started (or ended) already."""
    require(user, "curate")
    started = session.scalar(
        update(ImportRun)
        .where(ImportRun.id == run_id, ImportRun.status == "checked", _visible(user))
        .values(status="running", confirmed_by=user.id, started_at=func.now(), progress=0)
        .returning(ImportRun.id)
    )
    if started is None:
        _existing(session, user, run_id)
        return False
    audit.record(session, user, "import.confirm", None, run_id=str(run_id))
    return True


def discard(session: Session, user: User, run_id: uuid.UUID, *, folder: Path) -> bool:
    """Drop a checked run and its file without importing; False when it is past that."""
    require(user, "curate")
    dropped = session.scalar(
        update(ImportRun)
        .where(ImportRun.id == run_id, ImportRun.status == "checked", _visible(user))
        .values(status="discarded", finished_at=func.now())
        .returning(ImportRun.id)
    )
    if dropped is None:
        _existing(session, user, run_id)
        return False
    shutil.rmtree(run_folder(folder, run_id), ignore_errors=True)
    audit.record(session, user, "import.discard", None, run_id=str(run_id))
    return True


def read_run(session: Session, user: User, run_id: uuid.UUID, *, folder: Path) -> RunView:
    """One run of the user's program (of any, for an admin) with its reports."""
    require(user, "curate")
    views = _views(session, user, folder, run_id=run_id)
    if not views:
        raise NotFound(f"no import {run_id}")
    return views[0]


def recent_runs(
    session: Session, user: User, *, folder: Path, limit: int = RECENT
) -> list[RunView]:
    """The latest runs of the user's program (of every program, for an admin), newest first,
    after the files of runs left unconfirmed are deleted (``expire``)."""
    require(user, "curate")
    expire(session, folder=folder)
    return _views(session, user, folder, limit=limit)


def expire(session: Session, *, folder: Path) -> None:
    """Delete the file of every run checked over a day ago and never confirmed: the run
    becomes ``expired``, its report kept."""
    expired = session.scalars(
        update(ImportRun)
        .where(ImportRun.status == "checked", ImportRun.created_at < func.now() - UNCONFIRMED)
        .values(status="expired", error=EXPIRED, finished_at=func.now())
        .returning(ImportRun.id)
    )
    for run_id in expired:
        shutil.rmtree(run_folder(folder, run_id), ignore_errors=True)


def safe_name(name: str) -> str:
    """A file name to store an upload under: its last part, plain characters, never hidden."""
    base = re.split(r"[\\/]", name or "")[-1]
    base = re.sub(r"[^\w.() -]", "_", base).strip(" .")
    if not base:
        return "upload"
    stem, dot, suffix = base.rpartition(".")
    if dot and len(suffix) <= 10:
        return stem[: MAX_NAME - len(suffix) - 1] + "." + suffix
    return base[:MAX_NAME]


def _store(upload: BinaryIO, path: Path, max_bytes: int) -> int:
    """Copy the upload to ``path`` a chunk at a time, refusing it once over ``max_bytes``."""
    path.parent.mkdir(parents=True)
    size = 0
    with path.open("xb") as out:
        while chunk := upload.read(CHUNK):
            size += len(chunk)
            if size > max_bytes:
                raise TooLarge(f"the file is over the limit of {max_bytes} bytes", field="file")
            out.write(chunk)
    if not size:
        raise InvalidInput("the file is empty", field="file")
    return size


def _resolve(run: ImportRun, path: Path, source: str) -> None:
    """The format the file is read as, and its source: the CLI's rules and refusals."""
    try:
        run.format = resolve(run.format, path).name
    except FormatError as error:
        raise FormatError(error.detail, field="format") from None
    ask = "give it a source name"
    run.source = source[:200] or default_source(run.format, path, ask=ask)
    if str(run.id) in run.source:  # a package's file alone: its folder is the run's
        raise FormatError(f"{path.name}: {ask}", field="source")


def _visible(user: User) -> ColumnElement[bool]:
    """The runs the user may see and act on: their program's; an admin's, every program's."""
    if can(user, "manage-all-programs"):
        return true()
    if user.program_id is None:  # never ``IS NULL``: the runs of no program are an admin's
        return false()
    return ImportRun.program_id == user.program_id


def _existing(session: Session, user: User, run_id: uuid.UUID) -> None:
    """NotFound unless the run exists and the user may see it."""
    found = session.scalar(select(ImportRun.id).where(ImportRun.id == run_id, _visible(user)))
    if found is None:
        raise NotFound(f"no import {run_id}")


def _views(
    session: Session, user: User, folder: Path, *, run_id: uuid.UUID | None = None, limit: int = 1
) -> list[RunView]:
    """The runs as shown; an interrupted run's file is deleted once it is shown so. (Its status
    stays: a late thread may yet store an outcome, then saying that the file is gone.)"""
    query = (
        select(ImportRun, User.email, Program.name)
        .outerjoin(User, User.id == ImportRun.created_by)
        .outerjoin(Program, Program.id == ImportRun.program_id)
        .where(_visible(user))
        .order_by(ImportRun.created_at.desc())
        .limit(limit)
    )
    if run_id is not None:
        query = query.where(ImportRun.id == run_id)
    rows = session.execute(query).all()
    running = alive(session) if any(run.status in LIVE for run, _, _ in rows) else set()
    now = dt.datetime.now(dt.UTC)
    views = [
        RunView(
            run, email, program, "interrupted" if interrupted(run, running, now) else run.status
        )
        for run, email, program in rows
    ]
    for view in views:
        if view.state == "interrupted":
            shutil.rmtree(run_folder(folder, view.run.id), ignore_errors=True)
    return views
