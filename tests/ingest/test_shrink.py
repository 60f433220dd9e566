"""``--full`` with a file cut short: refused when it would deactivate a large share of a
source's listings, unless ``--allow-shrink``; the console's import fails with the same words."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from directory.accounts.service import create_user
from directory.errors import Conflict
from directory.ingest import runs
from directory.ingest.formats import formats
from directory.ingest.load import run_import
from directory.ingest.runs_work import check
from directory.listings.models import Provenance, Service

HEADER = (
    '"","name1","name2","street1","street2","city","state","zip","zip4","county","phone",'
    '"intake_prompt","intake1","intake2","website","latitude","longitude","type_facility"\n'
)


def locator(path: Path, rows: int) -> Path:
    """A SAMHSA locator CSV of facilities 1..rows (a shorter one is the same file cut short)."""
    lines = [
        f'"{i}","Shrink Peers {i}","","{i} Main Street","","Waterbury","CT",6708,,"New Haven",'
        f'"860-276-{3000 + i}","","","","",41.56,-73.06,"MH"\n'
        for i in range(1, rows + 1)
    ]
    path.write_text(HEADER + "".join(lines), encoding="utf-8")
    return path


def active(session: Session, source: str) -> int:
    linked = select(Provenance.service_id).where(Provenance.source == source)
    query = select(func.count()).where(Service.id.in_(linked), Service.status == "active")
    return session.scalar(query) or 0


def test_a_file_cut_short_is_refused_with_the_numbers(session: Session, tmp_path: Path) -> None:
    """Failed before: --full deactivated 80 of the source's 100 listings without a word."""
    source, fmt = f"test:shrink-{uuid.uuid4().hex[:6]}", formats()["samhsa-locator"]
    run_import(session, fmt, locator(tmp_path / "all.csv", 100), source=source)
    short = locator(tmp_path / "short.csv", 20)
    with pytest.raises(Conflict) as refused:
        run_import(session, fmt, short, source=source, full=True)
    assert refused.value.detail == (
        f"--full would deactivate 80 of the 100 active listings of {source} (80%; more than"
        " 20% and more than 50 are refused): is the file complete? If it is, import it with"
        " `directory ingest --full --allow-shrink`; nothing was written"
    )
    report = run_import(session, fmt, short, source=source, full=True, allow_shrink=True)
    assert (report.counts["deactivated"], active(session, source)) == (80, 20)


def test_a_shrink_within_either_bound_passes(session: Session, tmp_path: Path) -> None:
    source, fmt = f"test:shrink-{uuid.uuid4().hex[:6]}", formats()["samhsa-locator"]
    run_import(session, fmt, locator(tmp_path / "all.csv", 400), source=source)
    report = run_import(session, fmt, locator(tmp_path / "a.csv", 330), source=source, full=True)
    assert report.counts["deactivated"] == 70  # more than 50, but 17.5% of 400
    report = run_import(session, fmt, locator(tmp_path / "b.csv", 290), source=source, full=True)
    assert report.counts["deactivated"] == 40  # not more than 50 (the 70 inactive do not count)
    assert active(session, source) == 290


def test_the_console_import_fails_with_the_same_refusal(
    session: Session, session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    user, _ = create_user(
        session, email=f"c-{uuid.uuid4().hex[:8]}@example.org", role="coordinator", program="S"
    )
    data = locator(tmp_path / "harbor-peers.csv", 100).read_bytes()
    fmt, source = formats()["samhsa-locator"], f"test:console-{uuid.uuid4().hex[:6]}"
    run_import(session, fmt, tmp_path / "harbor-peers.csv", source=source)
    short = io.BytesIO(data[: data.index(b'"31","Shrink')])  # the upload cut after 30 rows
    folder = tmp_path / "runs"
    run = runs.submit(
        session, user, short, file_name="harbor-peers.csv", format_name="samhsa-locator",
        source=source, full=True, folder=folder, max_bytes=1 << 20,
    )  # fmt: skip
    check(session_factory, run.id, folder)
    session.refresh(run)
    assert (run.status, run.error) == (
        "failed",
        f"--full would deactivate 70 of the 100 active listings of {source} (70%; more than"
        " 20% and more than 50 are refused): is the file complete? If it is, import it with"
        " `directory ingest --full --allow-shrink`; nothing was written",
    )
    assert active(session, source) == 100


def test_the_command_refuses_then_allows_with_allow_shrink(
    engine: Engine, database_url: str, tmp_path: Path
) -> None:
    source = f"test:cli-shrink-{uuid.uuid4().hex[:6]}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("DIRECTORY_")}
    env["DIRECTORY_DATABASE_URL"] = database_url

    def ingest(path: Path, *options: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "directory", "ingest", "samhsa-locator", str(path)]
        return subprocess.run(
            [*command, "--source", source, *options],
            env=env, capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip

    try:
        assert ingest(locator(tmp_path / "all.csv", 100)).returncode == 0
        short = locator(tmp_path / "short.csv", 20)
        refused = ingest(short, "--full")
        assert refused.returncode == 1
        assert refused.stderr.strip().splitlines() == [
            f"error: --full would deactivate 80 of the 100 active listings of {source} (80%; more"
            " than 20% and more than 50 are refused): is the file complete? If it is, import it"
            " with `directory ingest --full --allow-shrink`; nothing was written"
        ]
        allowed = ingest(short, "--full", "--allow-shrink")
        assert allowed.returncode == 0, allowed.stderr
        assert "80 deactivated" in allowed.stdout
    finally:  # the command committed: leave no listing behind for other tests to count
        with engine.begin() as connection:
            gone = "SELECT service_id FROM provenance WHERE source = :source"
            connection.execute(
                text(f"DELETE FROM service WHERE id IN ({gone})"), {"source": source}
            )
