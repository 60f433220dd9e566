"""A bounded soak: 8 clients for BENCH_SECONDS (default 600) of mixed traffic at the API on
127.0.0.1, then errors, latencies and the server's memory at start and end. Not a test.

Each client loops over a mix: searches (words, ZIP, Spanish, filters), a referral written and
followed up (If-Match), refused requests (someone else's referral, a stale version, a bad token)
and an oversized body (2 MB). An error is a 5xx, a dropped connection, or a status the request
should not get (a refusal that is not a 4xx, a search that is not a 200). Memory is the resident
size of the server's processes (parent and workers, from /proc), after a warm-up and at the end:
the target is flat. Starts a throwaway private PostGIS (or uses DIRECTORY_DATABASE_URL) with the
demo region, serves BENCH_WORKERS processes (default 2).
"""

from __future__ import annotations

import http.client
import json
import os
import random
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

from sqlalchemy import select

sys.path.insert(0, str(Path(__file__).resolve().parent))

from database import with_database
from referrals import EVENTS, _referral
from serving import api_server, percentiles

from directory.accounts.service import create_user
from directory.db import make_engine, make_sessionmaker, unit_of_work
from directory.listings.models import Service

CLIENTS = 8
BIG = 2 * 1024 * 1024
SEARCHES = [
    {"q": "counseling", "postcode": "33602"},
    {"q": "depression", "postcode": "33701", "language": "es"},
    {"q": "grupo de apoyo", "postcode": "33602"},
    {"need": "substance-use", "postcode": "33511"},
    {"q": "peer support", "near": "27.95,-82.46", "radius_km": "40"},
    {"q": "housing", "postcode": "33602", "accessibility": "wheelchair"},
    {"q": "crisis", "postcode": "33602"},
]


class Client:
    """One keep-alive connection (reopened after the server closes it)."""

    def __init__(self, base: str, token: str) -> None:
        self.url = urlsplit(base)
        self.token = token
        self.connection = self._open()

    def _open(self) -> http.client.HTTPConnection:
        return http.client.HTTPConnection(self.url.hostname or "", self.url.port, timeout=30)

    def call(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, bytes]:
        sent = {"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"}
        try:
            self.connection.request(method, path, body=body, headers={**sent, **(headers or {})})
            response = self.connection.getresponse()
            data = response.read()
            if response.getheader("connection", "").lower() == "close":
                self.reconnect()
            return response.status, data
        except (OSError, http.client.HTTPException):
            self.reconnect()
            return 0, b""  # a dropped connection

    def reconnect(self) -> None:
        self.connection.close()
        self.connection = self._open()


def resident_mb(pid: int) -> float:
    """The resident memory of a process and its children, in MB (from /proc)."""
    total, todo = 0, [pid]
    while todo:
        current = todo.pop()
        try:
            status = Path(f"/proc/{current}/status").read_text()
            total += int(
                next(ln.split()[1] for ln in status.splitlines() if ln.startswith("VmRSS"))
            )
            children = Path(f"/proc/{current}/task/{current}/children").read_text().split()
        except (OSError, StopIteration):
            continue
        todo.extend(int(child) for child in children)
    return total / 1024


def server_pid(port: int) -> int:
    """The `directory serve` process listening on the port (its parent)."""
    found = subprocess.run(["pgrep", "-f", f"directory serve --port {port}"], capture_output=True)
    return min(int(p) for p in found.stdout.split())


class Soak:
    def __init__(self, base: str, tokens: list[str], service_id: str) -> None:
        self.base, self.tokens, self.service_id = base, tokens, service_id
        self.samples: dict[str, list[float]] = {}
        self.errors: Counter[str] = Counter()
        self.counts: Counter[str] = Counter()
        self.lock = threading.Lock()
        self.others: list[str] = []  # referral ids of one mentor, refused to the others

    def record(self, kind: str, took: float, status: int, wanted: Callable[[int], bool]) -> None:
        with self.lock:
            self.samples.setdefault(kind, []).append(took)
            self.counts[kind] += 1
            if status == 0 or status >= 500 or not wanted(status):
                self.errors[f"{kind}: {status or 'dropped'}"] += 1

    def timed(self, kind: str, wanted: Callable[[int], bool], client: Client, *args: Any) -> Any:
        started = time.perf_counter()
        status, data = client.call(*args)
        self.record(kind, (time.perf_counter() - started) * 1000, status, wanted)
        return status, data

    def client(self, index: int, deadline: float) -> None:
        client = Client(self.base, self.tokens[index])
        chance = random.Random(index)
        while time.perf_counter() < deadline:
            roll = chance.random()
            if roll < 0.6:
                path = "/v1/search?" + urlencode(chance.choice(SEARCHES))
                self.timed("search", lambda s: s == 200, client, "GET", path)
            elif roll < 0.75:
                self.refer(client, index)
            elif roll < 0.9:
                self.refused(client, chance, mine=index == 0)
            else:
                body = b'{"q": "' + b"x" * BIG + b'"}'
                self.timed(
                    "oversized", lambda s: s in (413, 422), client, "POST", "/v1/search", body
                )
        client.connection.close()

    def refer(self, client: Client, index: int) -> None:
        body = json.dumps(_referral(self.service_id)).encode()
        key = {"Idempotency-Key": uuid.uuid4().hex}
        status, data = self.timed(
            "refer", lambda s: s == 201, client, "POST", "/v1/referrals", body, key
        )
        if status != 201:
            return
        referral = json.loads(data)
        if index == 0:
            with self.lock:
                self.others.append(referral["id"])
        event = json.dumps(EVENTS[0]).encode()
        path = f"/v1/referrals/{referral['id']}/events"
        seen = {"If-Match": str(referral["version"])}
        self.timed("event", lambda s: s == 200, client, "POST", path, event, seen)
        self.timed("stale", lambda s: s in (409, 412), client, "POST", path, event, seen)

    def refused(self, client: Client, chance: random.Random, *, mine: bool) -> None:
        """Another mentor's referral (client 0 writes them; it asks for one that is nobody's)."""
        with self.lock:
            other = chance.choice(self.others) if self.others and not mine else str(uuid.uuid4())
        self.timed("others'", lambda s: s in (403, 404), client, "GET", f"/v1/referrals/{other}")
        bad = {"Authorization": "Bearer dir_not-a-token"}
        self.timed("bad token", lambda s: s == 401, client, "GET", "/v1/follow-ups", None, bad)


def run(url: str) -> None:
    env = {**os.environ, "DIRECTORY_DATABASE_URL": url}
    cli = [sys.executable, "-m", "directory"]
    subprocess.run([*cli, "db", "migrate"], env=env, check=True, capture_output=True)
    subprocess.run([*cli, "seed"], env=env, check=True, capture_output=True)
    subprocess.run([*cli, "index", "sync"], env=env, check=True, capture_output=True)
    factory = make_sessionmaker(make_engine(url))
    with unit_of_work(factory) as session:
        service_id = str(
            session.scalar(select(Service.id).where(Service.name.contains("(demo)")).limit(1))
        )
        tokens = [
            create_user(
                session, email=f"soak-{uuid.uuid4().hex[:8]}@example.org", role="mentor",
                program="Soak Program",
            )[1]
            for _ in range(CLIENTS)
        ]  # fmt: skip
    seconds = float(os.environ.get("BENCH_SECONDS", "600"))
    with api_server(env) as base:
        pid = server_pid(urlsplit(base).port or 0)
        soak = Soak(base, tokens, service_id)
        drive(soak, time.perf_counter() + min(30.0, seconds / 10))  # warm-up, not counted
        start_mb, warm_errors = resident_mb(pid), sum(soak.errors.values())
        for tally in (soak.samples, soak.counts, soak.errors):
            tally.clear()
        drive(soak, time.perf_counter() + seconds)
        end_mb = resident_mb(pid)
    print(f"warm-up errors: {warm_errors}")
    report(soak, seconds, start_mb, end_mb)


def drive(soak: Soak, deadline: float) -> None:
    """Every client, until the deadline."""
    threads = [threading.Thread(target=soak.client, args=(i, deadline)) for i in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def report(soak: Soak, seconds: float, start_mb: float, end_mb: float) -> None:
    total = sum(soak.counts.values())
    errors = sum(soak.errors.values())
    print(f"{CLIENTS} clients for {seconds:.0f} s: {total} requests ({total / seconds:.0f}/s)")
    print(f"errors: {errors}" + (f" {dict(soak.errors)}" if errors else ""))
    for kind, values in soak.samples.items():
        print(f"  {kind}: {percentiles(values)}")
    every = [v for values in soak.samples.values() for v in values]
    print(f"all: {percentiles(every)}")
    print(
        f"server memory (resident, all processes): {start_mb:.0f} MB after warm-up,"
        f" {end_mb:.0f} MB at the end"
    )


def main() -> None:
    with_database(run, port=55438)


if __name__ == "__main__":
    main()
