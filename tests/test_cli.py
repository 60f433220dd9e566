"""The `directory` command end to end, on a private cluster of its own."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from directory.pgcluster import PrivateCluster


@pytest.fixture(scope="module")
def cli_env() -> Iterator[dict[str, str]]:
    root = Path(tempfile.mkdtemp(prefix="directory-cli-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("DIRECTORY_")}
    env |= {"DIRECTORY_DATA_DIR": str(root), "DIRECTORY_PRIVATE_DB_PORT": "55433"}
    yield env
    PrivateCluster(root=root, port=55433).destroy()


def run(env: dict[str, str], *args: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [sys.executable, "-m", "directory", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    if ok:
        assert result.returncode == 0, result.stdout + result.stderr
    return result


def test_database_lifecycle_keeps_data(cli_env: dict[str, str]) -> None:
    stopped = run(cli_env, "db", "status", ok=False)
    assert stopped.returncode == 1
    assert "stopped" in stopped.stdout
    assert "not running" in run(cli_env, "seed", ok=False).stderr

    run(cli_env, "db", "start")
    assert "needs `directory db migrate`" in run(cli_env, "db", "status", ok=False).stdout
    run(cli_env, "db", "migrate")
    assert "current" in run(cli_env, "db", "status").stdout
    seeded = run(cli_env, "seed").stdout
    assert "crisis_lines.yaml:" in seeded and "created" in seeded

    created = run(
        cli_env, "users", "create", "--email", "Coord@Example.org", "--role", "coordinator"
    )
    token = created.stdout.strip().splitlines()[-1]
    assert token.startswith("dir_") and " " not in token
    duplicate = run(
        cli_env, "users", "create", "--email", "coord@example.org", "--role", "mentor", ok=False
    )
    assert duplicate.returncode == 1 and "exists" in duplicate.stderr
    bad_role = run(
        cli_env, "users", "create", "--email", "x@example.org", "--role", "boss", ok=False
    )
    assert bad_role.returncode == 1 and "role" in bad_role.stderr

    run(cli_env, "db", "stop")
    run(cli_env, "db", "start")
    again = run(cli_env, "seed").stdout
    assert "created" not in again.replace("0 created", "")
    assert "unchanged" in again
    cluster = PrivateCluster(root=Path(cli_env["DIRECTORY_DATA_DIR"]), port=55433)
    import psycopg

    with psycopg.connect(
        f"host={cluster.socket_dir} port=55433 user=postgres dbname=directory"
    ) as c:
        stored = c.execute("SELECT token_hash FROM api_token").fetchall()
        emails = c.execute("SELECT email FROM user_account").fetchall()
    assert emails == [("coord@example.org",)]
    assert token not in str(stored)  # stored hashed only

    run(cli_env, "users", "create", "--email", "m@example.org", "--role", "mentor",
        "--program", "Hope Peers")  # fmt: skip
    pattern = run(cli_env, "programs", "code-pattern", "Hope Peers", "HP-[0-9]{4}").stdout
    assert "must match HP-[0-9]{4}" in pattern
    broken = run(cli_env, "programs", "code-pattern", "Hope Peers", "HP-[0-9", ok=False)
    assert broken.returncode == 1 and "not a valid regular expression" in broken.stderr
    escaping = run(cli_env, "programs", "code-pattern", "Hope Peers", "HP-[0-9])|(.*", ok=False)
    assert escaping.returncode == 1 and "not a valid regular expression" in escaping.stderr
    unknown = run(cli_env, "programs", "code-pattern", "Nobody", "X[0-9]", ok=False)
    assert unknown.returncode == 1 and "no program named" in unknown.stderr
    cleared = run(cli_env, "programs", "code-pattern", "Hope Peers", "--clear").stdout
    assert "general rules only" in cleared
    run(cli_env, "db", "stop")


def test_ingest_from_the_command_line(
    cli_env: dict[str, str], datasets_dir: Path, tmp_path: Path
) -> None:
    run(cli_env, "db", "start")
    run(cli_env, "db", "migrate")
    run(cli_env, "seed")
    package = str(datasets_dir / "hsds1-sample-package")
    dry = run(cli_env, "ingest", "auto", package, "--dry-run").stdout
    assert "dry run, nothing written: 13 created" in dry

    report_file = tmp_path / "report.json"
    first = run(
        cli_env, "ingest", "hsds", package, "--source", "sample", "--report", str(report_file)
    )
    assert "13 created" in first.stdout
    import json

    report = json.loads(report_file.read_text())
    assert (report["created"], report["read"], report["source"]) == (13, 13, "sample")
    again = run(cli_env, "ingest", "hsds", package, "--source", "sample").stdout
    assert "0 created, 0 updated, 13 unchanged" in again
    assert "nothing changed" in again

    broken = tmp_path / "broken.json"
    broken.write_text('{"name": ')
    failed = run(cli_env, "ingest", "hsds", str(broken), ok=False)
    assert failed.returncode == 1
    assert failed.stderr.startswith("error: ") and "broken.json" in failed.stderr
    assert "Traceback" not in failed.stderr
    assert "unchanged" in run(cli_env, "ingest", "remap").stdout
    run(cli_env, "db", "stop")


def test_ingest_layouts_and_refusals_from_the_command_line(
    cli_env: dict[str, str], datasets_dir: Path, tmp_path: Path
) -> None:
    """A zipped package, an Ohana export, and the one-line refusals: a generic name without
    --source, a folder of CSVs that is not a format we read, a file where no record loads."""
    import shutil
    import zipfile

    from tests.ingest.test_ohana import EXPORT

    run(cli_env, "db", "start")
    run(cli_env, "db", "migrate")
    run(cli_env, "seed")
    sample = datasets_dir / "hsds1-sample-package"
    archive = tmp_path / "springfield-211.zip"
    with zipfile.ZipFile(archive, "w") as handle:
        handle.write(sample / "datapackage.json", "springfield/datapackage.json")
        for path in sample.glob("*.csv"):
            handle.write(path, f"springfield/data/{path.name}")
    dry = run(cli_env, "ingest", "auto", str(archive), "--dry-run").stdout
    assert "source hsds:springfield-211" in dry and "dry run, nothing written: 13 created" in dry

    ohana = tmp_path / "smc-ohana"
    ohana.mkdir()
    for name, content in EXPORT.items():
        (ohana / name).write_text(content)
    loaded = run(cli_env, "ingest", "auto", str(ohana)).stdout
    assert "(ohana, source ohana:smc-ohana): read 4" in loaded and "4 created" in loaded
    assert "programs.csv: 1 row ignored" in loaded

    export = tmp_path / "export"
    shutil.copytree(sample, export)  # its datapackage.json is named "human_services_data"
    generic = run(cli_env, "ingest", "auto", str(export), "--dry-run", ok=False)
    assert generic.returncode == 1 and "pass --source NAME" in generic.stderr
    assert len(generic.stderr.splitlines()) == 1
    named = run(cli_env, "ingest", "auto", str(export), "--source", "sample-export", "--dry-run")
    assert "source sample-export" in named.stdout

    other = tmp_path / "contacts-list"
    other.mkdir()
    (other / "services.csv").write_text("title,address,phone\nDrop-in,1 Main St,555\n")
    refused = run(cli_env, "ingest", "auto", str(other), ok=False)
    assert refused.returncode == 1 and "not a format this directory reads" in refused.stderr
    assert len(refused.stderr.splitlines()) == 1 and "Traceback" not in refused.stderr

    nameless = tmp_path / "nameless"
    nameless.mkdir()
    rows = "".join(f"s{n},o1,\n" for n in range(3))
    (nameless / "services.csv").write_text("id,organization_id,name\n" + rows)
    for extra in ((), ("--dry-run",)):
        failed = run(cli_env, "ingest", "auto", str(nameless), "--full", *extra, ok=False)
        assert failed.returncode == 1 and "3 rejected" in failed.stdout  # the report still prints
        assert failed.stderr.startswith("error: 0 of 3 records are services: is this the right")
        assert len(failed.stderr.splitlines()) == 1
    run(cli_env, "db", "stop")


def test_invitations_and_demo_accounts_from_the_command_line(cli_env: dict[str, str]) -> None:
    run(cli_env, "db", "start")
    run(cli_env, "db", "migrate")
    env = cli_env | {"DIRECTORY_BASE_URL": "https://directory.example.org/"}
    invited = run(
        env, "users", "invite", "--email", "Ana@Example.org", "--role", "mentor",
        "--program", "Hope Peers",
    ).stdout  # fmt: skip
    link = invited.strip().splitlines()[-1]
    assert link.startswith("https://directory.example.org/welcome/") and " " not in link
    assert "72 hours" in invited
    other_role = run(
        env, "users", "invite", "--email", "ana@example.org", "--role", "admin", ok=False
    )
    assert other_role.returncode == 1 and "already a mentor" in other_role.stderr

    first = run(cli_env, "demo", "accounts").stdout
    links = [line for line in first.splitlines() if "/welcome/" in line]
    assert len(links) == 2
    assert "demo mentor mentor@demo.example.org" in first
    again = run(cli_env, "demo", "accounts").stdout
    assert [line for line in again.splitlines() if "/welcome/" in line] != links  # fresh links
    production = cli_env | {"DIRECTORY_ENV": "production",
                            "DIRECTORY_SECRET_KEY": "Zq7-pW3x_Lm9Rt2Vb8Nc4Yh6Kd1Sf5Gj0",
                            "DIRECTORY_DATABASE_URL": "postgresql://nobody@/none"}  # fmt: skip
    refused = run(production, "demo", "accounts", ok=False)
    assert refused.returncode == 1 and "no demo accounts in production" in refused.stderr
    run(cli_env, "db", "stop")


def test_people_from_the_command_line(cli_env: dict[str, str]) -> None:
    run(cli_env, "db", "start")
    run(cli_env, "db", "migrate")
    run(cli_env, "users", "invite", "--email", "lee@example.org", "--role", "mentor",
        "--program", "Bay Peers")  # fmt: skip
    listed = run(cli_env, "users", "list", "--program", "Bay Peers").stdout
    assert "lee@example.org  mentor  Bay Peers  active, invited" in listed
    run(cli_env, "users", "set-role", "lee@example.org", "coordinator")
    run(cli_env, "users", "set-program", "lee@example.org", "Harbor Peers")
    reset = run(cli_env, "users", "reset-sign-in", "lee@example.org").stdout
    assert "/welcome/" in reset.strip().splitlines()[-1]
    assert "revoked" in run(cli_env, "users", "revoke-tokens", "lee@example.org").stdout
    run(cli_env, "users", "deactivate", "lee@example.org")
    after = run(cli_env, "users", "list", "--program", "Harbor Peers").stdout
    assert "lee@example.org  coordinator  Harbor Peers  INACTIVE" in after
    assert "lee@example.org" not in run(cli_env, "users", "list", "--active-only").stdout
    unknown = run(cli_env, "users", "deactivate", "nobody@example.org", ok=False)
    assert unknown.returncode == 1 and "no account for nobody@example.org" in unknown.stderr
    neither = run(cli_env, "users", "set-program", "lee@example.org", ok=False)
    assert neither.returncode == 1 and "give a program, or --none" in neither.stderr
    made = run(cli_env, "keys", "create", "--name", "Clinic site", "--origin",
               "https://clinic.example", "--program", "Harbor Peers").stdout  # fmt: skip
    raw = made.strip().splitlines()[-1]
    listed = run(cli_env, "keys", "list").stdout
    assert f"{raw[:10]}...  Clinic site  Harbor Peers  https://clinic.example" in listed
    assert raw not in listed  # the key itself is shown once, at creation
    run(cli_env, "keys", "revoke", raw[:10])
    assert "1 key(s)" not in run(cli_env, "keys", "list").stdout
    assert "REVOKED" in run(cli_env, "keys", "list", "--revoked").stdout
    run(cli_env, "db", "stop")
