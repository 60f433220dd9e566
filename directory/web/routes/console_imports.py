"""Imports from the console: upload a file, read its dry run, confirm, watch it, read the report.

The size limit is checked twice: on the length the browser declares, before anything is read
(the body is then read and dropped, so that the browser shows our page rather than a broken
connection), and while the file is copied to the data folder, a chunk at a time.
"""

from __future__ import annotations

import uuid
from pathlib import Path

from fastapi import APIRouter, BackgroundTasks, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from directory.accounts.models import User
from directory.api.deps import SessionDep
from directory.config import Settings
from directory.errors import DirectoryError, InvalidInput
from directory.ingest import runs
from directory.ingest.models import ImportRun
from directory.ingest.runs_work import check, execute
from directory.web.deps import PageContext, Staff, checked_form
from directory.web.forms import whole_number
from directory.web.templating import gettext, render
from directory.web.vocab import N_

router = APIRouter(dependencies=[PageContext], include_in_schema=False)
FORM_SLACK = 64 * 1024  # what a multipart body holds besides the file (fields, boundaries)
DRAIN_MAX = 1 << 30  # a declared body bigger than this is not even read to the end
SHOWN = 200  # rows of each table on a run's page (all of them in its JSON report)
NOTICES = {
    "started": N_("The import has started. This page follows it."),
    "already": N_("This import was already started or ended: nothing more was done."),
    "discarded": N_("Discarded: nothing was imported, and the file is deleted."),
}


@router.get("/console/imports")
def imports_page(request: Request, session: SessionDep, user: Staff) -> Response:
    return _imports_page(request, session, user)


@router.post("/console/imports")
async def upload(
    request: Request, session: SessionDep, user: Staff, tasks: BackgroundTasks
) -> Response:
    settings: Settings = request.app.state.settings
    if not await _declared_within(request, settings.import_max_bytes + FORM_SLACK):
        refusal = runs.TooLarge("the file is over the limit", field="file")
        return await run_in_threadpool(_imports_page, request, session, user, error=refusal)
    form = await checked_form(request)
    parts = await request.form()  # the same, parsed once: with the file
    try:
        run = await run_in_threadpool(_submit, request, session, user, form, parts.get("file"))
    except DirectoryError as error:
        page = _imports_page
        return await run_in_threadpool(page, request, session, user, error=error, form=form)
    finally:
        await parts.close()
    # after the response, so after this request's transaction commits
    tasks.add_task(check, request.app.state.import_sessionmaker, run.id, settings.imports_dir)
    return RedirectResponse(f"/console/imports/{run.id}", 303)


@router.get("/console/imports/{run_id}")
def run_page(request: Request, session: SessionDep, user: Staff, run_id: uuid.UUID) -> Response:
    view = runs.read_run(session, user, run_id, folder=request.app.state.settings.imports_dir)
    notice = NOTICES.get(request.query_params.get("notice") or "")
    context = {
        "view": view,
        "report": view.run.import_report or view.run.check_report or {},
        "notice": gettext(request, notice) if notice else None,
        "shown": SHOWN,
    }
    response = render(request, "console/import.html", context)
    if view.state in ("checking", "running"):  # the page follows the run without a script
        response.headers["Refresh"] = "2"
    return response


@router.get("/console/imports/{run_id}/report.json")
def run_report(request: Request, session: SessionDep, user: Staff, run_id: uuid.UUID) -> Response:
    folder = request.app.state.settings.imports_dir
    run = runs.read_run(session, user, run_id, folder=folder).run
    body = {"dry_run": run.check_report, "import": run.import_report, "error": run.error}
    disposition = f'attachment; filename="import-{run.id}.json"'
    return JSONResponse(body, headers={"Content-Disposition": disposition})


@router.post("/console/imports/{run_id}/confirm")
async def confirm(
    request: Request, session: SessionDep, user: Staff, run_id: uuid.UUID, tasks: BackgroundTasks
) -> Response:
    await checked_form(request)
    started = await run_in_threadpool(runs.confirm, session, user, run_id)
    if started:
        folder = request.app.state.settings.imports_dir
        tasks.add_task(execute, request.app.state.import_sessionmaker, run_id, folder)
    notice = "started" if started else "already"
    return RedirectResponse(f"/console/imports/{run_id}?notice={notice}", 303)


@router.post("/console/imports/{run_id}/discard")
async def discard(
    request: Request, session: SessionDep, user: Staff, run_id: uuid.UUID
) -> Response:
    await checked_form(request)
    folder = request.app.state.settings.imports_dir
    dropped = await run_in_threadpool(_discard, session, user, run_id, folder)
    notice = "discarded" if dropped else "already"
    return RedirectResponse(f"/console/imports/{run_id}?notice={notice}", 303)


def _discard(session: Session, user: User, run_id: uuid.UUID, folder: Path) -> bool:
    return runs.discard(session, user, run_id, folder=folder)


def _submit(
    request: Request, session: Session, user: User, form: dict[str, str], file: object
) -> ImportRun:
    if not isinstance(file, UploadFile) or not file.filename:
        raise InvalidInput("choose a file to import", field="file")
    settings: Settings = request.app.state.settings
    return runs.submit(
        session, user, file.file,
        file_name=file.filename, format_name=form.get("format") or "auto",
        source=form.get("source"), full=form.get("full") == "1",
        folder=settings.imports_dir, max_bytes=settings.import_max_bytes,
    )  # fmt: skip


def _imports_page(
    request: Request,
    session: Session,
    user: User,
    *,
    error: DirectoryError | None = None,
    form: dict[str, str] | None = None,
) -> Response:
    settings: Settings = request.app.state.settings
    context = {
        "views": runs.recent_runs(session, user, folder=settings.imports_dir),
        "formats": runs.format_names(),
        "limit_mb": round(settings.import_max_bytes / 1024**2, 1),
        "error": error,
        "form": form or {},
    }
    status = error.status_code if error is not None else 200
    return render(request, "console/imports.html", context, status=status)


async def _declared_within(request: Request, limit: int) -> bool:
    """Whether the body's declared length is within ``limit``; when it is not (or not given),
    the body is read and dropped."""
    declared = whole_number(request.headers.get("content-length"), most=2**62)
    if declared is not None and declared <= limit:
        return True
    if declared is not None and declared <= DRAIN_MAX:
        async for _ in request.stream():
            pass
    return False
