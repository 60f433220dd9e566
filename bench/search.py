"""Search latency and throughput, postgres backend, over HTTP and as bare SQL.

Starts a throwaway private PostGIS (or uses DIRECTORY_DATABASE_URL; an existing bench import of
the same size is reused), imports BENCH_LISTINGS realistic listings (default 100,000) with
`directory ingest`, indexes them, serves the API on 127.0.0.1 and times a fixed mix of text, geo
and filter queries with facets:
  1. one client, one query at a time, over HTTP (POST /v1/search): p50, p95;
  2. the same queries in-process: the search function, and the SQL it runs (bare SQL time);
  3. 8 concurrent clients for BENCH_SECONDS (default 20): requests per second, p50, p95.
Every query has a place (a mentor searches near the mentee); the API runs BENCH_WORKERS
processes (default 2, one per core).
Traffic goes to 127.0.0.1 only. Not a test.
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from sqlalchemy import event

sys.path.insert(0, str(Path(__file__).resolve().parent))

from database import with_database
from generate_listings import import_generated
from serving import KeepAlive, api_server, percentiles

from directory.db import make_engine, make_sessionmaker
from directory.search import service
from directory.search.query import SearchQuery

SOURCE = "bench-search"
WORDS = [
    "anxiety",
    "depression",
    "counseling",
    "therapy",
    "detox",
    "peer support",
    "grief",
    "trauma",
    "ansiedad",
    "terapia",
    "anxeity",
    "councelling",
    "recovery",
    "housing",
    "eating disorder",
    "veterans",
    "naloxone",
    "crisis",
    "youth",
    "psychiatry",
]
NEEDS = ["mental-health", "substance-use", "counseling", "anxiety", "peer-support", "youth"]
CITIES = [
    (40.7128, -74.0060),
    (34.0522, -118.2437),
    (41.8781, -87.6298),
    (29.7604, -95.3698),
    (33.4484, -112.0740),
    (39.9526, -75.1652),
    (27.9506, -82.4572),
    (47.6062, -122.3321),
    (39.7392, -104.9903),
    (35.2271, -80.8431),
    (44.9778, -93.2650),
    (36.1627, -86.7816),
]


def queries(count: int, seed: int = 3) -> list[dict[str, Any]]:
    """A fixed mix: text + place for most, filters and open_now for some, a few text-only."""
    rng = random.Random(seed)
    mix: list[dict[str, Any]] = []
    for _ in range(count):
        lat, lng = rng.choice(CITIES)
        query: dict[str, Any] = {
            "near": [lat + rng.uniform(-0.1, 0.1), lng + rng.uniform(-0.1, 0.1)]
        }
        roll = rng.random()
        if roll < 0.7:
            query["q"] = rng.choice(WORDS)
        if roll > 0.4:
            query["need"] = [rng.choice(NEEDS)]
        if rng.random() < 0.3:
            query["language"] = ["es"]
        if rng.random() < 0.2:
            query["accessibility"] = ["wheelchair"]
        if rng.random() < 0.15:
            query["open_now"] = True
        mix.append(query)
    return mix


def run(url: str) -> None:
    env = {**os.environ, "DIRECTORY_DATABASE_URL": url, "DIRECTORY_INDEX_SYNC_INTERVAL": "0"}
    cli = [sys.executable, "-m", "directory"]
    subprocess.run([*cli, "db", "migrate"], env=env, check=True, capture_output=True)
    subprocess.run([*cli, "seed", "--no-demo"], env=env, check=True, capture_output=True)
    count = int(os.environ.get("BENCH_LISTINGS", "100000"))
    engine = make_engine(url)
    event.listen(engine, "connect", service.prepare_connection)  # as the API's engine does
    factory = make_sessionmaker(engine)
    import_generated(url, env, count, SOURCE)
    started = time.perf_counter()
    indexed = subprocess.run(
        [*cli, "index", "sync"], env=env, check=True, capture_output=True, text=True
    )
    print(f"{indexed.stdout.strip()} in {time.perf_counter() - started:.0f} s")
    token = (
        subprocess.run(
            [
                *cli,
                "users",
                "create",
                "--email",
                f"bench-{time.time_ns()}@example.org",
                "--role",
                "mentor",
            ],
            env=env,
            check=True,
            capture_output=True,
            text=True,
        )
        .stdout.strip()
        .splitlines()[-1]
    )
    mix = queries(int(os.environ.get("BENCH_QUERIES", "400")))
    in_process(factory, mix)
    over_http(env, token, mix)


def in_process(factory: Any, mix: list[dict[str, Any]]) -> None:
    sql_ms: list[float] = []
    total_ms: list[float] = []
    with factory() as session:
        spent = [0.0]

        @event.listens_for(session.connection(), "before_cursor_execute")
        def before(*_: Any) -> None:
            spent.append(time.perf_counter())

        @event.listens_for(session.connection(), "after_cursor_execute")
        def after(*_: Any) -> None:
            spent[0] += time.perf_counter() - spent.pop()

        for fields in mix * 2:  # the first round warms the caches
            spent[:] = [0.0]
            started = time.perf_counter()
            service.search(session, SearchQuery.model_validate(fields))
            total_ms.append((time.perf_counter() - started) * 1000)
            sql_ms.append(spent[0] * 1000)
    half = len(mix)
    print(f"in-process search function: {percentiles(total_ms[half:])}")
    print(f"bare SQL of those searches: {percentiles(sql_ms[half:])}")


def over_http(env: dict[str, str], token: str, mix: list[dict[str, Any]]) -> None:
    headers = {"Authorization": f"Bearer {token}"}
    with api_server(env) as base:
        client = KeepAlive(base, headers)
        for fields in mix:  # warm-up
            _timed(client, fields)
        single = [_timed(client, fields) for fields in mix]
        client.close()
        print(f"HTTP, one client: {percentiles(single)}")
        concurrent(base, headers, mix, clients=8)


def concurrent(
    base: str, headers: dict[str, str], mix: list[dict[str, Any]], *, clients: int
) -> None:
    seconds = float(os.environ.get("BENCH_SECONDS", "20"))
    deadline = time.perf_counter() + seconds
    samples: list[float] = []
    lock = threading.Lock()

    def worker(offset: int) -> None:
        client = KeepAlive(base, headers)
        i = offset
        while time.perf_counter() < deadline:
            took = _timed(client, mix[i % len(mix)])
            with lock:
                samples.append(took)
            i += clients
        client.close()

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    print(
        f"HTTP, {clients} concurrent clients for {seconds:.0f} s: {len(samples) / seconds:.0f}"
        f" requests/s, {percentiles(samples)}"
    )


def _timed(client: KeepAlive, fields: dict[str, Any]) -> float:
    started = time.perf_counter()
    status, body = client.post("/v1/search", fields, {})
    if status != 200:
        raise SystemExit(f"search answered {status}: {str(body)[:200]}")
    return (time.perf_counter() - started) * 1000


def main() -> None:
    with_database(run, port=55436)


if __name__ == "__main__":
    main()
