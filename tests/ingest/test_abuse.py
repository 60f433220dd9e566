"""Hostile and broken files: an ingest killed outright, JSON nested without end, a workbook that
expands past what one import reads, a file full of bad rows."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
import zipfile
from pathlib import Path

import openpyxl
import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from directory.ingest import limits
from directory.ingest.formats import resolve
from directory.ingest.load import run_import
from directory.ingest.records import FormatError
from directory.listings.models import Provenance

LOCATOR_HEADER = (
    '"","name1","name2","street1","street2","city","state","zip","zip4","county","phone",'
    '"intake_prompt","intake1","intake2","website","latitude","longitude","type_facility"\n'
)


def locator_file(path: Path, rows: int) -> Path:
    """A SAMHSA locator CSV of ``rows`` distinct facilities."""
    with path.open("w", encoding="utf-8") as out:
        out.write(LOCATOR_HEADER)
        for i in range(1, rows + 1):
            out.write(
                f'"{i}","Harbor Peers {i}","","{i} Main Street","","Waterbury","CT",6708,,'
                f'"New Haven","860-276-{i % 10_000:04d}","","","","",41.56,-73.06,"MH"\n'
            )
    return path


def ingest(database_url: str, *args: str, **popen: object) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DIRECTORY_")}
    env |= {"DIRECTORY_DATABASE_URL": database_url, "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen(  # type: ignore[call-overload, no-any-return]
        [sys.executable, "-m", "directory", "ingest", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **popen,
    )


def group_members(group: int) -> set[int]:
    """The live (not zombie) processes of a process group, from /proc."""
    found = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        state, _ppid, pgrp = stat.rsplit(")", 1)[1].split()[:3]
        if int(pgrp) == group and state != "Z":
            found.add(int(entry.name))
    return found


# Linux only, as the project is (it always runs there, CI included): the worker's death signal
# is Linux's PR_SET_PDEATHSIG, and the test reads the process table from /proc.
@pytest.mark.skipif(
    sys.platform != "linux", reason="Linux only: PR_SET_PDEATHSIG, and the process table in /proc"
)
def test_an_ingest_killed_outright_leaves_no_worker_and_nothing_written(
    engine: Engine, database_url: str, tmp_path: Path
) -> None:
    """Failed before the worker died with its loader: it lived on, blocked on its queue."""
    source = f"test:killed-{uuid.uuid4().hex[:8]}"
    path = locator_file(tmp_path / "big.csv", 60_000)
    with ingest(database_url, "samhsa-locator", str(path), "--source", source,
                start_new_session=True) as process:  # fmt: skip
        try:
            kill_mid_run(process)
        finally:
            for pid in group_members(process.pid):
                os.kill(pid, signal.SIGKILL)
    with engine.connect() as connection:
        written = select(func.count()).where(Provenance.source == source)
        assert connection.scalar(written) == 0


def kill_mid_run(process: subprocess.Popen[str]) -> None:
    """Kill -9 the ingest past its first bulk write (5,000 rows), while its worker runs; then
    within 5 s, no process of its group may be left."""
    assert process.stdout is not None and process.stderr is not None
    for line in process.stdout:
        if line.startswith("... 7000 records read"):
            break
    else:
        pytest.fail("the ingest ended early: " + process.stderr.read())
    assert group_members(process.pid) - {process.pid}, "no worker process was started"
    os.kill(process.pid, signal.SIGKILL)
    process.wait(timeout=10)
    deadline = time.monotonic() + 5
    while group_members(process.pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert group_members(process.pid) == set()


def deep(levels: int) -> str:
    return "[" * levels + "]" * levels


def test_a_deeply_nested_json_file_is_one_line_and_exit_1(
    engine: Engine, database_url: str, tmp_path: Path
) -> None:
    """Failed before: a 160-line RecursionError traceback."""
    path = tmp_path / "deep.json"
    path.write_text(deep(100_000))
    with ingest(database_url, "hsds", str(path), "--source", "test:deep") as process:
        _, err = process.communicate(timeout=60)
    assert process.returncode == 1
    assert err.strip().splitlines() == [
        "error: deep.json: JSON nested more than 64 levels deep; not a directory file"
    ]


SERVICE = '{"name": "x", "status": "active", "extra": X}'


@pytest.mark.parametrize(
    ("name", "text", "format_name"),
    [
        ("service.json", SERVICE.replace("X", deep(80)), "hsds"),
        (
            "services.ndjson",
            SERVICE.replace("X", deep(5000)) + "\n",
            "hsds",
        ),
        ("lines.json", deep(100_000), "crisis-lines"),
        ("lines.yaml", "services:\n  - " + deep(5000) + "\n", "crisis-lines"),
    ],
)
def test_nesting_past_the_limit_is_refused_in_every_json_reader(
    tmp_path: Path, name: str, text: str, format_name: str
) -> None:
    path = tmp_path / name
    path.write_text(text)
    fmt = resolve(format_name, path)
    with pytest.raises(FormatError, match="nested"):
        list(fmt.read(path))


def facilities(path: Path, rows: int, *, named_every: int = 1) -> Path:
    """A SAMHSA directory workbook (write-only, streamed); only every ``named_every``-th row has
    a name, the others are rejected rows."""
    workbook = openpyxl.Workbook(write_only=True)
    sheet = workbook.create_sheet("Facilities List")
    sheet.append(["name1", "street1", "city", "state", "zip", "phone", "service_code_info"])
    for i in range(rows):
        name = f"Harbor Peer Center {i}" if i % named_every == 0 else None
        sheet.append([name, f"{i} Main St", "Waterbury", "CT", "06708", "860-276-3000", "MH"])
    workbook.save(path)
    return path


def test_a_sheet_past_the_row_cap_is_refused_naming_the_cap(
    session: Session, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Failed before: every row was read (2,000,000 rows: 152 s, 2.2 GB). A header and 30 rows:
    refused under a cap of 20 before any row is parsed, read in full under a cap of 31."""
    path = facilities(tmp_path / "long.xlsx", 30)
    monkeypatch.setattr(limits, "MAX_ROWS", 20)
    fmt = resolve("samhsa-directory", path)
    with pytest.raises(FormatError):
        next(fmt.read(path))  # counted before the first row is parsed
    with pytest.raises(FormatError) as refused:
        run_import(session, fmt, path, source="test:long")
    assert refused.value.detail == (
        "long.xlsx: more than 20 rows, the most one import reads; split the file"
    )
    monkeypatch.setattr(limits, "MAX_ROWS", 31)  # the header and 30 rows
    assert run_import(session, fmt, path, source="test:long").counts["created"] == 30


def test_a_workbook_that_unpacks_past_the_limit_is_refused_before_parsing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = facilities(tmp_path / "bomb.xlsx", 3)
    with zipfile.ZipFile(path, "a") as archive:  # 8 MB of zeros: compresses to about 8 KB
        archive.writestr("xl/media/padding.bin", bytes(8 << 20), zipfile.ZIP_DEFLATED)
    monkeypatch.setattr(limits, "MAX_UNPACKED_XLSX", 4 << 20)
    fmt = resolve("samhsa-directory", path)
    with pytest.raises(FormatError, match=r"bomb.xlsx: unpacks to 8 MB, more than the 4 MB"):
        list(fmt.read(path))


def test_many_rejected_rows_are_counted_but_only_the_first_are_kept(
    session: Session, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = facilities(tmp_path / "sparse.xlsx", 300, named_every=10)
    monkeypatch.setattr("directory.ingest.report.REJECTIONS_KEPT", 25)
    report = run_import(session, resolve("samhsa-directory", path), path, source="test:sparse")
    assert (report.counts["created"], report.rejected_count, len(report.rejected)) == (30, 270, 25)
    assert report.rejected_by_reason() == {"name1: missing name": 270}
    data = report.to_json()
    assert (data["rejected"], len(data["rejections"]), data["rejections_not_listed"]) == (
        270,
        25,
        245,
    )
    assert "270 rejected" in report.summary()
