"""The terminal side of ``directory ingest``: progress, the summary, the JSON report."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from sqlalchemy.orm import Session, sessionmaker

from directory.db import unit_of_work
from directory.ingest.formats import package_files, resolve
from directory.ingest.load import run_import
from directory.ingest.records import FormatError
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
    allow_shrink: bool = False,
) -> None:
    """Import one file in one transaction (rolled back for a dry run) and report.

    An import where no record loads fails, after the report, and writes nothing (with --full it
    would otherwise deactivate every listing of the source): the file is most likely not in the
    format it was read as. With --full, one that would deactivate a large share of the source's
    listings is refused too (a file cut short), unless ``allow_shrink``.
    """
    fmt = resolve(format_name, path)
    source = source or default_source(fmt.name, path)
    with factory() as session, session.begin() as transaction:
        options = {"dry_run": dry_run, "full": full, "allow_shrink": allow_shrink}
        report = _with_progress(
            lambda tick: run_import(session, fmt, path, source=source, progress=tick, **options)
        )
        if dry_run or not report.loaded():
            transaction.rollback()
    _show(report, report_file)
    if not report.loaded():
        raise FormatError(nothing_loaded(report))


def default_source(format_name: str, path: Path, *, ask: str = "pass --source NAME") -> str:
    """``FORMAT:name``: the package's own name (datapackage.json), else the file's or folder's;
    a name that says nothing ("export", "data", HSDS's "human_services_data") would make two
    imports share one source, the second deactivating the first with --full: refused (``ask``
    says how to give a name instead)."""
    package = package_files.package_path(path)
    own = package.resolve().name if package is not None and package.is_dir() else path.stem
    name = next(
        (n for n in (package_files.package_name(path), own) if n and not package_files.generic(n)),
        None,
    )
    if name is None:
        raise FormatError(
            f"{path.name or path}: its name {own!r} says nothing about the data and would mix"
            f" this import with others under one source: {ask}",
            field="source",
        )
    return f"{format_name}:{name.strip()[:80]}"


def nothing_loaded(report: ImportReport) -> str:
    """The one line that says why an import that loaded nothing failed."""
    written = "" if report.dry_run else "; nothing written"
    if report.read:
        return (
            f"{report.loaded()} of {report.read} records are services: is this the right"
            f" format? (read as {report.format}{written})"
        )
    rejected = f" ({report.rejected_count} rows rejected)" if report.rejected_count else ""
    return (
        f"no records read from {Path(report.path).name}{rejected}: is this the right format?"
        f" (read as {report.format}{written})"
    )


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
