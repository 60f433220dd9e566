"""Issue 15's throughput target: 8 concurrent clients searching an API already running.

    .venv/bin/python bench/throughput.py http://127.0.0.1:PORT --token TOKEN [--seconds 20]

Each client is a thread with one keep-alive connection of its own, sending ``GET /v1/search``
one after another, for ``--seconds`` (after ``--warm`` seconds not counted) or until
``--requests`` answers. The queries are the issue's mix, those of
``../shared/bench/peer_bench.py`` (its ``cases()``, copied so that this runs without it): near one
of six metros, a 25 km radius, a keyword from its list (or none), ``language=es`` in 30%.
Prints one JSON line: searches a second, p50/p95/p99 in milliseconds, errors (their statuses; 0
for no answer within 10 s or a dropped connection). A token comes from
``directory users create --email ... --role mentor`` (its last line) against the API's database.
Traffic goes to 127.0.0.1 only. Not a test.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import threading
import time
from collections.abc import Iterator
from http.client import HTTPException
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent))

from serving import KeepAlive

# peer_bench.py's QUERIES and METROS, and its cases() below, as the issue measured them
QUERIES = [
    "counseling",
    "depression",
    "anxiety",
    "trauma therapy",
    "substance use",
    "peer support",
    "grief",
    "youth",
    "veterans",
    "eating disorders",
    "",
]
METROS = [
    (40.71, -74.00),
    (34.05, -118.24),
    (41.88, -87.63),
    (29.76, -95.37),
    (25.76, -80.19),
    (47.61, -122.33),
]


def cases(n: int) -> Iterator[dict[str, Any]]:
    """peer_bench.py's query mix (same seed, same order)."""
    rnd = random.Random(5)
    for _ in range(n):
        lat, lng = rnd.choice(METROS)
        yield {
            "lat": lat + rnd.uniform(-0.2, 0.2),
            "lng": lng + rnd.uniform(-0.2, 0.2),
            "kw": rnd.choice(QUERIES),
            "km": 25,
            "lang": "es" if rnd.random() < 0.3 else "",
        }


def search_paths(n: int) -> list[str]:
    """The mix as ``/v1/search`` URLs, with the parameters peer_bench.py sends."""
    paths = []
    for case in cases(n):
        params: dict[str, Any] = {
            "near": f"{case['lat']:.5f},{case['lng']:.5f}",
            "radius_km": case["km"],
            "per_page": 20,
        }
        if case["kw"]:
            params["q"] = case["kw"]
        if case["lang"]:
            params["language"] = case["lang"]
        paths.append(f"/v1/search?{urlencode(params)}")
    return paths


def measure(
    base: str,
    token: str,
    *,
    clients: int = 8,
    seconds: float = 20.0,
    warm: float = 3.0,
    requests: int | None = None,
    paths: list[str] | None = None,
) -> dict[str, Any]:
    """Run ``clients`` clients against ``base``; the figures (see the module's docstring).
    ``paths``: what they ask for, in turn (the issue's search mix unless given)."""
    if urlsplit(base).hostname != "127.0.0.1":
        raise SystemExit("this bench sends its traffic to 127.0.0.1 only")
    paths = paths or search_paths(400)
    headers = {"Authorization": f"Bearer {token}"}
    samples: list[float] = []
    errors: list[int] = []
    lock = threading.Lock()
    started = time.perf_counter()
    counted = started + warm  # answers before this are the warm-up
    deadline = counted + seconds

    def client(offset: int) -> None:
        connection = KeepAlive(base, headers)
        i = offset
        try:
            while time.perf_counter() < deadline:
                sent = time.perf_counter()
                try:
                    status = connection.get(paths[i % len(paths)])
                except (OSError, HTTPException):  # a timeout, a dropped connection: a new one
                    status = 0
                    connection.close()
                    connection = KeepAlive(base, headers)
                done = time.perf_counter()
                i += clients
                if sent < counted:
                    continue
                with lock:
                    if status == 200:
                        samples.append((done - sent) * 1000)
                    else:
                        errors.append(status)
                    if requests is not None and len(samples) >= requests:
                        return
        finally:
            connection.close()

    threads = [threading.Thread(target=client, args=(k,)) for k in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    took = time.perf_counter() - counted
    return summary(samples, errors, clients=clients, seconds=took)


def summary(
    samples: list[float], errors: list[int], *, clients: int, seconds: float
) -> dict[str, Any]:
    ordered = sorted(samples) or [float("nan")]

    def at(share: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(len(ordered) * share))], 1)

    return {
        "clients": clients,
        "seconds": round(seconds, 1),
        "searches": len(samples),
        "searches_per_s": round(len(samples) / seconds, 1),
        "p50_ms": at(0.50),
        "p95_ms": at(0.95),
        "p99_ms": at(0.99),
        "errors": len(errors),
        "error_statuses": sorted(set(errors)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("base", help="the API's base URL, http://127.0.0.1:PORT")
    parser.add_argument("--token", required=True, help="a mentor's bearer token")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--warm", type=float, default=3.0, help="seconds not counted first")
    parser.add_argument("--requests", type=int, help="stop after this many answers")
    options = parser.parse_args()
    figures = measure(
        options.base,
        options.token,
        clients=options.clients,
        seconds=options.seconds,
        warm=options.warm,
        requests=options.requests,
    )
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
