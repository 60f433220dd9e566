"""The terminal side of ``directory ingest``: progress, the summary, the JSON report."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from sqlalchemy.orm import Session, sessionmaker

from directory.db import unit_of_work
from directory.ingest.formats import resolve
from directory.ingest.load import run_import
from directory.ingest.remap import remap
from directory.ingest.report import ImportReport

PLAIN_EVERY = 1000


def run_ingest(
    factory: sessionmaker[Session],
    format_name: str,
    path: Path,
    *,
    source: str | None,
    dry_run: bool,
    full: bool,
    report_file: Path | None,
) -> None:
    """Import one file in one transaction (rolled back for a dry run) and report."""
    fmt = resolve(format_name, path)
    source = source or f"{fmt.name}:{path.stem}"
    with factory() as session, session.begin() as transaction:
        report = _with_progress(
            lambda tick: run_import(
                session, fmt, path, source=source, dry_run=dry_run, full=full, progress=tick
            )
        )
        if dry_run:
            transaction.rollback()
    _show(report, report_file)


def _with_progress(work: object) -> ImportReport:
    assert callable(work)
    if not sys.stdout.isatty():

        def plain(count: int) -> None:
            if count % PLAIN_EVERY == 0:
                typer.echo(f"... {count} records read")

        result: ImportReport = work(plain)
        return result
    columns = (
        TextColumn("importing"),
        BarColumn(),
        TextColumn("{task.completed} records"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, transient=True) as progress:
        task = progress.add_task("import", total=None)
        result = work(lambda count: progress.update(task, completed=count))
    return result


def _show(report: ImportReport, report_file: Path | None) -> None:
    for line in report.summary():
        typer.echo(line)
    if report_file is not None:
        report_file.write_text(json.dumps(report.to_json(), indent=2, default=str))
        typer.echo(f"report written to {report_file}")


def run_remap(factory: sessionmaker[Session], *, source: str | None) -> None:
    """Re-apply the mapping tables to every stored raw record."""
    with unit_of_work(factory) as session:
        counts = remap(session, source=source)
    typer.echo(", ".join(f"{n} {what}" for what, n in sorted(counts.items())) or "nothing stored")
