"""Finding the files of a tabular package: a folder, a ``datapackage.json`` or a ``.zip``.

Real packages are laid out loosely: the CSVs sit beside ``datapackage.json`` or in a ``data/``
folder next to it, the paths it declares may point nowhere (``data/services.csv`` while the file
is beside it), and a zip may hold the files at its root or in one top folder. ``Listing`` names a
package's files (paths relative to its root, at most one folder deep) without extracting
anything, so that a format can recognise a zip by its header; ``locate`` picks each table's
file; ``unpacked`` gives a folder to read, extracting a zip safely into a temporary folder that
is removed afterwards.
"""

from __future__ import annotations

import csv
import posixpath
import re
import tempfile
import zipfile
import zlib
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from directory.ingest.limits import load_json
from directory.ingest.records import FormatError

MAX_UNPACKED = 2 * 1024**3  # bytes a zip may extract to (what we extract: CSV and JSON files)
MAX_MEMBERS = 20_000
KEPT_SUFFIXES = (".csv", ".json")  # what is extracted from a zip
JUNK = ("__macosx", ".")  # folders and files that archivers add (__MACOSX/, .DS_Store)
HEADER_BYTES = 1 << 16
MAX_DATAPACKAGE = 16 << 20
# What reading a zip member raises: broken, encrypted (RuntimeError), unsupported compression.
UNREADABLE = (
    OSError, EOFError, KeyError, zipfile.BadZipFile, zlib.error, RuntimeError, NotImplementedError
)  # fmt: skip
# File, folder and package names that say nothing about the data: never a default source name.
GENERIC_NAMES = frozenset(
    {
        "archive", "csv", "csvs", "data", "datapackage", "dataset", "datasets", "download",
        "downloads", "export", "exports", "file", "files", "hsds", "human_services_data",
        "import", "imports", "new", "ohana", "out", "output", "package", "resources",
        "services", "temp", "tmp", "upload", "uploads", "untitled",
    }
)  # fmt: skip


@dataclass(frozen=True)
class Listing:
    """The files of a package: paths relative to its root ("services.csv", "data/phones.csv").

    ``path`` is the folder or the zip; inside a zip, ``prefix`` is the one top folder that every
    file sits in ("" when the files are at its root). ``home`` is the folder of its
    datapackage.json ("" for the root) and ``package`` that file's content ({} when none).
    """

    path: Path
    files: frozenset[str]
    prefix: str = ""
    is_zip: bool = False
    home: str = ""
    package: dict[str, Any] = field(default_factory=dict, compare=False)

    def read(self, name: str, limit: int) -> bytes:
        """The first ``limit`` bytes of a file."""
        if not self.is_zip:
            with (self.path / name).open("rb") as handle:
                return handle.read(limit)
        with zipfile.ZipFile(self.path) as archive:
            # a member by its name as written ("./services.csv", "export\\services.csv")
            written = {safe_member(self.path, i.filename): i for i in archive.infolist()}
            with archive.open(written[self.prefix + name]) as handle:
                return handle.read(limit)

    def header(self, name: str) -> tuple[str, ...]:
        """A CSV file's column names (trimmed, lower-case); () when it has none readable."""
        try:
            first = self.read(name, HEADER_BYTES).split(b"\n", 1)[0]
            row = next(csv.reader([first.decode("utf-8-sig", errors="replace")]), [])
        except (*UNREADABLE, csv.Error):
            return ()
        return tuple(h.strip().strip("\ufeff").strip().lower() for h in row)

    def with_datapackage(self) -> Listing:
        """This listing with its datapackage.json read (the shallowest one, if several)."""
        found = sorted(
            (f for f in self.files if posixpath.basename(f).lower() == "datapackage.json"),
            key=lambda f: (f.count("/"), f),
        )
        if not found:
            return self
        try:
            loaded = load_json(self.read(found[0], MAX_DATAPACKAGE).decode("utf-8-sig"), "")
        except (*UNREADABLE, ValueError, FormatError):
            loaded = None
        package = loaded if isinstance(loaded, dict) else {}
        return replace(self, home=posixpath.dirname(found[0]), package=package)


def is_zip(path: Path) -> bool:
    """A .zip file (by name and by content)."""
    return path.suffix.lower() == ".zip" and path.is_file() and zipfile.is_zipfile(path)


def package_path(path: Path) -> Path | None:
    """The package a path names: a folder or a zip as given; the folder of a datapackage.json
    or services.csv; None for anything else."""
    if path.is_dir() or is_zip(path):
        return path
    if path.name.lower() in ("datapackage.json", "services.csv") and path.is_file():
        return path.parent
    return None


def listing(path: Path) -> Listing | None:
    """The files of the package at ``path`` (see ``package_path``), or None."""
    package = package_path(path)
    if package is None:
        return None
    return _zip_listing(package) if package.is_file() else _folder_listing(package)


def _junk(name: str) -> bool:
    return any(part.lower().startswith(JUNK) for part in name.split("/") if part)


def _folder_listing(folder: Path) -> Listing:
    root = folder
    # A folder holding only one folder (an archive extracted as it was): the package is inside.
    while not any(p.is_file() and not _junk(p.name) for p in root.iterdir()):
        inside = [p for p in root.iterdir() if p.is_dir() and not _junk(p.name)]
        if len(inside) != 1:
            break
        root = inside[0]
    files = set()
    for entry in root.iterdir():
        if _junk(entry.name):
            continue
        if entry.is_file():
            files.add(entry.name)
        elif entry.is_dir():
            files.update(
                f"{entry.name}/{p.name}"
                for p in entry.iterdir()
                if p.is_file() and not _junk(p.name)
            )
    return Listing(root, frozenset(files)).with_datapackage()


def _zip_listing(path: Path) -> Listing:
    try:
        with zipfile.ZipFile(path) as archive:
            members = [m for m in archive.infolist() if not m.is_dir()]
    except (OSError, zipfile.BadZipFile) as error:
        raise FormatError(f"{path.name}: not a readable zip file ({error})") from None
    if len(members) > MAX_MEMBERS:
        raise FormatError(f"{path.name}: more than {MAX_MEMBERS:,} files in the zip")
    names = [safe_member(path, m.filename) for m in members]
    names = [n for n in names if not _junk(n)]
    prefix = ""  # the top folders every file sits in, as in _folder_listing
    while names and all("/" in n for n in names) and len({n.split("/", 1)[0] for n in names}) == 1:
        top = names[0].split("/", 1)[0] + "/"
        prefix, names = prefix + top, [n[len(top) :] for n in names]
    kept = frozenset(n for n in names if n.count("/") <= 1)
    return Listing(path, kept, prefix, is_zip=True).with_datapackage()


def safe_member(archive: Path, name: str) -> str:
    """A zip member's name, refused when it would land outside the folder it is extracted to."""
    text = name.replace("\\", "/")
    parts = text.split("/")
    if text.startswith("/") or re.match(r"^[A-Za-z]:", text) or ".." in parts or "\x00" in text:
        raise FormatError(f"{archive.name}: unsafe path in the zip, not extracted: {name!r}")
    return "/".join(p for p in parts if p not in ("", "."))


def declared(files: Listing) -> dict[str, str]:
    """datapackage.json's resources: name (lower case) -> path as written, relative to the
    package root (normalised; it may name a file that is not there)."""
    resources = files.package.get("resources")
    found: dict[str, str] = {}
    for resource in resources if isinstance(resources, list) else []:
        if not isinstance(resource, dict) or not isinstance(resource.get("path"), str):
            continue
        written = resource["path"].strip().replace("\\", "/")
        if not written or "://" in written:
            continue
        path = posixpath.normpath(posixpath.join(files.home, written)).lstrip("/")
        name = str(resource.get("name") or posixpath.splitext(posixpath.basename(path))[0])
        found.setdefault(name.strip().lower(), path)
    return found


def locate(files: Listing, tables: Mapping[str, tuple[str, ...]], anchor: str) -> dict[str, str]:
    """Each table's file (relative path), by the names it goes by in order of preference.

    A declared path that exists wins; otherwise the file is looked for in the folder where the
    ``anchor`` table sits (datapackage.json's folder, the root, ``data/``, else the one other
    folder holding it), by the table's names and by the file name its declared path ends with.
    """
    folders: dict[str, dict[str, str]] = {}
    for name in files.files:
        folder, _, base = name.rpartition("/")
        folders.setdefault(folder, {})[base.lower()] = name
    paths = declared(files)
    exact = {n: p for n, p in paths.items() if p in files.files}
    fallback = {n: posixpath.basename(p).lower() for n, p in paths.items()}
    names = tables.get(anchor, ())
    home = next((posixpath.dirname(exact[n]) for n in names if n in exact), None)
    if home is None:
        wanted = {f"{n}.csv" for n in names} | {fallback[n] for n in names if n in fallback}
        home = _home(files.home, folders, wanted)
    here = folders.get(home, {})
    found: dict[str, str] = {}
    for key, aliases in tables.items():
        for alias in aliases:
            path = exact.get(alias) or here.get(f"{alias}.csv") or here.get(fallback.get(alias, ""))
            if path is not None:
                found[key] = path
                break
    return found


def _home(first: str, folders: dict[str, dict[str, str]], wanted: set[str]) -> str:
    """The folder holding one of the wanted files: datapackage.json's, the root, ``data/``, or
    else the only other folder that does (several: none of them)."""
    usual = list(dict.fromkeys((first, "", "data")))
    for folder in usual:
        if wanted & set(folders.get(folder, {})):
            return folder
    others = [f for f in folders if f not in usual and wanted & set(folders[f])]
    return others[0] if len(others) == 1 else first


def package_name(path: Path) -> str | None:
    """The ``name`` a package gives itself in datapackage.json, if any."""
    try:
        files = listing(path)
    except FormatError:
        return None
    if files is None:
        return None
    name = files.package.get("name")
    return name.strip() if isinstance(name, str) and name.strip() else None


def generic(name: str) -> bool:
    """A name that says nothing about the data ("export", "data (2)", "Download-3", "2024")."""
    base, cut = name.strip().lower(), None
    while cut != base:  # one suffix at a time: a nested pattern backtracks exponentially
        cut, base = base, re.sub(r"[\s._-]*(?:\(\d+\)|copy|\d++)$", "", base)
    return not base or base in GENERIC_NAMES


@contextmanager
def unpacked(path: Path) -> Iterator[Path]:
    """A folder holding the package: the folder itself, or a zip's files (CSV and JSON, at most
    one folder deep) extracted into a temporary folder, removed when the block ends."""
    files = listing(path)
    if files is None:
        raise FormatError(f"{path}: not a package folder or zip")
    if not files.is_zip:
        yield files.path
        return
    with tempfile.TemporaryDirectory(prefix="directory-ingest-") as temporary:
        extract(files, Path(temporary))
        yield Path(temporary)


def extract(files: Listing, target: Path) -> None:
    """Extract the listed CSV and JSON files of a zip under ``target``, within MAX_UNPACKED."""
    wanted = sorted(n for n in files.files if n.lower().endswith(KEPT_SUFFIXES))
    budget = MAX_UNPACKED
    name = files.path.name
    try:
        with zipfile.ZipFile(files.path) as archive:
            infos = {safe_member(files.path, i.filename): i for i in archive.infolist()}
            if sum(infos[files.prefix + n].file_size for n in wanted) > budget:
                raise FormatError(f"{name}: more than {_size(budget)} once unpacked")
            for member in wanted:
                destination = target.joinpath(*member.split("/"))
                destination.parent.mkdir(parents=True, exist_ok=True)
                member_info = infos[files.prefix + member]
                with archive.open(member_info) as source, destination.open("wb") as out:
                    budget -= _copy(source, out, budget, name)
    except UNREADABLE as error:
        raise FormatError(f"{name}: cannot unpack the zip ({error})") from None


def _copy(source: Any, out: Any, budget: int, name: str) -> int:
    written = 0
    while chunk := source.read(1 << 20):
        written += len(chunk)
        if written > budget:
            raise FormatError(f"{name}: more than {_size(MAX_UNPACKED)} once unpacked")
        out.write(chunk)
    return written


def _size(n: int) -> str:
    return f"{n / 1024**3:.0f} GB" if n >= 1024**3 else f"{n / 1024**2:.0f} MB"
