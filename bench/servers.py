"""`directory serve`, its former supervisor, Granian and Gunicorn on issue 15's 8-client bench.

    DIRECTORY_DATABASE_URL=postgresql+psycopg://... .venv/bin/python bench/servers.py \
        [--workers 2 1] [--rounds 2] [--seconds 20] [--servers serve granian ...]

Each server in turn (interleaved: every server once, then every server again, so that the
machine's other load spreads over all of them) starts on a free 127.0.0.1 port against the
given database with the same worker count, is warmed, takes ``bench/throughput.py``'s 8
clients, and is stopped with SIGTERM. Each runs the same app, ``directory.serving:worker_app``
(our settings and log format in every worker), with no access log and the outbox sync thread
off (``DIRECTORY_INDEX_SYNC_INTERVAL=0``: the bench writes nothing to the database but, once,
the mentor whose token it uses; give ``BENCH_TOKEN`` to reuse one). Besides the throughput it
records each worker's share of the CPU the workers used (how evenly the server spread the 8
keep-alive connections), their memory after the run, the time to start and to stop, and the
same 8 clients' throughput on a light request (``LIGHT``, for half as long), where the servers'
own cost shows more than behind a search.
Prints a JSON line per run and a table at the end. Traffic goes to 127.0.0.1 only. Not a test.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from serving import wait_healthy
from throughput import measure

BIN = Path(sys.executable).parent
APP = "directory.serving:worker_app"
Command = Callable[[int, int], list[str]]
# A light request (a small read, answered in a few milliseconds), where the server's own work
# is a larger share than in a search: its throughput tells the servers apart better.
LIGHT = "/v1/crisis-lines?country=US&language=es"

SERVERS: dict[str, Command] = {
    # our former supervisor: a parent holding one SO_REUSEPORT socket per uvicorn worker
    "supervisor": lambda port, n: [
        *[sys.executable, str(Path(__file__).with_name("supervisor.py"))],
        *["--port", str(port), "--workers", str(n)],
    ],
    # `directory serve` as it is now (directory/serving.py)
    "serve": lambda port, n: [
        *[sys.executable, "-m", "directory", "serve"],
        *["--port", str(port), "--workers", str(n)],
    ],
    # Granian's command line: Rust HTTP; on Linux each worker binds its own SO_REUSEPORT socket
    "granian": lambda port, n: [
        *[str(BIN / "granian"), "--interface", "asgi", "--factory", "--loop", "uvloop"],
        *["--http", "1", "--no-ws", "--backlog", "2048", "--log-level", "warning"],
        *["--host", "127.0.0.1", "--port", str(port), "--workers", str(n), APP],
    ],
    # Gunicorn with uvicorn's worker (uvloop, httptools); --reuse-port: a socket per worker
    "gunicorn+uvicorn": lambda port, n: [
        *[str(BIN / "gunicorn"), "--worker-class", "uvicorn.workers.UvicornWorker"],
        *["--reuse-port", "--backlog", "2048", "--log-level", "warning"],
        *["--bind", f"127.0.0.1:{port}", "--workers", str(n), f"{APP}()"],
    ],
    # Gunicorn's own asyncio ASGI worker (gunicorn 25+), also a socket per worker
    "gunicorn-asgi": lambda port, n: [
        *[str(BIN / "gunicorn"), "--worker-class", "asgi", "--reuse-port"],
        *["--backlog", "2048", "--log-level", "warning"],
        *["--bind", f"127.0.0.1:{port}", "--workers", str(n), f"{APP}()"],
    ],
}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def bench_token(env: dict[str, str]) -> str:
    """BENCH_TOKEN, or a new mentor's token (one row in users)."""
    if os.environ.get("BENCH_TOKEN"):
        return os.environ["BENCH_TOKEN"]
    email = f"bench-servers-{time.time_ns()}@example.org"
    made = subprocess.run(
        [
            sys.executable,
            "-m",
            "directory",
            "users",
            "create",
            *["--email", email, "--role", "mentor"],
        ],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    token = made.stdout.strip().splitlines()[-1]
    print(f"created {email}; rerun with BENCH_TOKEN={token} to reuse it", file=sys.stderr)
    return token


def descendants(pid: int) -> list[int]:
    """Every process under ``pid`` (from Linux's /proc)."""
    found: list[int] = []
    todo = [pid]
    while todo:
        path = Path(f"/proc/{todo[0]}/task/{todo[0]}/children")
        todo.pop(0)
        try:
            children = [int(p) for p in path.read_text().split()]
        except OSError:
            continue
        found += children
        todo += children
    return found


def cpu_seconds(pid: int) -> float:
    """User and system CPU of one process so far (0 when it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mb(pid: int) -> float:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0.0
    line = next((row for row in status.splitlines() if row.startswith("VmRSS:")), "VmRSS: 0")
    return int(line.split()[1]) / 1024


def run_one(
    name: str, workers: int, env: dict[str, str], token: str, seconds: float
) -> dict[str, Any]:
    """Start ``name`` with ``workers`` processes, bench it, stop it; its figures."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryFile("w+") as output:
        started = time.perf_counter()
        server = subprocess.Popen(
            SERVERS[name](port, workers), env=env, stdout=output, stderr=subprocess.STDOUT
        )
        try:
            wait_healthy(base, server, output)
            up = time.perf_counter() - started
            time.sleep(2)  # every worker past its start (the first to answer may be alone)
            pids = descendants(server.pid) or [server.pid]
            before = {pid: cpu_seconds(pid) for pid in pids}
            figures = measure(base, token, seconds=seconds, warm=5)
            light = measure(base, token, seconds=seconds / 2, warm=2, paths=[LIGHT])
            used = {pid: cpu_seconds(pid) - before[pid] for pid in pids}
            memory = {pid: rss_mb(pid) for pid in pids}
        finally:
            stopping = time.perf_counter()
            server.send_signal(signal.SIGTERM)
            try:
                status = server.wait(40)
            except subprocess.TimeoutExpired:
                server.kill()
                status = server.wait()
            down = time.perf_counter() - stopping
    if not figures["searches"]:
        raise SystemExit(f"{name}: no search answered ({figures['error_statuses']}); a token?")
    busy = sorted((pid for pid in pids if used[pid] > 0.5), key=lambda pid: -used[pid])
    total = sum(used[pid] for pid in busy) or 1.0
    return {
        "server": name,
        "workers": workers,
        **figures,
        "light_per_s": light["searches_per_s"],
        "light_p95_ms": light["p95_ms"],
        "cpu_share": [round(used[pid] / total, 2) for pid in busy],
        "worker_rss_mb": [round(memory[pid]) for pid in busy],
        "start_s": round(up, 1),
        "stop_s": round(down, 1),
        "exit": status,
    }


def table(results: list[dict[str, Any]]) -> str:
    rows = [
        "| server | workers | searches/s | p50 ms | p95 ms | p99 ms | light/s | light p95 ms"
        " | CPU share of workers | RSS MB per worker | start s | stop s |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        rows.append(
            f"| {r['server']} | {r['workers']} | {r['searches_per_s']:.0f} | {r['p50_ms']}"
            f" | {r['p95_ms']} | {r['p99_ms']} | {r['light_per_s']:.0f} | {r['light_p95_ms']}"
            f" | {' / '.join(map(str, r['cpu_share']))}"
            f" | {' / '.join(map(str, r['worker_rss_mb']))} | {r['start_s']} | {r['stop_s']} |"
        )
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=int, nargs="+", default=[2, 1])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--servers", nargs="+", choices=sorted(SERVERS), default=list(SERVERS))
    options = parser.parse_args()
    if not os.environ.get("DIRECTORY_DATABASE_URL"):
        raise SystemExit("set DIRECTORY_DATABASE_URL to a database with listings, indexed")
    env = {k: v for k, v in os.environ.items() if not k.startswith("DIRECTORY_")}
    env |= {
        "DIRECTORY_DATABASE_URL": os.environ["DIRECTORY_DATABASE_URL"],
        "DIRECTORY_INDEX_SYNC_INTERVAL": "0",  # the bench writes nothing
    }
    token = bench_token(env)
    results = []
    for _ in range(options.rounds):
        for workers in options.workers:
            for name in options.servers:
                results.append(run_one(name, workers, env, token, options.seconds))
                print(json.dumps(results[-1]), flush=True)
    results.sort(key=lambda r: (-r["workers"], list(SERVERS).index(r["server"])))
    print(table(results))


if __name__ == "__main__":
    main()
