"""The ``directory`` command: database, seed data, users and the API server.

Each command imports the services it runs in its own body, so that reading the command line
stays light (see ``cli_support``)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from directory.accounts.cli import keys_app, programs_app, users_app
from directory.cli_support import engine, fail, private_cluster, sessions, settings, unit
from directory.errors import DirectoryError
from directory.referrals.cli import referrals_app

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker

    from directory.pgcluster import PrivateCluster
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
app.add_typer(referrals_app, name="referrals")
export_app = typer.Typer(help="Export the published listings.", no_args_is_help=True)
app.add_typer(export_app, name="export")


@db_app.command("start")
def db_start() -> None:
    """Create (first time) and start the private PostGIS cluster under the data folder."""
    from directory.pgcluster import ClusterError

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
    from directory import migrate

    database = engine()
    migrate.upgrade(database)
    with database.connect() as connection:
        typer.echo(f"database at migration {migrate.current_revision(connection)}")


@db_app.command("status")
def db_status() -> None:
    """Where the database is, whether it runs, and whether it is current."""
    from directory import migrate

    cluster = private_cluster()
    where = f"private cluster in {cluster.root}" if cluster else "DIRECTORY_DATABASE_URL"
    typer.echo(f"database: {where}")
    if cluster is not None and not cluster.running():
        typer.echo("state: stopped (run `directory db start`)")
        raise typer.Exit(code=1)
    current = _database_revision(cluster)
    head = migrate.head_revision()
    state = "current" if current == head else "needs `directory db migrate`"
    typer.echo(f"state: running; migration {current or 'none'} (newest {head}): {state}")
    if current != head:
        raise typer.Exit(code=1)


def _database_revision(cluster: PrivateCluster | None) -> str | None:
    """The migration the database is at; fails (one line) when it cannot be reached. It is
    asked with the driver alone: importing SQLAlchemy would be most of the time."""
    from directory import migrate

    configured = settings()
    url = cluster.url if cluster is not None else migrate.libpq_url(configured.database_url or "")
    if url is None:
        raise fail("DIRECTORY_DATABASE_URL is not a PostgreSQL URL (postgresql://...)")
    import psycopg

    password = configured.database_password if cluster is None else None
    try:
        return migrate.revision_at(
            url, connect_timeout=configured.db_connect_timeout, password=password
        )
    except psycopg.OperationalError as error:
        raise fail(f"database unreachable: {error}") from None
    except psycopg.ProgrammingError as error:  # a URL libpq cannot read
        raise fail(f"DIRECTORY_DATABASE_URL: {error}") from None


@app.command("seed")
def seed(
    demo: Annotated[
        bool | None,
        typer.Option("--demo/--no-demo", help="Load the demo region (default: not in production)"),
    ] = None,
) -> None:
    """Load the needs taxonomy, national crisis lines and demo region (idempotent)."""
    from directory.listings.seed import seed_all

    configured = settings()
    factory = sessions()
    with_demo = configured.env != "production" if demo is None else demo
    with unit(factory) as session:
        report = seed_all(session, configured.seed_dir, demo=with_demo)
    for name, counts in report.items():
        summary = ", ".join(f"{counts[k]} {k}" for k in ("created", "updated", "unchanged"))
        typer.echo(f"{name}: {summary}")
    _index_pending(factory)


demo_app = typer.Typer(help="The demo region's fictional listings.", no_args_is_help=True)
app.add_typer(demo_app, name="demo")


@demo_app.command("accounts")
def demo_accounts() -> None:
    """Make (once) a demo mentor and a demo coordinator in the demo program, and print their
    sign-in links (new ones each time, until they have chosen a password)."""
    from directory.accounts.invites import demo_accounts as ensure
    from directory.accounts.invites import link_url
    from directory.listings.demo import DEMO_PROGRAM

    configured = settings()
    if configured.env == "production":
        raise fail("no demo accounts in production")
    with unit() as session:
        accounts = [(u.role, u.email, t) for u, t in ensure(session, program=DEMO_PROGRAM)]
    typer.echo("Demo accounts (fictional data only; `directory demo remove` deletes the demo):")
    base_url = configured.base_url
    for role, email, token in accounts:
        where = link_url(base_url, token) if token else "set up: sign in with its password"
        typer.echo(f"  demo {role} {email}: {where}")


@demo_app.command("remove")
def demo_remove() -> None:
    """Delete the listings only the demo seed holds, and their search documents, and turn the
    demo accounts off (idempotent)."""
    from directory.accounts.invites import retire_demo_accounts
    from directory.listings.demo import remove_demo

    factory = sessions()
    with unit(factory) as session:
        removed = remove_demo(session)
        retired = retire_demo_accounts(session)
    typer.echo(f"removed {removed} demo listing(s); `directory seed --no-demo` keeps them out")
    typer.echo(f"turned off {retired} demo account(s)")
    _index_pending(factory)


def _backends() -> Backends:
    """The configured search backends, with Meilisearch's settings applied (idempotent)."""
    from directory.search.backends import Backends

    backends = Backends.from_settings(settings())
    backends.prepare()
    return backends


def _index_pending(factory: sessionmaker[Session]) -> None:
    """Index the outbox's pending changes, and say how many."""
    from directory.search import sync

    typer.echo(f"search index: {sync.drain(factory, backends=_backends())} change(s) indexed")


@index_app.command("sync")
def index_sync(
    follow: Annotated[
        bool, typer.Option("--follow", help="Keep draining the outbox until interrupted")
    ] = False,
) -> None:
    """Index the pending listing changes (the outbox), batch by batch."""
    from directory.search import sync

    factory = sessions()
    _index_pending(factory)
    if follow:
        interval = settings().index_sync_interval or 1.0
        follower = sync.Follower(factory, backends=_backends(), interval=interval)
        try:
            follower.run()
        except KeyboardInterrupt:
            follower.stopping.set()


@index_app.command("rebuild")
def index_rebuild() -> None:
    """Rebuild the search index from every listing, in one transaction (search never empties)."""
    from directory.search import sync

    written = sync.rebuild(sessions(), backends=_backends())
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

    factory = sessions()
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


@app.command("backup")
def backup_command(
    file: Annotated[Path, typer.Argument(help="Where to write it (pg_dump's custom format)")],
) -> None:
    """Write the whole database to FILE (listings, accounts, referrals, history, the index)."""
    from directory.backup import BackupError, backup
    from directory.db import database_url

    configured = settings()
    engine().dispose()  # fail clearly when the private database is not running
    try:
        size = backup(database_url(configured), file, bindir=configured.pg_bindir)
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
    from directory.db import database_url

    configured = settings()
    engine().dispose()
    if not yes:
        typer.confirm("Replace everything in the database with the backup?", abort=True)
    try:
        restore(database_url(configured), file, bindir=configured.pg_bindir)
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
        with unit() as session:
            # one snapshot for every table: a listing edited meanwhile is in all or in none
            snapshot = {"isolation_level": "REPEATABLE READ", "postgresql_readonly": True}
            session.connection(execution_options=snapshot)
            counts = export_hsds(session, out, force=force)
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
    from directory import logs
    from directory.serving import serve_processes

    configured = settings()
    logs.configure(configured.log_format)  # this process's; each worker configures its own
    engine().dispose()  # fail early and clearly when the database is not there
    host, port = host or configured.host, port or configured.port
    count = workers or configured.workers
    # one process's figures need no sharing; several share theirs in files
    shared = configured.data_dir / "metrics" if configured.metrics_token and count > 1 else None
    try:
        status = serve_processes(host, port, count, metrics_dir=shared)
    except OSError as error:
        raise fail(f"cannot listen on {host}:{port}: {error.strerror or error}") from None
    raise typer.Exit(status)
