"""Listings API latency: GET one listing, a page of 20, a need-filtered page, on seeded data.

Runs the app in-process (Starlette's test client) against a throwaway private PostGIS cluster, or
against DIRECTORY_DATABASE_URL when set. Prints p50/p95 and requests per second. Not a test.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

from fastapi.testclient import TestClient

sys.path.insert(0, str(Path(__file__).resolve().parent))

from database import with_database

from directory import migrate
from directory.accounts.service import create_user
from directory.api.app import create_app
from directory.config import DEFAULT_SEED_DIR, Settings
from directory.db import make_engine, make_sessionmaker, unit_of_work
from directory.listings.seed import seed_all

ROUNDS = int(os.environ.get("BENCH_ROUNDS", "300"))


def measure(name: str, call: Callable[[], object]) -> None:
    for _ in range(10):
        call()
    times = []
    start = time.perf_counter()
    for _ in range(ROUNDS):
        begin = time.perf_counter()
        call()
        times.append((time.perf_counter() - begin) * 1000)
    elapsed = time.perf_counter() - start
    times.sort()
    p95 = times[int(len(times) * 0.95) - 1]
    print(
        f"{name:<40} p50 {statistics.median(times):6.1f} ms  p95 {p95:6.1f} ms  "
        f"{ROUNDS / elapsed:6.0f} req/s"
    )


def run(url: str) -> None:
    engine = make_engine(url)
    migrate.upgrade(engine)
    factory = make_sessionmaker(engine)
    with unit_of_work(factory) as session:
        seed_all(session, DEFAULT_SEED_DIR)
        _, token = create_user(
            session, email=f"bench-{os.urandom(4).hex()}@example.org", role="mentor"
        )
    headers = {"Authorization": f"Bearer {token}"}
    with TestClient(create_app(Settings(database_url=url))) as client:
        first = client.get("/v1/services?per_page=1", headers=headers).json()["items"][0]["id"]

        def ok(path: str) -> Callable[[], object]:
            def call() -> object:
                response = client.get(path, headers=headers)
                assert response.status_code == 200, response.text
                return response

            return call

        print(f"listings API, {ROUNDS} sequential requests each, in-process:")
        measure("GET /v1/services/{id}", ok(f"/v1/services/{first}"))
        measure("GET /v1/services?per_page=20", ok("/v1/services?per_page=20"))
        measure("GET /v1/services?need=mental-health", ok("/v1/services?need=mental-health"))
        measure("GET /v1/needs", ok("/v1/needs"))
    engine.dispose()


def main() -> None:
    with_database(run, port=55434)


if __name__ == "__main__":
    main()
