"""``directory export hsds OUT`` from the command line, on the test database's seeded listings."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from directory.hsds.columns import TABLES


def run(database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DIRECTORY_")}
    env["DIRECTORY_DATABASE_URL"] = database_url
    return subprocess.run(
        [sys.executable, "-m", "directory", "export", "hsds", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


def test_export_prints_counts_and_refuses_to_overwrite(
    database_url: str, engine: object, tmp_path: Path
) -> None:
    out = tmp_path / "hsds.zip"
    done = run(database_url, str(out))
    assert done.returncode == 0, done.stderr
    counted = [line.split(":")[0] for line in done.stdout.splitlines()[:-1]]
    assert counted == list(TABLES)
    assert done.stdout.splitlines()[-1] == f"written to {out}"
    again = run(database_url, str(out))
    assert again.returncode == 1
    assert again.stderr.startswith("error: ") and "--force" in again.stderr
    assert run(database_url, str(out), "--force").returncode == 0


def test_an_out_of_the_wrong_kind_is_one_line(
    database_url: str, engine: object, tmp_path: Path
) -> None:
    """A folder named like a zip, a file where a folder goes, a file where OUT's folder goes:
    `error: ...` on one line and exit code 1, no traceback."""
    (tmp_path / "hsds.zip").mkdir()
    (tmp_path / "package").write_text("mine")
    cases = [
        ("hsds.zip", "is a folder"),
        ("package", "is not a folder"),
        ("package/hsds.zip", "cannot write"),
    ]
    for name, said in cases:
        refused = run(database_url, str(tmp_path / name), "--force")
        assert refused.returncode == 1, refused.stderr
        assert refused.stderr.startswith("error: ") and said in refused.stderr
        assert len(refused.stderr.splitlines()) == 1, refused.stderr
    assert (tmp_path / "package").read_text() == "mine"
