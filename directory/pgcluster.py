"""A private PostgreSQL + PostGIS cluster, for development and tests.

``initdb`` refuses to run as root, so when we are root the server runs as the ``postgres`` user.
That user must reach the cluster's folder: when the configured data folder lies somewhere it
cannot traverse (a checkout under ``/root``, mode 700), the cluster's files go to a folder derived
from the configured one, ``/var/lib/directory/clusters/<hash>/``, and a note in the data folder
says where. The cluster listens only on a Unix socket inside its own folder: nothing else on the
machine can reach it over the network.
"""

from __future__ import annotations

import hashlib
import os
import pwd
import shutil
import stat
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from directory.config import Settings

DATABASE_NAME = "directory"
SERVER_USER = "postgres"
# Where a cluster goes when the server user cannot reach the configured data folder (as root).
FALLBACK_BASE = Path("/var/lib/directory/clusters")
# Left in the configured data folder when the cluster lives in the fallback folder.
POINTER_FILE = "cluster-location.txt"


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


def server_account() -> pwd.struct_passwd:
    """The OS user the server runs as when we are root."""
    try:
        return pwd.getpwnam(SERVER_USER)
    except KeyError:
        raise ClusterError(
            f"there is no `{SERVER_USER}` user on this machine, and as root the database server"
            f" must run as it (initdb refuses root): install the PostgreSQL server package"
            f" (`apt-get install postgresql-15 postgresql-15-postgis-3`, as `make setup` does),"
            f" or set DIRECTORY_DATABASE_URL to a database of your own"
        ) from None


def fallback_root(data_dir: Path) -> Path:
    """The cluster folder used for ``data_dir`` when the server user cannot reach it."""
    digest = hashlib.sha256(str(data_dir).encode()).hexdigest()[:12]
    return FALLBACK_BASE / digest


def cluster_root(data_dir: Path) -> Path:
    """Where the cluster of the (resolved) data folder ``data_dir`` keeps its files.

    The data folder itself, unless we are root and the server user cannot reach it; then
    :func:`fallback_root`. A cluster that exists already stays where it is, so every command
    finds the same one.
    """
    if os.geteuid() != 0 or _initialized(data_dir):
        return data_dir
    fallback = fallback_root(data_dir)
    if _initialized(fallback):
        return fallback
    try:
        account = pwd.getpwnam(SERVER_USER)
    except KeyError:  # `start` says what to do
        return data_dir
    return data_dir if reachable(data_dir, account) else fallback


def reachable(folder: Path, account: pwd.struct_passwd, *, new_folders: int | None = None) -> bool:
    """Whether ``account`` can keep a cluster in ``folder`` once root created it and handed it
    over: every ancestor traversable by it, and the folder writable by its owner. Missing folders
    will be made by root with mode ``new_folders`` (default: what the umask leaves). From the mode
    bits; ACLs are not read."""
    gids = set(os.getgrouplist(account.pw_name, account.pw_gid))
    created = 0o777 & ~_umask() if new_folders is None else new_folders
    for parent in reversed(folder.parents):  # "/" first
        try:
            info = parent.stat()
        except FileNotFoundError:
            return bool(created & stat.S_IXOTH) and created & 0o300 == 0o300
        except OSError:
            return False
        if not stat.S_ISDIR(info.st_mode) or not _may_traverse(info, account.pw_uid, gids):
            return False
    try:
        info = folder.stat()
    except FileNotFoundError:
        return created & 0o300 == 0o300
    except OSError:
        return False
    # handed over: its owner's bits are the server's
    return stat.S_ISDIR(info.st_mode) and info.st_mode & 0o300 == 0o300


def _may_traverse(info: os.stat_result, uid: int, gids: set[int]) -> bool:
    """The search (x) permission, as the kernel decides it: owner's bits, else group's, else
    others' (the first class that matches decides, even when a later one would allow)."""
    if info.st_uid == uid:
        return bool(info.st_mode & stat.S_IXUSR)
    if info.st_gid in gids:
        return bool(info.st_mode & stat.S_IXGRP)
    return bool(info.st_mode & stat.S_IXOTH)


def _umask() -> int:
    """This process's umask, read without changing it (Linux), else by setting it back."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except OSError:
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _initialized(root: Path) -> bool:
    return (root / "pgdata" / "PG_VERSION").exists()


@dataclass(frozen=True)
class PrivateCluster:
    """A cluster under ``root``: data in ``pgdata/``, socket in ``run/``, log beside them.

    ``data_dir`` is the configured data folder when the files live elsewhere (the fallback).
    """

    root: Path
    port: int
    bindir: Path | None = None
    data_dir: Path | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> PrivateCluster:
        return cls.for_data_dir(
            settings.data_dir, port=settings.private_db_port, bindir=settings.pg_bindir
        )

    @classmethod
    def for_data_dir(
        cls, data_dir: Path, *, port: int, bindir: Path | None = None
    ) -> PrivateCluster:
        """The cluster of a configured data folder, wherever its files must live."""
        configured = data_dir.resolve()
        root = cluster_root(configured)
        return cls(
            root=root, port=port, bindir=bindir, data_dir=None if root == configured else configured
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
    def pointer_file(self) -> Path | None:
        """The note in the configured data folder saying where the cluster is (fallback only)."""
        return self.data_dir / POINTER_FILE if self.data_dir is not None else None

    @property
    def url(self) -> str:
        """A plain ``postgresql://`` URL over the cluster's Unix socket."""
        return (
            f"postgresql://{SERVER_USER}@/{DATABASE_NAME}?host={self.socket_dir}&port={self.port}"
        )

    def initialized(self) -> bool:
        return _initialized(self.root)

    def running(self) -> bool:
        if not self.initialized():
            return False
        result = self._run(["pg_ctl", "status", "-D", str(self.pgdata)], check=False)
        return result.returncode == 0

    def start(self) -> None:
        """Create the cluster when needed, start it, and make sure the database exists."""
        self._check_reachable()
        if self.data_dir is not None:
            self._leave_pointer()
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
        """Stop the server and delete every file of the cluster (and the note pointing at it)."""
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)
        if self.pointer_file is not None:
            self.pointer_file.unlink(missing_ok=True)

    def _check_reachable(self) -> None:
        if os.geteuid() != 0:
            return
        new_folders = 0o755 if self.data_dir is not None else None  # see _init
        if reachable(self.root, server_account(), new_folders=new_folders):
            return
        configured = self.data_dir or self.root
        tried = f"{configured}" + (f" nor {self.root}" if self.data_dir else "")
        raise ClusterError(
            f"the `{SERVER_USER}` user, which runs the database server, cannot reach {tried}"
            f" (a folder on the way is not traversable by it, or the folder is not writable):"
            f" set DIRECTORY_DATA_DIR to a folder it can reach, e.g."
            f" `DIRECTORY_DATA_DIR=/var/lib/directory/mine`"
        )

    def _leave_pointer(self) -> None:
        assert self.data_dir is not None and self.pointer_file is not None
        self.data_dir.mkdir(parents=True, exist_ok=True)
        note = (
            f"{self.root}\n\nThe private database cluster of this data folder lives in the folder"
            f" above: the `{SERVER_USER}` user, which runs the server, cannot reach this one.\n"
        )
        if not self.pointer_file.exists() or self.pointer_file.read_text() != note:
            self.pointer_file.write_text(note)
        print(
            f"the database cluster lives in {self.root} (see {self.pointer_file})", file=sys.stderr
        )

    def _init(self) -> None:
        if self.data_dir is not None:
            # the fallback: parents root's and open (0755), the cluster folder the server's alone
            for parent in reversed(self.root.parents):
                if not parent.exists():
                    parent.mkdir()
                    parent.chmod(0o755)
            self.root.mkdir(mode=0o700, exist_ok=True)
            self.root.chmod(0o700)
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
        import psycopg  # only this needs the driver: reading the settings or the status does not

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
            entry = server_account()
            os.chown(path, entry.pw_uid, entry.pw_gid)

    def _run(self, argv: list[str], *, check: bool = True) -> subprocess.CompletedProcess[str]:
        command = [str(find_bindir(self.bindir) / argv[0]), *argv[1:]]
        if os.geteuid() == 0:
            command = ["runuser", "-u", server_account().pw_name, "--", *command]
        result = subprocess.run(command, capture_output=True, text=True, check=False)
        if check and result.returncode != 0:
            tail = ""
            if self.log_file.exists():
                tail = "\n".join(self.log_file.read_text(errors="replace").splitlines()[-15:])
            raise ClusterError(
                f"{argv[0]} failed ({result.returncode}): {result.stderr.strip()}\n{tail}".strip()
            )
        return result
