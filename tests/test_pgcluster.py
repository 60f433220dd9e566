"""The private cluster finds a folder its server user can reach, whatever the data folder."""

from __future__ import annotations

import os
import pwd
import shutil
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from directory import pgcluster
from directory.config import Settings
from directory.pgcluster import ClusterError, PrivateCluster, reachable

PORT = 55441


def _account_exists() -> bool:
    try:
        pwd.getpwnam(pgcluster.SERVER_USER)
    except KeyError:
        return False
    return True


as_root = pytest.mark.skipif(
    os.geteuid() != 0 or not _account_exists(),
    reason="the fallback folder is only used as root, with a `postgres` user to run the server",
)


@pytest.fixture
def locked_folder() -> Iterator[Path]:
    """A folder only its owner (root, in the tests that need it) can enter."""
    folder = Path(tempfile.mkdtemp(prefix="directory-locked-"))
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def _stat(mode: int, uid: int, gid: int) -> os.stat_result:
    return os.stat_result((stat.S_IFDIR | mode, 0, 0, 1, uid, gid, 0, 0, 0, 0))


def test_traversal_follows_the_first_matching_class() -> None:
    may = pgcluster._may_traverse
    assert may(_stat(0o755, 0, 0), uid=101, gids={104})  # others may
    assert not may(_stat(0o700, 0, 0), uid=101, gids={104})  # root's own
    assert may(_stat(0o710, 0, 104), uid=101, gids={104})  # through the group
    assert not may(_stat(0o705, 0, 104), uid=101, gids={104})  # the group's bits decide
    assert not may(_stat(0o075, 101, 0), uid=101, gids={104})  # the owner's bits decide


def test_reachable_reads_every_ancestor(tmp_path: Path) -> None:
    me = pwd.getpwuid(os.geteuid())
    ghost = pwd.struct_passwd(("directory-ghost", "x", 54321, 54321, "", "/", "/bin/false"))
    open_folder = tmp_path / "open"
    open_folder.mkdir(mode=0o755)
    assert reachable(open_folder / "data" / "deeper", me)
    closed = tmp_path / "closed"
    closed.mkdir()
    closed.chmod(0o700)
    assert reachable(closed / "data", me)
    assert not reachable(closed / "data", ghost)
    assert not reachable(closed / "data", ghost, new_folders=0o755)
    (open_folder / "file").touch()
    assert not reachable(open_folder / "file", me)


def test_without_root_the_data_folder_is_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pgcluster.os, "geteuid", lambda: 1000)  # any user but root
    cluster = PrivateCluster.for_data_dir(tmp_path / "data", port=PORT)
    assert cluster.root == (tmp_path / "data").resolve() and cluster.data_dir is None


@as_root
def test_a_folder_the_server_cannot_reach_falls_back_and_stays(locked_folder: Path) -> None:
    data_dir = locked_folder / "checkout" / ".directory"
    settings = Settings(data_dir=data_dir, private_db_port=PORT)
    cluster = PrivateCluster.from_settings(settings)
    assert cluster.root.parent == pgcluster.FALLBACK_BASE
    assert cluster.data_dir == data_dir.resolve()
    assert PrivateCluster.from_settings(Settings(data_dir=data_dir, private_db_port=PORT)) == (
        cluster
    )
    assert not cluster.initialized(), f"left over from an earlier run: {cluster.root}"
    try:
        cluster.start()
        with psycopg.connect(cluster.url) as connection:
            row = connection.execute("SELECT current_database(), current_user").fetchone()
        assert row == ("directory", "postgres")

        server = pwd.getpwnam(pgcluster.SERVER_USER)
        info = cluster.root.stat()
        assert (info.st_uid, stat.S_IMODE(info.st_mode)) == (server.pw_uid, 0o700)
        for parent in (pgcluster.FALLBACK_BASE, pgcluster.FALLBACK_BASE.parent):
            info = parent.stat()
            assert (info.st_uid, stat.S_IMODE(info.st_mode)) == (0, 0o755)
        assert cluster.pointer_file is not None
        assert cluster.pointer_file.read_text().splitlines()[0] == str(cluster.root)
        assert not (data_dir / "pgdata").exists()

        # every later command (status, stop, serve, migrate) finds the same cluster
        again = PrivateCluster.from_settings(Settings(data_dir=data_dir, private_db_port=PORT))
        assert again == cluster and again.running()
        cluster.stop()
        assert not again.running() and again.initialized()
    finally:
        cluster.destroy()
    assert not cluster.root.exists() and not cluster.pointer_file.exists()


@as_root
def test_a_reachable_folder_keeps_the_cluster(locked_folder: Path) -> None:
    # the data folder itself may be closed: it is handed over to the server's user
    cluster = PrivateCluster.for_data_dir(locked_folder, port=PORT)
    assert cluster.root == locked_folder.resolve() and cluster.data_dir is None


@as_root
def test_when_the_fallback_is_unreachable_too_the_error_says_what_to_do(
    locked_folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pgcluster, "FALLBACK_BASE", locked_folder / "clusters")
    cluster = PrivateCluster.for_data_dir(locked_folder / "data", port=PORT)
    assert cluster.root.parent == locked_folder / "clusters"
    with pytest.raises(ClusterError, match="set DIRECTORY_DATA_DIR to a folder it can reach"):
        cluster.start()
    assert not cluster.root.exists()


@pytest.mark.skipif(os.geteuid() != 0, reason="only root needs a server user")
def test_a_missing_server_user_is_named(
    locked_folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pgcluster, "SERVER_USER", "directory-no-such-user")
    cluster = PrivateCluster.for_data_dir(locked_folder / "data", port=PORT)
    with pytest.raises(ClusterError, match=r"no `directory-no-such-user` user.*apt-get install"):
        cluster.start()
