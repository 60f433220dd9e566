"""HSDS export time and memory, end to end through `directory export hsds`.

Starts a throwaway private PostGIS (or uses DIRECTORY_DATABASE_URL), migrates, seeds (no demo),
imports the SAMHSA locator (11,375 rows, the largest real file) and a generated HSDS package of
BENCH_HSDS_SERVICES services (default 20,000), then times the export of every published listing
as a folder, a zip and NDJSON, each in its own process with its peak memory (max RSS); then the
folder exported again must be the same bytes. Needs DIRECTORY_DATASETS_DIR (or
../shared/datasets). Not a test.
"""

from __future__ import annotations

import filecmp
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from database import with_database
from generate_hsds import generate
from ingest import DATASETS, directory


def run(url: str) -> None:
    env = {**os.environ, "DIRECTORY_DATABASE_URL": url}
    directory(env, "db", "migrate")
    directory(env, "seed", "--no-demo")
    locator = DATASETS / "samhsa-locator-geocoded/MentalHealthProviders_Geocoded.csv"
    seconds, summary = directory(env, "ingest", "samhsa-locator", str(locator))
    print(f"import SAMHSA locator: {seconds:.1f} s\n    {summary}")
    with tempfile.TemporaryDirectory(prefix="hsds-export-bench-") as folder:
        out = Path(folder)
        export(env, out, "locator")
        count = int(os.environ.get("BENCH_HSDS_SERVICES", "20000"))
        generate(out / "generated", count)
        seconds, summary = directory(env, "ingest", "hsds", str(out / "generated"))
        print(f"import generated HSDS, {count:,} services: {seconds:.1f} s\n    {summary}")
        export(env, out, "all")


def export(env: dict[str, str], out: Path, label: str) -> None:
    for name in (label, f"{label}.zip", f"{label}.ndjson"):
        seconds, summary = directory(env, "export", "hsds", str(out / name))
        print(f"export {name}: {seconds:.1f} s\n    {summary}")
    directory(env, "export", "hsds", str(out / f"{label}-again"))
    same = not filecmp.dircmp(out / label, out / f"{label}-again").diff_files
    print(f"exported again: {'the same bytes' if same else 'DIFFERENT'}")


def main() -> None:
    with_database(run, port=55437)


if __name__ == "__main__":
    main()
