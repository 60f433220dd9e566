"""Imports from the console: an uploaded file is stored, checked by a dry run, then imported
once a coordinator confirms it. The same code path as ``directory ingest`` (``runs_work``)."""

from __future__ import annotations

import datetime as dt
import re
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from directory.accounts import audit
from directory.accounts.models import User
from directory.accounts.roles import require
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


class TooLarge(DirectoryError):
    """The uploaded file is over the size limit."""

    status_code = 413


@dataclass(frozen=True)
class RunView:
    """A run as the pages show it: who uploaded it, and its state (``interrupted`` for a run
    whose server stopped while it imported)."""

    run: ImportRun
    by: str | None
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
        .where(ImportRun.id == run_id, ImportRun.status == "checked")
        .values(status="running", confirmed_by=user.id, started_at=func.now(), progress=0)
        .returning(ImportRun.id)
    )
    if started is None:
        _existing(session, run_id)
        return False
    audit.record(session, user, "import.confirm", None, run_id=str(run_id))
    return True


def discard(session: Session, user: User, run_id: uuid.UUID, *, folder: Path) -> bool:
    """Drop a checked run and its file without importing; False when it is past that."""
    require(user, "curate")
    dropped = session.scalar(
        update(ImportRun)
        .where(ImportRun.id == run_id, ImportRun.status == "checked")
        .values(status="discarded", finished_at=func.now())
        .returning(ImportRun.id)
    )
    if dropped is None:
        _existing(session, run_id)
        return False
    shutil.rmtree(run_folder(folder, run_id), ignore_errors=True)
    audit.record(session, user, "import.discard", None, run_id=str(run_id))
    return True


def read_run(session: Session, user: User, run_id: uuid.UUID) -> RunView:
    """One run with its reports."""
    require(user, "curate")
    views = _views(session, run_id=run_id)
    if not views:
        raise NotFound(f"no import {run_id}")
    return views[0]


def recent_runs(session: Session, user: User, *, limit: int = RECENT) -> list[RunView]:
    """The latest runs, newest first."""
    require(user, "curate")
    return _views(session, limit=limit)


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


def _existing(session: Session, run_id: uuid.UUID) -> None:
    if session.get(ImportRun, run_id) is None:
        raise NotFound(f"no import {run_id}")


def _views(session: Session, *, run_id: uuid.UUID | None = None, limit: int = 1) -> list[RunView]:
    query = (
        select(ImportRun, User.email)
        .outerjoin(User, User.id == ImportRun.created_by)
        .order_by(ImportRun.created_at.desc())
        .limit(limit)
    )
    if run_id is not None:
        query = query.where(ImportRun.id == run_id)
    rows = session.execute(query).all()
    live = ("checking", "running")
    running = alive(session) if any(run.status in live for run, _ in rows) else set()
    now = dt.datetime.now(dt.UTC)
    return [
        RunView(run, email, "interrupted" if interrupted(run, running, now) else run.status)
        for run, email in rows
    ]
