"""``directory export hsds``: the tabular package (folder and zip) and NDJSON, valid against the
spec's schemas, deterministic to the byte, and never overwriting by accident."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from directory.errors import InvalidInput
from directory.hsds import documents, export
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
    assert sorted(p.name for p in tmp_path.iterdir()) == ["folder", "out.zip"]  # no leftovers


def test_force_replaces_a_folder_as_a_whole(session: Session, tmp_path: Path) -> None:
    """--force on a non-empty folder: the new export replaces it, with nothing of the old one
    left over (a stale file of an earlier export would look like part of this one)."""
    folder = tmp_path / "folder"
    export_hsds(session, tmp_path / "fresh")
    folder.mkdir()
    (folder / "stale.csv").write_text("old")
    export_hsds(session, folder, force=True)
    assert package_files(folder) == package_files(tmp_path / "fresh")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["folder", "fresh"]
    mode = (folder / "services.csv").stat().st_mode & 0o777
    assert mode == (tmp_path / "fresh" / "services.csv").stat().st_mode & 0o777 != 0o600


@pytest.mark.parametrize("name", ["out.ndjson", "out.zip"])
def test_a_planted_partial_link_is_not_followed(
    session: Session, tmp_path: Path, name: str
) -> None:
    """Whoever can write in OUT's folder cannot make the export overwrite another file by
    planting a link where the file is first written."""
    victim = tmp_path / "victim.txt"
    victim.write_text("mine")
    (tmp_path / f".{name}.partial").symlink_to(victim)
    out = tmp_path / name
    export_hsds(session, out)
    assert victim.read_text() == "mine"
    assert out.is_file() and not out.is_symlink()


def test_links_inside_a_folder_are_replaced_not_followed(session: Session, tmp_path: Path) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("mine")
    folder = tmp_path / "folder"
    folder.mkdir()
    (folder / "services.csv").symlink_to(victim)
    export_hsds(session, folder, force=True)
    assert victim.read_text() == "mine"
    assert not (folder / "services.csv").is_symlink()
    assert (folder / "services.csv").read_text().startswith("id,")


def test_a_link_as_out_is_refused(session: Session, tmp_path: Path) -> None:
    """OUT itself a link: refused rather than writing (or deleting) where it points."""
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "keep.txt").write_text("keep")
    for name, target in (("folder", elsewhere), ("out.zip", elsewhere / "keep.txt")):
        (tmp_path / name).symlink_to(target)
        with pytest.raises(InvalidInput, match="symbolic link"):
            export_hsds(session, tmp_path / name, force=True)
    assert [p.name for p in elsewhere.iterdir()] == ["keep.txt"]
    assert (elsewhere / "keep.txt").read_text() == "keep"


@pytest.mark.parametrize("force", [False, True])
def test_out_of_the_wrong_kind_is_a_clear_refusal(
    session: Session, tmp_path: Path, force: bool
) -> None:
    """A file where a folder export goes, a folder named like a .zip or .ndjson: one line saying
    so (not an operating system error), and nothing touched."""
    file = tmp_path / "package"
    file.write_text("mine")
    with pytest.raises(InvalidInput, match="not a folder"):
        export_hsds(session, file, force=force)
    for name in ("x.zip", "x.ndjson"):
        (tmp_path / name).mkdir()
        with pytest.raises(InvalidInput, match="is a folder"):
            export_hsds(session, tmp_path / name, force=force)
    assert file.read_text() == "mine"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["package", "x.ndjson", "x.zip"]
    with pytest.raises(InvalidInput, match="name the export"):
        export_hsds(session, tmp_path / "x.zip" / "..", force=force)


@pytest.mark.parametrize("name", ["folder", "out.zip", "out.ndjson"])
def test_a_failed_export_leaves_the_old_one_and_nothing_else(
    session: Session, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    out = tmp_path / name
    export_hsds(session, out)
    before = package_files(out) if out.is_dir() else {name: out.read_bytes()}

    def broken(*args: object) -> None:
        raise RuntimeError("the database went away")

    monkeypatch.setattr(export, "datapackage", broken)
    monkeypatch.setattr(documents, "full_services", broken)  # NDJSON's, imported when used
    with pytest.raises(RuntimeError, match="went away"):
        export_hsds(session, out, force=True)
    assert (package_files(out) if out.is_dir() else {name: out.read_bytes()}) == before
    assert [p.name for p in tmp_path.iterdir()] == [name]


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
