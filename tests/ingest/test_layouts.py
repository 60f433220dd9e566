"""Package layouts: CSVs in ``data/``, datapackage.json paths that point elsewhere, zips (files at
the root or in a top folder, with or without datapackage.json), unsafe zips, folders of CSVs
that are not HSDS, default source names, and imports where no record loads."""

from __future__ import annotations

import json
import shutil
import tempfile
import time
import zipfile
from collections.abc import Generator
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from directory.ingest.cli import default_source, run_ingest
from directory.ingest.formats import hsds, package_files, resolve
from directory.ingest.load import run_import
from directory.ingest.records import FormatError, Rejection, SourceRecord
from directory.listings.models import Provenance

SAMPLE = "hsds1-sample-package"


def records(path: Path) -> list[tuple[str, str, int, dict[str, object]]]:
    return [
        (i.external_id, i.file, i.row, i.raw)
        for i in resolve("auto", path).read(path)
        if isinstance(i, SourceRecord)
    ]


def rejections(path: Path) -> list[Rejection]:
    return [i for i in hsds.FORMAT.read(path) if isinstance(i, Rejection)]


def zipped(folder: Path, target: Path, *, top: str = "") -> Path:
    """``folder``'s files (and those of its subfolders) in a zip, under ``top``/ if given."""
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                archive.write(path, f"{top}{path.relative_to(folder).as_posix()}")
    return target


@pytest.fixture
def sample(datasets_dir: Path) -> Path:
    return datasets_dir / SAMPLE


@pytest.fixture
def in_data_folder(sample: Path, tmp_path: Path) -> Path:
    """The real sample package laid out as many are published: datapackage.json beside a
    ``data/`` folder holding the CSVs, its resource paths unchanged ("services.csv")."""
    package = tmp_path / "county-211"
    (package / "data").mkdir(parents=True)
    for path in sample.glob("*.csv"):
        shutil.copy(path, package / "data" / path.name)
    shutil.copy(sample / "datapackage.json", package / "datapackage.json")
    return package


@pytest.fixture
def temporary(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Where zips are extracted during a test (to see that nothing is left behind)."""
    folder = tmp_path / "temporary"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


# --- folder layouts -----------------------------------------------------------------------------


def test_csvs_in_a_data_folder_read_as_the_original(sample: Path, in_data_folder: Path) -> None:
    expected = records(sample)
    assert len(expected) == 13
    assert resolve("auto", in_data_folder).name == "hsds"
    assert records(in_data_folder) == expected
    assert records(in_data_folder / "datapackage.json") == expected


def test_declared_paths_into_a_folder_that_is_not_there(sample: Path, tmp_path: Path) -> None:
    """Resource paths such as ``data/services.csv`` while the files sit beside datapackage.json."""
    package = tmp_path / "county-211"
    shutil.copytree(sample, package)
    declared = json.loads((package / "datapackage.json").read_text())
    for resource in declared["resources"]:
        resource["path"] = f"data/{resource['path']}"
    (package / "datapackage.json").write_text(json.dumps(declared))
    assert records(package) == records(sample)


def test_a_declared_path_that_exists_wins_over_the_name(tmp_path: Path) -> None:
    package = tmp_path / "p"
    (package / "tables").mkdir(parents=True)
    (package / "datapackage.json").write_text(
        json.dumps({"resources": [{"name": "services", "path": "tables/svc.csv"}]})
    )
    (package / "tables" / "svc.csv").write_text("id,organization_id,name\ns1,o1,Declared\n")
    (package / "services.csv").write_text("id,organization_id,name\ns1,o1,By name\n")
    assert [r[3]["name"] for r in records(package)] == ["Declared"]


def test_a_folder_holding_only_the_package_folder(sample: Path, tmp_path: Path) -> None:
    """An archive extracted as it was: download/county-211/*.csv."""
    shutil.copytree(sample, tmp_path / "download" / "county-211")
    assert records(tmp_path / "download") == records(sample)


# --- zips ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("layout", "top"),
    [("flat", ""), ("flat", "county-211/"), ("data", ""), ("data", "county-211-2024/")],
)
def test_zipped_packages_read_as_the_original(
    sample: Path, in_data_folder: Path, tmp_path: Path, temporary: Path, layout: str, top: str
) -> None:
    folder = sample if layout == "flat" else in_data_folder
    archive = zipped(folder, tmp_path / "package.zip", top=top)
    assert resolve("auto", archive).name == "hsds"
    assert records(archive) == records(sample)
    assert list(temporary.iterdir()) == []  # the extracted files are gone


@pytest.mark.parametrize("top", ["./", "export\\"])  # bsdtar's "./", old Windows tools' "\\"
def test_zip_member_names_written_loosely(
    sample: Path, tmp_path: Path, temporary: Path, top: str
) -> None:
    archive = tmp_path / "package.zip"
    with zipfile.ZipFile(archive, "w") as handle:
        for path in sorted(sample.iterdir()):
            handle.writestr(f"{top}{path.name}", path.read_bytes())
    assert resolve("auto", archive).name == "hsds"
    assert records(archive) == records(sample)


def test_a_long_numbered_name_is_judged_at_once() -> None:
    started = time.perf_counter()
    assert not package_files.generic("export_1700000000000_1700000000001_final")
    assert package_files.generic("export_1700000000000_1700000000001")
    assert time.perf_counter() - started < 0.5  # a nested pattern took seconds here


def test_a_zip_without_datapackage_json(sample: Path, tmp_path: Path, temporary: Path) -> None:
    folder = tmp_path / "csvs"
    shutil.copytree(sample, folder, ignore=shutil.ignore_patterns("datapackage.json"))
    archive = zipped(folder, tmp_path / "package.zip", top="export/")
    assert records(archive) == records(sample)


def test_an_abandoned_read_removes_its_files(sample: Path, tmp_path: Path, temporary: Path) -> None:
    items = hsds.FORMAT.read(zipped(sample, tmp_path / "package.zip"))
    next(iter(items))
    assert len(list(temporary.iterdir())) == 1
    assert isinstance(items, Generator)
    items.close()
    assert list(temporary.iterdir()) == []


def test_rejections_in_a_zip_name_its_members(tmp_path: Path, temporary: Path) -> None:
    folder = tmp_path / "p"
    (folder / "data").mkdir(parents=True)
    (folder / "data" / "services.csv").write_text("id,organization_id,name\ns1,o1,Warmline\n")
    (folder / "data" / "phones.csv").write_text("id,service_id,number\np1,s9,(312) 555-0100\n")
    rejected = rejections(zipped(folder, tmp_path / "p.zip", top="export/"))
    assert [(r.file, r.row, r.field) for r in rejected] == [("phones.csv", 2, "service_id")]
    (folder / "data" / "services.csv").write_text("id,organization_id,title\ns1,o1,x\n")
    with pytest.raises(FormatError) as caught:
        list(hsds.FORMAT.read(zipped(folder, tmp_path / "q.zip")))
    assert caught.value.detail.startswith("services.csv: no 'name' column")
    assert str(temporary) not in caught.value.detail


@pytest.mark.parametrize("name", ["../evil.csv", "/etc/evil.csv", "C:/evil.csv", "a/../../x.csv"])
def test_unsafe_zips_are_refused(tmp_path: Path, temporary: Path, name: str) -> None:
    archive = tmp_path / "package.zip"
    with zipfile.ZipFile(archive, "w") as handle:
        handle.writestr("services.csv", "id,organization_id,name\ns1,o1,Warmline\n")
        handle.writestr(name, "x\n")
    with pytest.raises(FormatError, match="unsafe path in the zip"):
        list(hsds.FORMAT.read(archive))
    with pytest.raises(FormatError, match="unsafe path in the zip"):
        resolve("auto", archive)
    assert not (tmp_path / "evil.csv").exists() and list(temporary.iterdir()) == []


def test_a_zip_too_big_once_unpacked(
    sample: Path, tmp_path: Path, temporary: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    archive = zipped(sample, tmp_path / "package.zip")
    monkeypatch.setattr(package_files, "MAX_UNPACKED", 10_000)
    with pytest.raises(FormatError, match="once unpacked"):
        list(hsds.FORMAT.read(archive))
    assert list(temporary.iterdir()) == []


def test_broken_and_foreign_zips(tmp_path: Path) -> None:
    broken = tmp_path / "broken.zip"
    broken.write_bytes(b"PK\x03\x04 not really")
    with pytest.raises(FormatError, match="not a format this directory reads"):
        resolve("auto", broken)
    other = tmp_path / "photos.zip"
    with zipfile.ZipFile(other, "w") as handle:
        handle.writestr("holiday/beach.csv", "where,when\nsea,today\n")
    with pytest.raises(FormatError, match="not a format this directory reads"):
        resolve("auto", other)


# --- what is not HSDS ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "header",
    [
        "title,address,phone",
        "name,address,phone",  # a name alone is not HSDS
        "id,location_id,name,status,description",  # Ohana's services
    ],
)
def test_a_folder_of_other_csvs_is_not_hsds(tmp_path: Path, header: str) -> None:
    folder = tmp_path / "p"
    folder.mkdir()
    (folder / "services.csv").write_text(f"{header}\nA,B,C,D,E\n")
    assert not hsds.FORMAT.detect(folder)
    assert not hsds.FORMAT.detect(folder / "services.csv")
    with pytest.raises(FormatError) as caught:
        resolve("auto", folder)
    assert "not a format this directory reads" in caught.value.detail
    assert "\n" not in caught.value.detail


@pytest.mark.parametrize(
    "header", ["id,organization_id,name", "id,name,status", "ID , Name , Status , Extra"]
)
def test_hsds_services_shapes_are_recognised(tmp_path: Path, header: str) -> None:
    folder = tmp_path / "p"
    folder.mkdir()
    (folder / "services.csv").write_text(f"\ufeff{header}\n")
    assert hsds.FORMAT.detect(folder)


# --- default source names -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "generic"),
    [
        ("export", True),
        ("Export (2)", True),
        ("data_2024-01-05", True),
        ("download-3", True),
        ("human_services_data", True),
        ("HSDS", True),
        ("2024", True),
        ("hsds1-ilao", False),
        ("county-211", False),
        ("smc-ohana-export", False),
    ],
)
def test_generic_names(name: str, generic: bool) -> None:
    assert package_files.generic(name) is generic


def test_default_sources(sample: Path, in_data_folder: Path, tmp_path: Path) -> None:
    # the sample's datapackage.json calls itself "human_services_data", as the template does
    assert default_source("hsds", sample) == "hsds:hsds1-sample-package"
    assert default_source("hsds", sample / "datapackage.json") == "hsds:hsds1-sample-package"
    assert default_source("hsds", in_data_folder) == "hsds:county-211"
    named = tmp_path / "export"
    shutil.copytree(in_data_folder, named)
    declared = json.loads((named / "datapackage.json").read_text())
    (named / "datapackage.json").write_text(json.dumps(declared | {"name": "springfield-211"}))
    assert default_source("hsds", named) == "hsds:springfield-211"
    assert default_source("hsds", zipped(named, tmp_path / "x.zip")) == "hsds:springfield-211"
    assert default_source("hsds", zipped(sample, tmp_path / "county.zip")) == "hsds:county"
    assert default_source("crisis-lines", tmp_path / "lines.json") == "crisis-lines:lines"


@pytest.mark.parametrize("name", ["export", "data", "download (2).zip", "services.json"])
def test_generic_default_sources_are_refused(sample: Path, tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    if name.endswith(".zip"):
        zipped(sample, path)
    elif name.endswith(".json"):
        path.write_text("[]")
    else:
        shutil.copytree(sample, path)  # named human_services_data inside: generic too
    with pytest.raises(FormatError) as caught:
        default_source("hsds", path)
    assert "pass --source NAME" in caught.value.detail and "\n" not in caught.value.detail


# --- into the database --------------------------------------------------------------------------


def test_a_zipped_package_in_a_data_folder_imports(
    session: Session, in_data_folder: Path, tmp_path: Path, temporary: Path
) -> None:
    archive = zipped(in_data_folder, tmp_path / "county-211.zip", top="county-211/")
    report = run_import(session, resolve("auto", archive), archive, source="test:zip-layout")
    assert (report.read, report.loaded(), report.counts["created"]) == (13, 13, 13)
    assert report.path == str(archive)
    assert all(r.file.endswith(".csv") and "/" not in r.file for r in report.rejected)
    again = run_import(session, resolve("auto", archive), archive, source="test:zip-layout")
    assert again.counts["unchanged"] == 13
    assert list(temporary.iterdir()) == []


def _stored(factory: sessionmaker[Session], source: str) -> int:
    with factory() as session:
        query = select(func.count()).select_from(Provenance).where(Provenance.source == source)
        return session.scalar(query) or 0


def test_an_import_where_no_record_loads_fails(
    session_factory: sessionmaker[Session], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    package = tmp_path / "springfield"
    package.mkdir()
    rows = "".join(f"s{n},o1,\n" for n in range(3))  # no service has a name
    (package / "services.csv").write_text("id,organization_id,name\n" + rows)
    for dry_run in (True, False):
        with pytest.raises(FormatError) as caught:
            run_ingest(
                session_factory,
                "auto",
                package,
                source=None,
                dry_run=dry_run,
                full=True,
                report_file=None,
            )
        assert caught.value.detail.startswith("0 of 3 records are services: is this the right")
        printed = capsys.readouterr().out
        assert "3 rejected" in printed and "source hsds:springfield" in printed
    assert "nothing written" in caught.value.detail
    assert _stored(session_factory, "hsds:springfield") == 0

    (package / "services.csv").write_text("id,organization_id,name\n")
    with pytest.raises(FormatError, match=r"no records read from springfield: is this the right"):
        run_ingest(
            session_factory, "hsds", package, source="x", dry_run=True, full=False, report_file=None
        )


def test_an_import_that_loads_commits(
    session_factory: sessionmaker[Session], sample: Path, tmp_path: Path
) -> None:
    archive = zipped(sample, tmp_path / "springfield-211.zip")
    run_ingest(
        session_factory, "auto", archive, source=None, dry_run=False, full=False, report_file=None
    )
    assert _stored(session_factory, "hsds:springfield-211") == 13
