"""Backups: the whole database to one file in pg_dump's custom format, and back.

``pg_dump`` and ``pg_restore`` come from the PostgreSQL binaries this machine has (the private
cluster's, ``DIRECTORY_PG_BINDIR``). A password never appears on their command line (where
``ps`` would show it): it goes in ``PGPASSWORD``. A restore runs in one transaction: a file
that cannot be restored whole changes nothing.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from sqlalchemy.engine import make_url

from directory.errors import DirectoryError
from directory.pgcluster import find_bindir


class BackupError(DirectoryError):
    """pg_dump or pg_restore failed; the detail is their own message."""

    status_code = 500


def _connection(url: str) -> tuple[list[str], dict[str, str]]:
    """libpq options for a database URL, and the environment carrying its password."""
    parsed = make_url(url)
    options = [f"--dbname={parsed.database}"] if parsed.database else []
    host = parsed.host or parsed.query.get("host")
    if host:
        options.append(f"--host={host if isinstance(host, str) else host[0]}")
    port = parsed.port or parsed.query.get("port")
    if port:
        options.append(f"--port={port if not isinstance(port, tuple) else port[0]}")
    if parsed.username:
        options.append(f"--username={parsed.username}")
    env = {**os.environ, "PGCONNECT_TIMEOUT": "10"}
    if parsed.password:
        env["PGPASSWORD"] = str(parsed.password)
    return options, env


def _run(command: list[str], env: dict[str, str]) -> None:
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        message = (done.stderr or done.stdout).strip().splitlines()
        raise BackupError(f"{Path(command[0]).name} failed: {' '.join(message[-3:])}")


def backup(url: str, file: Path, *, bindir: Path | None = None) -> int:
    """Write the whole database to ``file`` (custom format, compressed); its size in bytes."""
    options, env = _connection(url)
    tool = find_bindir(bindir) / "pg_dump"
    _run([str(tool), "--format=custom", "--no-owner", f"--file={file}", *options], env)
    return file.stat().st_size


def restore(url: str, file: Path, *, bindir: Path | None = None) -> None:
    """Replace the database's content with a backup's, in one transaction."""
    if not file.is_file():
        raise BackupError(f"{file} is not a file")
    options, env = _connection(url)
    tool = find_bindir(bindir) / "pg_restore"
    flags = ["--clean", "--if-exists", "--no-owner", "--single-transaction", "--exit-on-error"]
    _run([str(tool), *flags, *options, str(file)], env)
