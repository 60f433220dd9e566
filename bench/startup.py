"""Start-up time of the `directory` command, whole processes timed from outside.

Times BENCH_RUNS runs (default 20, after one not counted) of: `python -c pass` (the interpreter
alone, the floor), `python -c "import directory.cli"`, `directory --help` and `directory db
status` on the configured database (the checkout's private cluster, started first when it is
not running; `db status` exits 1 when the database is not at the newest migration, and is timed
all the same). Prints the median and the best of each. Not a test.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

BIN = Path(sys.executable).parent
DIRECTORY = str(BIN / "directory")
COMMANDS = {
    "python -c pass": [sys.executable, "-c", "pass"],
    "import directory.cli": [sys.executable, "-c", "import directory.cli"],
    "directory --help": [DIRECTORY, "--help"],
    "directory db status": [DIRECTORY, "db", "status"],
}


def seconds(argv: list[str]) -> float:
    """One run's wall time; its output is thrown away."""
    start = time.perf_counter()
    subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    return time.perf_counter() - start


def database_running() -> None:
    """Start the private cluster when `db status` finds it stopped."""
    status = subprocess.run([DIRECTORY, "db", "status"], capture_output=True, text=True)
    if "state: stopped" in status.stdout:
        subprocess.run([DIRECTORY, "db", "start"], check=True, stdout=subprocess.DEVNULL)
    status = subprocess.run([DIRECTORY, "db", "status"], capture_output=True, text=True)
    print(status.stdout.strip() or status.stderr.strip())


def main() -> None:
    runs = int(os.environ.get("BENCH_RUNS", "20"))
    database_running()
    print(f"{runs} runs each (after one not counted); wall seconds")
    for label, argv in COMMANDS.items():
        seconds(argv)
        times = [seconds(argv) for _ in range(runs)]
        print(f"{label:24s} median {statistics.median(times):.3f}  best {min(times):.3f}")


if __name__ == "__main__":
    main()
