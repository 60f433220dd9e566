"""A private PostgreSQL + PostGIS cluster, for development and tests.

``initdb`` refuses to run as root, so when we are root the server runs as the ``postgres`` user.
The cluster listens only on a Unix socket inside its own folder: nothing else on the machine
can reach it over the network.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import psycopg

from directory.config import Settings

DATABASE_NAME = "directory"
SERVER_USER = "postgres"


class ClusterError(RuntimeError):
    """The private cluster could not be created, started or stopped."""


def find_bindir(preferred: Path | None = None) -> Path:
    """The PostgreSQL server binaries: ``preferred``, else the newest on this machine."""
    candidates = [preferred] if preferred else []
    candidates += sorted(
        Path("/usr/lib/postgresql").glob("*/bin"),
        key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0,
        reverse=True,
    )
    which = shutil.which("initdb")
    if which:
        candidates.append(Path(which).parent)
    for candidate in candidates:
        if (candidate / "initdb").exists() and (candidate / "pg_ctl").exists():
            return candidate
    raise ClusterError("PostgreSQL server binaries (initdb, pg_ctl) not found")


@dataclass(frozen=True)
class PrivateCluster:
    """A cluster under ``root``: data in ``pgdata/``, socket in ``run/``, log beside them."""

    root: Path
    port: int
    bindir: Path | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> PrivateCluster:
        return cls(
            root=settings.data_dir.resolve(),
            port=settings.private_db_port,
            bindir=settings.pg_bindir,
        )

    @property
    def pgdata(self) -> Path:
        return self.root / "pgdata"

    @property
    def socket_dir(self) -> Path:
        return self.root / "run"

    @property
    def log_file(self) -> Path:
        return self.root / "postgres.log"

    @property
    def url(self) -> str:
        """A plain ``postgresql://`` URL over the cluster's Unix socket."""
        return (
            f"postgresql://{SERVER_USER}@/{DATABASE_NAME}?host={self.socket_dir}&port={self.port}"
        )

    def initialized(self) -> bool:
        return (self.pgdata / "PG_VERSION").exists()

    def running(self) -> bool:
        if not self.initialized():
            return False
        result = self._run(["pg_ctl", "status", "-D", str(self.pgdata)], check=False)
        return result.returncode == 0

    def start(self) -> None:
        """Create the cluster when needed, start it, and make sure the database exists."""
        if not self.initialized():
            self._init()
        if not self.running():
            options = f"-k {self.socket_dir} -p {self.port} -c listen_addresses=''"
            self._run(
                [
                    "pg_ctl",
                    "start",
                    "-w",
                    "-t",
                    "60",
                    "-D",
                    str(self.pgdata),
                    "-l",
                    str(self.log_file),
                    "-o",
                    options,
                ],
            )
        self._create_database()

    def stop(self) -> None:
        """Stop the server; the data stays."""
        if self.running():
            self._run(["pg_ctl", "stop", "-w", "-m", "fast", "-D", str(self.pgdata)])

    def destroy(self) -> None:
        """Stop the server and delete every file of the cluster."""
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)

    def _init(self) -> None:
        for folder in (self.root, self.socket_dir):
            folder.mkdir(parents=True, exist_ok=True)
            self._hand_over(folder)
        self._run(
            [
                "initdb",
                "-D",
                str(self.pgdata),
                "-U",
                SERVER_USER,
                "--auth=trust",
                "--encoding=UTF8",
                "--locale=C.UTF-8",
            ],
        )
        self.log_file.touch()
        self._hand_over(self.log_file)

    def _create_database(self) -> None:
        admin = f"host={self.socket_dir} port={self.port} user={SERVER_USER} dbname=postgres"
        with psycopg.connect(admin, autocommit=True) as conn:
            exists = conn.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", (DATABASE_NAME,)
            ).fetchone()
            if not exists:
                conn.execute(f'CREATE DATABASE "{DATABASE_NAME}"')

    def _hand_over(self, path: Path) -> None:
        """Give a path to the server's user when we run as root."""
        if os.geteuid() == 0:
            entry = pwd.getpwnam(SERVER_USER)
            os.chown(path, entry.pw_uid, entry.pw_gid)

    def _run(self, argv: list[str], *, check: bool = True) -> subprocess.CompletedProcess[str]:
        command = [str(find_bindir(self.bindir) / argv[0]), *argv[1:]]
        if os.geteuid() == 0:
            command = ["runuser", "-u", SERVER_USER, "--", *command]
        result = subprocess.run(command, capture_output=True, text=True, check=False)
        if check and result.returncode != 0:
            tail = ""
            if self.log_file.exists():
                tail = "\n".join(self.log_file.read_text(errors="replace").splitlines()[-15:])
            raise ClusterError(
                f"{argv[0]} failed ({result.returncode}): {result.stderr.strip()}\n{tail}".strip()
            )
        return result
