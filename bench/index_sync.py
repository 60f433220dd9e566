"""Index sync speed: listings a second into the postgres index, and into Meilisearch documents.

Starts a throwaway private PostGIS (or uses DIRECTORY_DATABASE_URL; an existing bench import of
the same size is reused), imports BENCH_LISTINGS generated listings (default 100,000) with
`directory ingest`, then times
  1. `directory index rebuild`'s work for the postgres index (`sync.rebuild`): every listing's
     documents read and written, in one transaction;
  2. every listing's Meilisearch documents built and serialised as they are sent (no server).
With BENCH_READ_ONLY=1 it only reads (2. alone, in a read-only transaction, no import): for a
database that is not its own. BENCH_SOURCE names the import to reuse (default bench-index; a
database `bench/scale.py` filled: bench). Not a test.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import func, select, text

sys.path.insert(0, str(Path(__file__).resolve().parent))

from database import with_database
from generate_listings import import_generated

from directory.db import make_engine, make_sessionmaker
from directory.listings.models import Service
from directory.search import sync
from directory.search.meili_documents import Encoder, meili_document

SOURCE = os.environ.get("BENCH_SOURCE", "bench-index")


def run(url: str) -> None:
    read_only = os.environ.get("BENCH_READ_ONLY") == "1"
    factory = make_sessionmaker(make_engine(url))
    if not read_only:
        _import(url, int(os.environ.get("BENCH_LISTINGS", "100000")))
    with factory() as session:
        listings = session.scalar(
            select(func.count(Service.id)).where(
                Service.curation_status == "published", Service.status == "active"
            )
        )
        server = _server_pid(session.scalar(select(func.pg_backend_pid())))
    print(f"{listings:,} searchable listings")
    if not read_only:
        started, cpu, database = time.perf_counter(), time.process_time(), _server_cpu(server)
        written = sync.rebuild(factory)
        used = _server_cpu(server) - database
        extra = f", database CPU {used:.1f} s" if server else ""
        _report("postgres index", listings, written, time.perf_counter() - started, cpu, extra)
    with factory() as session:
        session.execute(text("SET TRANSACTION READ ONLY"))
        started, cpu, built, size = time.perf_counter(), time.process_time(), 0, 0
        for docs in sync.all_documents(session):
            size += len(json.dumps([meili_document(doc) for doc in docs], cls=Encoder))
            built += len(docs)
        seconds = time.perf_counter() - started
    _report("Meilisearch documents", listings, built, seconds, cpu, f", {size / 1e6:,.0f} MB JSON")


def _import(url: str, count: int) -> None:
    env = {**os.environ, "DIRECTORY_DATABASE_URL": url, "DIRECTORY_INDEX_SYNC_INTERVAL": "0"}
    cli = [sys.executable, "-m", "directory"]
    subprocess.run([*cli, "db", "migrate"], env=env, check=True, capture_output=True)
    subprocess.run([*cli, "seed", "--no-demo"], env=env, check=True, capture_output=True)
    import_generated(url, env, count, SOURCE)


def _report(
    what: str, listings: int, docs: int, seconds: float, cpu: float, extra: str = ""
) -> None:
    """Wall time, and this process's CPU time (on a busy machine, the steadier figure; the
    database's own is given apart when it runs here: the rebuild overlaps the two, so on two
    free cores its time is near the larger)."""
    cpu = time.process_time() - cpu
    print(
        f"{what}: {docs:,} documents of {listings:,} listings in {seconds:.1f} s,"
        f" {listings / seconds:,.0f} listings/s (Python CPU {cpu:.1f} s){extra}"
    )


def _server_pid(backend: int) -> int | None:
    """The database server's main process, when it runs on this machine (else None)."""
    try:
        return int(Path(f"/proc/{backend}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, ValueError, IndexError):
        return None


def _server_cpu(server: int | None) -> float:
    """CPU seconds of the database server's processes: its children's (a backend's, the
    writer's, autovacuum's), those of children gone (counted in the server's own)."""
    if server is None:
        return 0.0
    ticks = 0
    for entry in Path("/proc").iterdir():
        try:
            stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if entry.name == str(server) or stat[1] == str(server):
            ticks += int(stat[11]) + int(stat[12])
            if entry.name == str(server):
                ticks += int(stat[13]) + int(stat[14])
    return ticks / os.sysconf("SC_CLK_TCK")


def main() -> None:
    with_database(run, port=int(os.environ.get("BENCH_PORT", "55877")))


if __name__ == "__main__":
    main()
