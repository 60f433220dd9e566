"""``directory export hsds``: the tabular package (folder and zip) and NDJSON, valid against the
spec's schemas, deterministic to the byte, and never overwriting by accident."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from directory.errors import InvalidInput
from directory.hsds.columns import COLUMNS, FILES, TABLES
from directory.hsds.export import export_hsds
from directory.hsds.tables import read_tables
from tests.hsds.package import package_files, table_rows
from tests.hsds.schemas import validate_document, validate_table_row


def test_folder_package_is_the_tables_and_valid(
    session: Session, hsds_spec: Path, tmp_path: Path
) -> None:
    out = tmp_path / "package"
    counts = export_hsds(session, out)
    files = package_files(out)
    assert sorted(files) == sorted([*FILES.values(), "datapackage.json"])
    tables = read_tables(session)
    assert counts == {name: len(rows) for name, rows in tables.items()}
    for name in TABLES:
        header = files[FILES[name]].decode().split("\n", 1)[0]
        assert header == ",".join(COLUMNS[name])
        rows = table_rows(files, name)
        assert [row["id"] for row in rows] == [row["id"] for row in tables[name]]
        for row in rows:
            validate_table_row(hsds_spec, name, row)
    package = json.loads(files["datapackage.json"])
    assert [r["name"] for r in package["resources"]] == list(TABLES)
    assert [r["path"] for r in package["resources"]] == [FILES[n] for n in TABLES]
    phones = package["resources"][TABLES.index("phones")]["schema"]
    assert {"fields": "contact_id", "reference": {"resource": "contacts", "fields": "id"}} in (
        phones["foreignKeys"]
    )
    assert package["resources"][0]["schema"]["fields"][0] == {
        "name": "id",
        "type": "string",
        "format": "uuid",
    }


@pytest.mark.parametrize("name", ["package", "package.zip"])
def test_two_exports_are_the_same_bytes(session: Session, tmp_path: Path, name: str) -> None:
    first, second = tmp_path / "1" / name, tmp_path / "2" / name
    export_hsds(session, first)
    export_hsds(session, second)
    if name.endswith(".zip"):
        assert first.read_bytes() == second.read_bytes()
    else:
        assert package_files(first) == package_files(second)
    assert package_files(first) == package_files(second)


def test_zip_holds_the_folders_files(session: Session, tmp_path: Path) -> None:
    export_hsds(session, tmp_path / "folder")
    export_hsds(session, tmp_path / "package.zip")
    assert package_files(tmp_path / "package.zip") == package_files(tmp_path / "folder")


def test_nothing_is_overwritten_without_force(session: Session, tmp_path: Path) -> None:
    folder = tmp_path / "folder"
    folder.mkdir()
    (folder / "mine.txt").write_text("keep")
    with pytest.raises(InvalidInput, match="--force"):
        export_hsds(session, folder)
    archive = tmp_path / "out.zip"
    archive.write_bytes(b"old")
    with pytest.raises(InvalidInput, match="--force"):
        export_hsds(session, archive)
    assert archive.read_bytes() == b"old"
    export_hsds(session, archive, force=True)
    assert archive.read_bytes()[:2] == b"PK"
    export_hsds(session, folder, force=True)
    assert (folder / "mine.txt").read_text() == "keep"
    assert (folder / "services.csv").exists()
    assert not list(tmp_path.glob(".*partial"))


def test_ndjson_is_one_valid_full_service_a_line(
    session: Session, hsds_spec: Path, tmp_path: Path
) -> None:
    out = tmp_path / "services.ndjson"
    counts = export_hsds(session, out)
    lines = out.read_bytes().splitlines()
    services = read_tables(session)["services"]
    assert counts == {"services": len(services)} and len(lines) == len(services)
    documents = [json.loads(line) for line in lines]
    assert [d["id"] for d in documents] == [row["id"] for row in services]
    for document in documents:
        validate_document(hsds_spec, "service", document)
    again = tmp_path / "again.ndjson"
    export_hsds(session, again)
    assert again.read_bytes() == out.read_bytes()
