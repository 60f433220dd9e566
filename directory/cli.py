"""The ``directory`` command: database, seed data, users and the API server."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy.exc import OperationalError

from directory import migrate
from directory.accounts.cli import keys_app, programs_app, users_app
from directory.cli_support import engine, fail, private_cluster
from directory.config import get_settings
from directory.db import database_url, make_engine, make_sessionmaker, unit_of_work
from directory.errors import DirectoryError
from directory.listings.demo import remove_demo
from directory.listings.seed import seed_all
from directory.pgcluster import ClusterError
from directory.referrals.notes import cipher_for, rotate_all
from directory.referrals.privacy import purge
from directory.search import sync
from directory.search.backends import Backends

app = typer.Typer(
    help="Referral and resource directory for peer-mentoring programs.", no_args_is_help=True
)
db_app = typer.Typer(help="The database: private cluster and migrations.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(users_app, name="users")
index_app = typer.Typer(help="The search index.", no_args_is_help=True)
app.add_typer(index_app, name="index")
app.add_typer(programs_app, name="programs")
app.add_typer(keys_app, name="keys")
referrals_app = typer.Typer(
    help="Referrals: retention purge, note key rotation.", no_args_is_help=True
)
app.add_typer(referrals_app, name="referrals")
export_app = typer.Typer(help="Export the published listings.", no_args_is_help=True)
app.add_typer(export_app, name="export")


@db_app.command("start")
def db_start() -> None:
    """Create (first time) and start the private PostGIS cluster under the data folder."""
    cluster = private_cluster()
    if cluster is None:
        typer.echo("DIRECTORY_DATABASE_URL is set: nothing to start")
        return
    try:
        cluster.start()
    except ClusterError as error:
        raise fail(str(error)) from None
    typer.echo(f"private database running: {cluster.url}")


@db_app.command("stop")
def db_stop() -> None:
    """Stop the private cluster (its data stays)."""
    cluster = private_cluster()
    if cluster is None:
        typer.echo("DIRECTORY_DATABASE_URL is set: nothing to stop")
        return
    cluster.stop()
    typer.echo("private database stopped")


@db_app.command("destroy")
def db_destroy(
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation")] = False,
) -> None:
    """Stop the private cluster and delete all of its data (wherever it lives)."""
    cluster = private_cluster()
    if cluster is None:
        typer.echo("DIRECTORY_DATABASE_URL is set: nothing to destroy")
        return
    if not yes:
        typer.confirm(
            f"Delete the private database in {cluster.root} and all its data?", abort=True
        )
    cluster.destroy()
    typer.echo(f"private database deleted ({cluster.root})")


@db_app.command("migrate")
def db_migrate() -> None:
    """Upgrade the database to the newest migration."""
    database = engine()
    migrate.upgrade(database)
    with database.connect() as connection:
        typer.echo(f"database at migration {migrate.current_revision(connection)}")


@db_app.command("status")
def db_status() -> None:
    """Where the database is, whether it runs, and whether it is current."""
    cluster = private_cluster()
    where = f"private cluster in {cluster.root}" if cluster else "DIRECTORY_DATABASE_URL"
    typer.echo(f"database: {where}")
    if cluster is not None and not cluster.running():
        typer.echo("state: stopped (run `directory db start`)")
        raise typer.Exit(code=1)
    try:
        with make_engine(database_url(get_settings())).connect() as connection:
            current = migrate.current_revision(connection)
    except OperationalError as error:
        raise fail(f"database unreachable: {error.orig}") from None
    head = migrate.head_revision()
    state = "current" if current == head else "needs `directory db migrate`"
    typer.echo(f"state: running; migration {current or 'none'} (newest {head}): {state}")
    if current != head:
        raise typer.Exit(code=1)


@app.command("seed")
def seed(
    demo: Annotated[
        bool | None,
        typer.Option("--demo/--no-demo", help="Load the demo region (default: not in production)"),
    ] = None,
) -> None:
    """Load the needs taxonomy, national crisis lines and demo region (idempotent)."""
    settings = get_settings()
    factory = make_sessionmaker(engine())
    with_demo = settings.env != "production" if demo is None else demo
    try:
        with unit_of_work(factory) as session:
            report = seed_all(session, settings.seed_dir, demo=with_demo)
    except DirectoryError as error:
        raise fail(error.detail) from None
    for name, counts in report.items():
        summary = ", ".join(f"{counts[k]} {k}" for k in ("created", "updated", "unchanged"))
        typer.echo(f"{name}: {summary}")
    typer.echo(f"search index: {sync.drain(factory, backends=_backends())} change(s) indexed")


demo_app = typer.Typer(help="The demo region's fictional listings.", no_args_is_help=True)
app.add_typer(demo_app, name="demo")


@demo_app.command("accounts")
def demo_accounts() -> None:
    """Make (once) a demo mentor and a demo coordinator in the demo program, and print their
    sign-in links (new ones each time, until they have chosen a password)."""
    from directory.accounts.invites import demo_accounts as ensure
    from directory.accounts.invites import link_url
    from directory.listings.demo import DEMO_PROGRAM

    settings = get_settings()
    if settings.env == "production":
        raise fail("no demo accounts in production")
    with unit_of_work(make_sessionmaker(engine())) as session:
        accounts = [(u.role, u.email, t) for u, t in ensure(session, program=DEMO_PROGRAM)]
    typer.echo("Demo accounts (fictional data only; `directory demo remove` deletes the demo):")
    for role, email, token in accounts:
        where = link_url(settings.base_url, token) if token else "set up: sign in with its password"
        typer.echo(f"  demo {role} {email}: {where}")


@demo_app.command("remove")
def demo_remove() -> None:
    """Delete the listings only the demo seed holds, and their search documents, and turn the
    demo accounts off (idempotent)."""
    from directory.accounts.invites import retire_demo_accounts

    factory = make_sessionmaker(engine())
    try:
        with unit_of_work(factory) as session:
            removed = remove_demo(session)
            retired = retire_demo_accounts(session)
    except DirectoryError as error:
        raise fail(error.detail) from None
    typer.echo(f"removed {removed} demo listing(s); `directory seed --no-demo` keeps them out")
    typer.echo(f"turned off {retired} demo account(s)")
    typer.echo(f"search index: {sync.drain(factory, backends=_backends())} change(s) indexed")


def _backends() -> Backends:
    """The configured search backends, with Meilisearch's settings applied (idempotent)."""
    backends = Backends.from_settings(get_settings())
    backends.prepare()
    return backends


@index_app.command("sync")
def index_sync(
    follow: Annotated[
        bool, typer.Option("--follow", help="Keep draining the outbox until interrupted")
    ] = False,
) -> None:
    """Index the pending listing changes (the outbox), batch by batch."""
    factory = make_sessionmaker(engine())
    typer.echo(f"search index: {sync.drain(factory, backends=_backends())} change(s) indexed")
    if follow:
        interval = get_settings().index_sync_interval or 1.0
        follower = sync.Follower(factory, backends=_backends(), interval=interval)
        try:
            follower.run()
        except KeyboardInterrupt:
            follower.stopping.set()


@index_app.command("rebuild")
def index_rebuild() -> None:
    """Rebuild the search index from every listing, in one transaction (search never empties)."""
    written = sync.rebuild(make_sessionmaker(engine()), backends=_backends())
    typer.echo(f"search index rebuilt: {written} document(s)")


@app.command("ingest")
def ingest(
    format_name: Annotated[
        str,
        typer.Argument(
            metavar="FORMAT",
            help="hsds, ohana, samhsa-directory, samhsa-locator, crisis-lines, auto; "
            "or `remap` to re-apply changed mappings to stored records",
        ),
    ],
    path: Annotated[
        Path | None, typer.Argument(help="The file, or the package as a folder or a .zip")
    ] = None,
    source: Annotated[
        str | None,
        typer.Option(
            help="Provenance source name (default: FORMAT:the package's name, else the file's "
            "or folder's; a generic name such as `export` is refused)"
        ),
    ] = None,
    dry_run: Annotated[bool, typer.Option(help="Report what would change; change nothing")] = False,
    full: Annotated[
        bool, typer.Option(help="Records of the source missing from the file become inactive")
    ] = False,
    report: Annotated[Path | None, typer.Option(help="Also write the report as JSON")] = None,
    allow_shrink: Annotated[
        bool,
        typer.Option(
            help="With --full, deactivate even more than 20% (and more than 50) of the source's "
            "listings; refused without it, as a file cut short does that"
        ),
    ] = False,
) -> None:
    """Import a directory file with provenance, merging and a row-level report. An import where
    no record loads fails (exit 1) and writes nothing."""
    from directory.ingest.cli import run_ingest, run_remap

    factory = make_sessionmaker(engine())
    try:
        if format_name == "remap":
            run_remap(factory, source=source)
            return
        if path is None:
            raise fail("give the file to import: directory ingest FORMAT PATH")
        run_ingest(
            factory,
            format_name,
            path,
            source=source,
            dry_run=dry_run,
            full=full,
            report_file=report,
            allow_shrink=allow_shrink,
        )
    except DirectoryError as error:
        raise fail(error.detail) from None


@referrals_app.command("rotate-keys")
def referrals_rotate_keys() -> None:
    """Re-encrypt every referral note and event text with the first of DIRECTORY_NOTE_KEYS."""
    settings = get_settings()
    try:
        with unit_of_work(make_sessionmaker(engine())) as session:
            count = rotate_all(
                session,
                cipher_for(
                    settings.note_keys, settings.secret_key, legacy=settings.env != "production"
                ),
            )
    except DirectoryError as error:
        raise fail(error.detail) from None
    typer.echo(f"re-encrypted {count} text(s) with the newest key; older keys can now be removed")


@referrals_app.command("purge")
def referrals_purge(
    older_than: Annotated[
        str, typer.Option("--older-than", help="Retention, in days: 365d")
    ] = "365d",
) -> None:
    """Strip the free text of referrals closed longer ago than the retention (figures stay)."""
    text = older_than.strip().lower()
    if not text.endswith("d") or not text[:-1].isdigit() or not 1 <= int(text[:-1]) <= 36_500:
        raise fail(f"--older-than takes a number of days such as 365d, not {older_than!r}")
    with unit_of_work(make_sessionmaker(engine())) as session:
        count = purge(session, older_than=dt.timedelta(days=int(text[:-1])))
    typer.echo(f"purged the free text of {count} closed referral(s) older than {text}")


@app.command("backup")
def backup_command(
    file: Annotated[Path, typer.Argument(help="Where to write it (pg_dump's custom format)")],
) -> None:
    """Write the whole database to FILE (listings, accounts, referrals, history, the index)."""
    from directory.backup import BackupError, backup

    settings = get_settings()
    engine().dispose()  # fail clearly when the private database is not running
    try:
        size = backup(database_url(settings), file, bindir=settings.pg_bindir)
    except BackupError as error:
        raise fail(error.detail) from None
    typer.echo(f"backed up to {file} ({size:,} bytes)")


@app.command("restore")
def restore_command(
    file: Annotated[Path, typer.Argument(help="A file `directory backup` wrote")],
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask")] = False,
) -> None:
    """Replace the database's content with FILE's, in one transaction (all or nothing)."""
    from directory.backup import BackupError, restore

    settings = get_settings()
    engine().dispose()
    if not yes:
        typer.confirm("Replace everything in the database with the backup?", abort=True)
    try:
        restore(database_url(settings), file, bindir=settings.pg_bindir)
    except BackupError as error:
        raise fail(error.detail) from None
    typer.echo(f"restored from {file}; run `directory db migrate` if the backup is older")


@export_app.command("hsds")
def export_hsds_command(
    out: Annotated[
        Path,
        typer.Argument(
            help="A folder (CSV files and datapackage.json), a .zip of them, or a .ndjson file"
        ),
    ],
    force: Annotated[
        bool, typer.Option("--force", help="Overwrite an existing file or non-empty folder")
    ] = False,
) -> None:
    """Write the published listings as Open Referral HSDS 3.0: a tabular package or NDJSON."""
    from directory.hsds.export import export_hsds

    try:
        with unit_of_work(make_sessionmaker(engine())) as session:
            # one snapshot for every table: a listing edited meanwhile is in all or in none
            snapshot = {"isolation_level": "REPEATABLE READ", "postgresql_readonly": True}
            session.connection(execution_options=snapshot)
            counts = export_hsds(session, out, force=force)
    except DirectoryError as error:
        raise fail(error.detail) from None
    except OSError as error:  # e.g. no permission to write beside OUT
        raise fail(f"cannot write {out}: {error.strerror or error}") from None
    for table, count in counts.items():
        typer.echo(f"{table}: {count}")
    typer.echo(f"written to {out}")


@app.command("serve")
def serve(
    host: Annotated[str | None, typer.Option(help="Interface to listen on")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on")] = None,
    workers: Annotated[
        int | None, typer.Option(min=1, max=32, help="Processes (default DIRECTORY_WORKERS)")
    ] = None,
) -> None:
    """Serve the API (OpenAPI at /docs)."""
    import uvicorn

    from directory import logs
    from directory.api.app import create_app

    settings = get_settings()
    logs.configure(settings.log_format)  # this process's; each worker configures its own
    engine().dispose()  # fail early and clearly when the database is not there
    host, port, count = host or settings.host, port or settings.port, workers or settings.workers
    if count == 1:
        uvicorn.run(
            create_app(settings),
            host=host,
            port=port,
            # uvicorn's access line has the query string; the app logs its own (access_log)
            access_log=False,
            log_config=None,  # uvicorn's lines go through ours (directory.logs)
            forwarded_allow_ips=settings.forwarded_allow_ips,
        )
    else:
        from directory.serving import serve_processes

        shared = settings.data_dir / "metrics" if settings.metrics_token else None
        try:
            status = serve_processes(host, port, count, metrics_dir=shared)
        except OSError as error:
            raise fail(f"cannot listen on {host}:{port}: {error.strerror or error}") from None
        raise typer.Exit(status)
