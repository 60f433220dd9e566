"""A streaming replica of the test cluster, for the read-replica tests.

``pg_basebackup -R`` copies the primary (the throwaway cluster of tests/conftest.py, or the server
DIRECTORY_TEST_DATABASE_URL names, if it allows replication) into a private cluster of its own,
which starts as a hot standby on a free port (its Unix socket in its own folder, as the primary's)
and streams from the primary. PostgreSQL 15's defaults allow this (wal_level=replica,
max_wal_senders=10, initdb's ``local replication`` trust entry): pgcluster.py sets nothing more.
As root the server binaries run as ``postgres`` (initdb and pg_ctl refuse root), as for the primary.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg.rows import TupleRow

from directory.pgcluster import PrivateCluster, find_bindir, server_account
from tests.dburl import libpq_url
from tests.redisserver import free_port

WAIT = 30.0  # seconds to stream, or to catch up


@dataclass(frozen=True)
class StreamingReplica:
    """A hot standby of ``primary_url``'s server, in ``cluster``."""

    cluster: PrivateCluster
    primary_url: str

    def url(self, database: str) -> str:
        """A plain ``postgresql://`` URL of ``database`` on the replica."""
        return libpq_url(self.cluster.url, database)

    def admin(self) -> psycopg.Connection[TupleRow]:
        return psycopg.connect(self.url("postgres"), autocommit=True)

    def start(self) -> None:
        """Start it (again) and wait until it streams."""
        self.cluster.start()
        self.wait_streaming()

    def stop(self) -> None:
        self.cluster.stop()

    def wait_streaming(self) -> None:
        """Until the replica is in recovery and the primary sends it WAL."""
        with self.admin() as replica:
            assert replica.execute("SELECT pg_is_in_recovery()").fetchone() == (True,)
        _until(self._streams, "the replica to stream")

    def _streams(self) -> bool:
        with psycopg.connect(libpq_url(self.primary_url), autocommit=True) as primary:
            row = primary.execute(
                "SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'"
            ).fetchone()
        return row is not None and row[0] > 0

    def catch_up(self) -> None:
        """Until the replica has replayed everything the primary wrote so far."""
        with psycopg.connect(libpq_url(self.primary_url), autocommit=True) as primary:
            row = primary.execute("SELECT pg_current_wal_lsn()::text").fetchone()
        assert row is not None
        target = row[0]
        with self.admin() as replica:

            def replayed() -> bool:
                found = replica.execute(
                    "SELECT pg_wal_lsn_diff(pg_last_wal_replay_lsn(), %s::pg_lsn) >= 0", (target,)
                ).fetchone()
                return found == (True,)

            _until(replayed, "the replica to catch up")

    @contextmanager
    def replay_paused(self) -> Iterator[None]:
        """The replica stops replaying what it receives (it keeps what it had), then resumes."""
        with self.admin() as replica:
            replica.execute("SELECT pg_wal_replay_pause()")
            _until(
                lambda: (
                    replica.execute("SELECT pg_get_wal_replay_pause_state()").fetchone()
                    == ("paused",)
                ),
                "the replay to pause",
            )
        try:
            yield
        finally:
            with self.admin() as replica:
                replica.execute("SELECT pg_wal_replay_resume()")


@contextmanager
def streaming_replica(primary_url: str) -> Iterator[StreamingReplica]:
    """A replica of ``primary_url``'s server, streaming; stopped and deleted at the end."""
    root = Path(tempfile.mkdtemp(prefix="directory-replica-"))
    cluster = PrivateCluster(root=root, port=free_port())
    try:
        _hand_over(root, cluster.socket_dir)
        _run(
            "pg_basebackup",
            ["-D", str(cluster.pgdata), "-R", "-X", "stream", "-c", "fast"],
            ["-d", libpq_url(primary_url)],
        )
        replica = StreamingReplica(cluster, primary_url)
        replica.start()
        yield replica
    finally:
        cluster.destroy()


def _hand_over(root: Path, socket_dir: Path) -> None:
    """The folders, to the server's user when we are root (as pgcluster does)."""
    socket_dir.mkdir()
    if os.geteuid() == 0:
        account = server_account()
        for folder in (root, socket_dir):
            os.chown(folder, account.pw_uid, account.pw_gid)


def _run(program: str, *argv: list[str]) -> None:
    command = [str(find_bindir() / program), *(arg for part in argv for arg in part)]
    if os.geteuid() == 0:
        command = ["runuser", "-u", server_account().pw_name, "--", *command]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, f"{program} failed: {done.stderr.strip()}"


def _until(ready: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + WAIT
    while not ready():
        assert time.monotonic() < deadline, f"waited {WAIT:g} s for {what}"
        time.sleep(0.05)
