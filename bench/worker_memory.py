"""Memory of one `directory serve` worker: at rest, then after searches by ZIP and by lat,lng.

Starts a throwaway private PostGIS on port 55441 (or uses DIRECTORY_DATABASE_URL), migrates and
seeds it (no demo listings: the figures are the process's own, not a big result's), serves the
API with BENCH_WORKERS processes (default 2) on a free 127.0.0.1 port, and prints each worker's
RSS and PSS (resident memory, and its share of pages shared with other processes) from /proc:
  1. at rest, after start-up (the app warmed up, no request yet);
  2. after one search by ZIP (postcode) and one by lat,lng (near);
  3. after BENCH_SEARCHES more (default 200) over many ZIPs and points.
Also prints what the geo module holds in the bench's own process after the same lookups.
Linux only (/proc). Traffic goes to 127.0.0.1 only. Not a test.
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent))

from database import with_database
from serving import KeepAlive, api_server

SAMPLE_ZIPS = ["10001", "33602", "60614", "94103", "98101", "02139", "73301", "99501"]


def kib(pid: int, field: str, path: str = "status") -> int:
    """A memory figure of a process in KiB (VmRSS from status, Pss from smaps_rollup)."""
    for line in Path(f"/proc/{pid}/{path}").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def serve_process(base: str) -> int:
    """The `directory serve` process listening at ``base`` (found by its command line)."""
    needle = f"serve\0--port\0{urlsplit(base).port}\0".encode()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and needle in _cmdline(int(entry.name)):
            return int(entry.name)
    raise SystemExit("the serve process was not found")


def workers(parent: int) -> list[int]:
    """The serve process's API workers (its spawned children, not multiprocessing's tracker)."""
    children: list[int] = []
    for task in Path(f"/proc/{parent}/task").iterdir():
        children += [int(c) for c in (task / "children").read_text().split()]
    return [c for c in children if b"resource_tracker" not in _cmdline(c)]


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except FileNotFoundError:
        return b""


def report(label: str, pids: list[int]) -> None:
    figures = [
        f"pid {pid}: RSS {kib(pid, 'VmRSS') / 1024:.0f} MB,"
        f" PSS {kib(pid, 'Pss', 'smaps_rollup') / 1024:.0f} MB"
        for pid in pids
    ]
    print(f"{label:34s} " + "; ".join(figures))


def searches(base: str, token: str, count: int) -> None:
    """Searches by ZIP and by point, over several connections (the workers share them out)."""
    rng = random.Random(5)
    headers = {"Authorization": f"Bearer {token}"}
    clients = [KeepAlive(base, headers) for _ in range(count // 2 or 1)][:8]
    bodies: list[dict[str, object]] = []
    for i in range(count):
        if i % 2:
            bodies.append({"postcode": rng.choice(SAMPLE_ZIPS), "q": "support"})
        else:
            near = [round(rng.uniform(26, 48), 4), round(rng.uniform(-123, -70), 4)]
            bodies.append({"near": near, "q": "support"})
    for i, body in enumerate(bodies):
        status, answer = clients[i % len(clients)].post("/v1/search", body, {})
        if status != 200:
            raise SystemExit(f"search answered {status}: {str(answer)[:200]}")
    for client in clients:
        client.close()


def run(url: str) -> None:
    env = {**os.environ, "DIRECTORY_DATABASE_URL": url, "DIRECTORY_INDEX_SYNC_INTERVAL": "0"}
    cli = [sys.executable, "-m", "directory"]
    subprocess.run([*cli, "db", "migrate"], env=env, check=True, capture_output=True)
    subprocess.run([*cli, "seed", "--no-demo"], env=env, check=True, capture_output=True)
    email = f"bench-{time.time_ns()}@example.org"
    created = subprocess.run(
        [*cli, "users", "create", "--email", email, "--role", "mentor"],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    token = created.stdout.strip().splitlines()[-1]
    with api_server(env) as base:
        time.sleep(2)  # every worker up (the probe reached one)
        supervisor = serve_process(base)
        pids = workers(supervisor)
        report("the supervisor (serves nothing)", [supervisor])
        report("at rest, after start-up", pids)
        searches(base, token, len(pids) * 4)
        report("after a first ZIP and near search", pids)
        searches(base, token, int(os.environ.get("BENCH_SEARCHES", "200")))
        report("after more searches", pids)
    in_this_process(url)


def in_this_process(url: str) -> None:
    """What geo's lookups leave in a process: its caches, and whether `zipcodes` was loaded."""
    from directory import geo
    from directory.db import make_engine

    before = kib(os.getpid(), "VmRSS")
    engine = make_engine(url)
    with engine.connect() as connection:
        for zip5 in SAMPLE_ZIPS:
            geo.zip_place(connection, zip5)
        geo.nearest_zip(connection, 27.95, -82.46)
    engine.dispose()
    grown = (kib(os.getpid(), "VmRSS") - before) / 1024
    print(f"geo lookups in this process: RSS +{grown:.0f} MB; zipcodes imported:", end=" ")
    print("zipcodes" in sys.modules)


def main() -> None:
    with_database(run, port=55441)


if __name__ == "__main__":
    main()
