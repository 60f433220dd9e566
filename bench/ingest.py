"""Ingest throughput, end to end through the `directory ingest` command.

Starts a throwaway private PostGIS (or uses DIRECTORY_DATABASE_URL), migrates, loads the seed
taxonomy, then times:
  1. the SAMHSA locator file (11,375 rows), then the same file again (all unchanged);
  2. the SAMHSA directory (merges onto the locator's listings);
  3. a generated HSDS package of BENCH_HSDS_SERVICES services (default 100,000), or the package
     folder BENCH_HSDS_PACKAGE (issue 15's: `python ../shared/bench/gen_hsds.py OUT 100000`).
Each import runs as its own process; its wall time, CPU time (user + sys: less noisy than wall
time on a shared machine) and peak memory (max RSS) are printed, for the loader and for its
worker process. BENCH_HSDS_ONLY=1 skips 1 and 2. Needs DIRECTORY_DATASETS_DIR (or
../shared/datasets) for 1 and 2. The throwaway cluster listens on BENCH_PORT (default 55435).
Not a test.

Issue 15's figure, in one command (the package is made once, in about 5 s):
    python ../shared/bench/gen_hsds.py /tmp/hsds100k 100000
    BENCH_HSDS_ONLY=1 BENCH_HSDS_PACKAGE=/tmp/hsds100k python bench/ingest.py
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from database import with_database
from generate_hsds import generate

from directory.config import PROJECT_ROOT

DATASETS = Path(
    os.environ.get("DIRECTORY_DATASETS_DIR") or PROJECT_ROOT.parent / "shared" / "datasets"
)
MEASURE = (
    "import resource, runpy, sys\n"
    "sys.argv = ['directory', *sys.argv[1:]]\n"
    "try:\n"
    "    runpy.run_module('directory', run_name='__main__')\n"
    "finally:\n"
    "    me = resource.getrusage(resource.RUSAGE_SELF)\n"
    "    worker = resource.getrusage(resource.RUSAGE_CHILDREN)\n"
    "    cpu = [r.ru_utime + r.ru_stime for r in (me, worker)]\n"
    "    print(f'peak memory {me.ru_maxrss / 1024:.0f} MB (worker {worker.ru_maxrss / 1024:.0f}"
    " MB); CPU {cpu[0]:.1f} s (worker {cpu[1]:.1f} s)', file=sys.stderr)\n"
)


def directory(env: dict[str, str], *args: str) -> tuple[float, str]:
    """Run a `directory` command; (seconds, its last lines of output)."""
    start = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-c", MEASURE, *args], env=env, text=True, capture_output=True, check=False
    )
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        raise SystemExit(f"directory {' '.join(args)} failed:\n{result.stderr[-2000:]}")
    lines = [
        line for line in (result.stdout + result.stderr).splitlines() if not line.startswith("...")
    ]
    return elapsed, "\n    ".join(lines[1:3] + lines[-1:])


def run(url: str) -> None:
    env = {**os.environ, "DIRECTORY_DATABASE_URL": url}
    directory(env, "db", "migrate")
    directory(env, "seed", "--no-demo")
    locator = DATASETS / "samhsa-locator-geocoded/MentalHealthProviders_Geocoded.csv"
    samhsa = DATASETS / "samhsa-mh-directory-2022/National_Directory_MH_Facilities_2022.xlsx"
    if locator.exists() and not os.environ.get("BENCH_HSDS_ONLY"):
        for label in ("SAMHSA locator, 11,375 rows", "SAMHSA locator again (unchanged)"):
            seconds, summary = directory(env, "ingest", "samhsa-locator", str(locator))
            print(f"{label}: {seconds:.1f} s\n    {summary}")
        seconds, summary = directory(env, "ingest", "samhsa-directory", str(samhsa))
        print(f"SAMHSA directory, 9,037 rows, merging: {seconds:.1f} s\n    {summary}")
    given = os.environ.get("BENCH_HSDS_PACKAGE")
    if given:
        seconds, summary = directory(env, "ingest", "hsds", given, "--source", "bench-hsds")
        print(f"HSDS package {given}: {seconds:.1f} s\n    {summary}")
        return
    count = int(os.environ.get("BENCH_HSDS_SERVICES", "100000"))
    with tempfile.TemporaryDirectory(prefix="hsds-bench-") as folder:
        generate(Path(folder), count)
        seconds, summary = directory(env, "ingest", "hsds", folder, "--source", "bench-hsds")
        print(f"generated HSDS package, {count:,} services: {seconds:.1f} s\n    {summary}")


def main() -> None:
    with_database(run, port=int(os.environ.get("BENCH_PORT", "55435")))


if __name__ == "__main__":
    main()
