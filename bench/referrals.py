"""Referral writes under load: 8 concurrent mentors creating referrals and logging events.

Starts a throwaway private PostGIS (or uses DIRECTORY_DATABASE_URL), migrates, seeds (the
crisis lines are the services referred to), makes 8 mentors in one program, serves the API on
127.0.0.1 (BENCH_WORKERS processes, default 2) and for BENCH_SECONDS (default 20) has each
mentor create a referral (with an Idempotency-Key) and log three events on it (accept, a contact
attempt, an encrypted note), each with If-Match. Prints writes per second and latencies.
Not a test.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any

from sqlalchemy import select

sys.path.insert(0, str(Path(__file__).resolve().parent))

from database import with_database
from serving import KeepAlive, api_server, percentiles

from directory.accounts.service import create_user
from directory.db import make_engine, make_sessionmaker, unit_of_work
from directory.listings.models import Service

CLIENTS = 8


def run(url: str) -> None:
    env = {**os.environ, "DIRECTORY_DATABASE_URL": url, "DIRECTORY_INDEX_SYNC_INTERVAL": "0"}
    cli = [sys.executable, "-m", "directory"]
    subprocess.run([*cli, "db", "migrate"], env=env, check=True, capture_output=True)
    subprocess.run([*cli, "seed", "--no-demo"], env=env, check=True, capture_output=True)
    factory = make_sessionmaker(make_engine(url))
    with unit_of_work(factory) as session:
        service_id = str(session.scalar(select(Service.id).limit(1)))
        tokens = [
            create_user(
                session,
                email=f"bench-{uuid.uuid4().hex[:8]}@example.org",
                role="mentor",
                program="Bench Program",
            )[1]
            for _ in range(CLIENTS)
        ]
    with api_server(env) as base:
        load(base, tokens, service_id, seconds=float(os.environ.get("BENCH_SECONDS", "20")))


def load(base: str, tokens: list[str], service_id: str, *, seconds: float) -> None:
    samples: dict[str, list[float]] = {"create": [], "event": []}
    errors: list[str] = []
    lock = threading.Lock()
    deadline = time.perf_counter() + seconds

    def mentor(token: str) -> None:
        client = KeepAlive(base, {"Authorization": f"Bearer {token}"})
        try:
            while time.perf_counter() < deadline:
                key = {"Idempotency-Key": uuid.uuid4().hex}
                took, (status, referral) = _timed(
                    client.post, "/v1/referrals", _referral(service_id), key
                )
                record("create", took, status, referral)
                if status != 201:
                    continue
                for fields in EVENTS:
                    path = f"/v1/referrals/{referral['id']}/events"
                    seen = {"If-Match": str(referral["version"])}
                    took, (status, referral) = _timed(client.post, path, fields, seen)
                    record("event", took, status, referral)
                    if status != 200:
                        break
        finally:
            client.close()

    def record(kind: str, took: float, status: int, body: Any) -> None:
        with lock:
            samples[kind].append(took)
            if status >= 400:
                errors.append(f"{status} {str(body)[:120]}")

    threads = [threading.Thread(target=mentor, args=(t,)) for t in tokens]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    writes = sum(len(v) for v in samples.values())
    print(
        f"{len(tokens)} concurrent mentors for {seconds:.0f} s: {writes / seconds:.0f} writes/s"
        f" ({len(samples['create'])} referrals, {len(samples['event'])} events),"
        f" {len(errors)} errors{': ' + errors[0] if errors else ''}"
    )
    for kind, values in samples.items():
        print(f"  {kind}: {percentiles(values)}")


EVENTS: list[dict[str, Any]] = [
    {"type": "status", "to": "accepted"},
    {"type": "contact-attempt", "channel": "phone", "result": "no-answer"},
    {"type": "note", "text": "Left a message with the intake desk; will call again Friday."},
]


def _referral(service_id: str) -> dict[str, Any]:
    return {
        "mentee_ref": f"B-{uuid.uuid4().int % 10**6}",
        "service_id": service_id,
        "needs": ["crisis"],
        "contact_preference": "mentor-will-contact",
        "consent": {
            "scope": "share my need with the service",
            "obtained_at": dt.datetime.now(dt.UTC).isoformat(),
            "method": "verbal",
        },
        "note": "Prefers evening calls.",
    }


def _timed(call: Any, *args: Any) -> tuple[float, Any]:
    started = time.perf_counter()
    result = call(*args)
    return (time.perf_counter() - started) * 1000, result


def main() -> None:
    with_database(run, port=55437)


if __name__ == "__main__":
    main()
