"""Issue 15's figures from one run: speed at 100,000 listings, side by side with the peer.

    .venv/bin/python bench/scale.py [SERVICES]        # default 100,000

On a throwaway private PostGIS (or DIRECTORY_DATABASE_URL), in order:
  1. ``../shared/bench/gen_hsds.py`` makes the issue's package (20 US metros);
  2. ``directory ingest hsds`` imports it: wall time, CPU time, peak memory;
  3. ``directory index rebuild``: listings indexed a second;
  4. ``../shared/bench/peer_bench.py`` as it is: ``load`` the peer's table, then ``run`` 400
     queries, the peer's bare SQL against our ``GET /v1/search`` over HTTP (``serve``, one
     worker), its JSON line printed; then the mentor's search page (``bench/web.py``'s
     timing) for 200 of the same queries;
  5. ``bench/throughput.py``: 8 clients against ``serve`` with two workers, and the workers'
     memory (RSS) at rest and after the run;
  6. ``bench/startup.py``: ``directory --help`` and ``directory db status``.
Only 127.0.0.1 is sent traffic. Not a test; the figures go in the issue's closing note.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import psycopg
from database import with_database
from ingest import directory
from servers import bench_token, rss_mb
from serving import api_server

from directory.config import PROJECT_ROOT

PEER = PROJECT_ROOT.parent / "shared" / "bench"
HERE = Path(__file__).resolve().parent


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    with_database(lambda url: run(url, count), port=55441)


def run(url: str, count: int) -> None:
    env = {**os.environ, "DIRECTORY_DATABASE_URL": url}
    directory(env, "db", "migrate")
    directory(env, "seed", "--no-demo")
    with tempfile.TemporaryDirectory(prefix="scale-bench-") as folder:
        package = Path(folder) / "package"
        subprocess.run(
            [sys.executable, str(PEER / "gen_hsds.py"), str(package), str(count)], check=True
        )
        seconds, summary = directory(env, "ingest", "hsds", str(package), "--source", "bench")
        print(f"ingest of {count:,} HSDS services: {seconds:.1f} s\n    {summary}", flush=True)
        seconds, summary = directory(env, "index", "rebuild")
        rate = f"{count / seconds:,.0f} listings a second"
        print(f"index rebuild: {seconds:.1f} s, {rate}\n    {summary}", flush=True)
        with psycopg.connect(_libpq(url), autocommit=True) as connection:
            connection.execute("VACUUM ANALYZE")
        token = bench_token(env)
        _workers(1)
        with api_server(env) as api:
            subprocess.run(
                [sys.executable, str(PEER / "peer_bench.py"), "load", str(package), _libpq(url)],
                check=True,
            )
            side = subprocess.run(
                [
                    sys.executable,
                    str(PEER / "peer_bench.py"),
                    "run",
                    _libpq(url),
                    api,
                    token,
                    "400",
                ],
                check=True,
                capture_output=True,
                text=True,
            )
            print("side by side (peer_bench.py run, 400 queries):", side.stdout.strip(), flush=True)
            _search_page(url, api, token)
    _workers(2)
    with api_server(env) as api:
        rest = _worker_memory(api)
        out = subprocess.run(
            [sys.executable, str(HERE / "throughput.py"), api, "--token", token, "--seconds", "20"],
            check=True,
            capture_output=True,
            text=True,
        )
        print("8 clients, 2 workers:", out.stdout.strip())
        print(f"worker memory (RSS MB): at rest {rest}, after the run {_worker_memory(api)}")
    startup = subprocess.run(
        [sys.executable, str(HERE / "startup.py")], capture_output=True, text=True, env=env
    )
    print("start-up:", startup.stdout.strip())


def _search_page(url: str, api: str, token: str) -> None:
    """The mentor's search page against the API, interleaved, with the peer's query mix."""
    sys.path.insert(0, str(PEER))
    from peer_bench import cases  # type: ignore[import-not-found]
    from web import ANON_COOKIE, SESSION_COOKIE, mentor_session, page_times

    cookie = f"{SESSION_COOKIE}={mentor_session(url)}; {ANON_COOKIE}={secrets.token_urlsafe(24)}"
    mix = [
        {"near": (case["lat"], case["lng"]), "radius_km": case["km"]}
        | ({"q": case["kw"]} if case["kw"] else {})
        | ({"language": [case["lang"]]} if case["lang"] else {})
        for case in cases(200)
    ]
    page_times(api, cookie, token, mix)


def _workers(count: int) -> int:
    os.environ["BENCH_WORKERS"] = str(count)  # read by serving.api_server
    return count


def _worker_memory(api: str) -> list[int]:
    """The RSS (MB) of the processes listening on the API's port."""
    port = api.rsplit(":", 1)[1]
    found = subprocess.run(["ss", "-Hltnp", f"sport = :{port}"], capture_output=True, text=True)
    words = found.stdout.replace(",", " ").split()
    pids = {int(word.split("=")[1]) for word in words if word.startswith("pid=")}
    return [round(rss_mb(pid)) for pid in sorted(pids)]


def _libpq(url: str) -> str:
    """The database's URL as psycopg and psql read it (no SQLAlchemy driver name)."""
    return url.replace("postgresql+psycopg://", "postgresql://")


if __name__ == "__main__":
    main()
