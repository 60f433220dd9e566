"""`directory serve --workers N` (Granian's workers, directory/serving.py): a listening socket
per worker, a clear error for a taken port (a second serve's too), a clean stop on SIGTERM, and
workers that stop with their parent and are replaced when they die. (``engine``: the test
database, migrated.)"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from sqlalchemy.engine import Engine

# These read Linux's /proc (listening sockets, a process's children) and check the spread that
# SO_REUSEPORT gives on Linux only (elsewhere it binds, but one socket gets every connection).
# The project runs on Linux, where they always run.
LINUX = pytest.mark.skipif(
    sys.platform != "linux", reason="reads Linux's /proc and checks Linux's SO_REUSEPORT"
)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _env(database_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DIRECTORY_")}
    return env | {"DIRECTORY_DATABASE_URL": database_url, "DIRECTORY_INDEX_SYNC_INTERVAL": "0"}


@contextmanager
def _serve(database_url: str, port: int, workers: int) -> Iterator[subprocess.Popen[str]]:
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "directory",
            "serve",
            "--port",
            str(port),
            "--workers",
            str(workers),
        ],
        env=_env(database_url),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        yield server
    finally:
        if server.poll() is None:
            server.terminate()  # SIGTERM: the parent stops its workers too
        server.communicate(timeout=40)  # reads and closes its output


def _listening(port: int) -> int:
    """How many sockets listen on 127.0.0.1:port (from /proc/net/tcp; state 0A is LISTEN)."""
    rows = Path("/proc/net/tcp").read_text().splitlines()[1:]
    local = f"0100007F:{port:04X}"
    return sum(1 for row in rows if row.split()[1] == local and row.split()[3] == "0A")


# Once up, the workers are checked with a route of the API, not /healthz: a probe answers 503
# when the database takes over a second, which a machine loaded by the rest of the suite can
# make it (CI saw it). Here /healthz only says when to start, retried.
def _wait_until_answering(base: str, server: subprocess.Popen[str]) -> None:
    for _ in range(150):
        assert server.poll() is None, server.stdout.read() if server.stdout else ""
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    pytest.fail("the API did not answer")


@LINUX
def test_each_worker_listens_on_its_own_socket_and_sigterm_stops_all(
    database_url: str, engine: Engine
) -> None:
    port = _free_port()
    with _serve(database_url, port, workers=2) as server:
        base = f"http://127.0.0.1:{port}"
        _wait_until_answering(base, server)
        for _ in range(60):  # both workers have started listening
            if _listening(port) == 2:
                break
            time.sleep(0.2)
        assert _listening(port) == 2
        for _ in range(20):  # fresh connections, each answered by one of them
            answer = httpx.get(f"{base}/v1/crisis-lines", timeout=10)
            assert answer.status_code == 200, answer.text
        # The workers' sockets have SO_REUSEPORT: a second serve on the port would share it
        # silently, were it not refused.
        with _serve(database_url, port, workers=2) as second:
            assert second.wait(60) == 1
            output = second.stdout.read() if second.stdout else ""
        assert f"cannot listen on 127.0.0.1:{port}" in output
        server.send_signal(signal.SIGTERM)
        assert server.wait(30) == 0
    assert _listening(port) == 0


def test_a_taken_port_is_a_clear_error(database_url: str) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with _serve(database_url, port, workers=2) as server:
            assert server.wait(60) == 1
            output = server.stdout.read() if server.stdout else ""
    assert f"cannot listen on 127.0.0.1:{port}" in output


@LINUX
def test_workers_stop_when_their_parent_is_killed(database_url: str, engine: Engine) -> None:
    port = _free_port()
    with _serve(database_url, port, workers=2) as server:
        _wait_until_answering(f"http://127.0.0.1:{port}", server)
        server.kill()  # SIGKILL: the parent cannot stop its workers itself
        server.wait(10)
        for _ in range(50):
            if _listening(port) == 0:
                break
            time.sleep(0.2)
        assert _listening(port) == 0


def _children(pid: int) -> set[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return {int(p) for p in path.read_text().split()} if path.exists() else set()


@LINUX
def test_a_worker_that_dies_is_replaced(database_url: str, engine: Engine) -> None:
    port = _free_port()
    with _serve(database_url, port, workers=2) as server:
        base = f"http://127.0.0.1:{port}"
        _wait_until_answering(base, server)
        time.sleep(6)  # past the start: a death now is not a failure to start
        before = _children(server.pid)  # Granian's workers, forked
        assert len(before) == 2
        os.kill(min(before), signal.SIGKILL)
        for _ in range(100):
            now = {p for p in _children(server.pid) if p not in before}
            if now:
                break
            time.sleep(0.1)
        assert now, "no worker replaced the dead one"
        assert server.poll() is None
        _wait_until_answering(base, server)
        for _ in range(100):  # the successor listens on a socket of its own once it started
            if _listening(port) == 2:
                break
            time.sleep(0.2)
        assert _listening(port) == 2
        for _ in range(20):
            answer = httpx.get(f"{base}/v1/crisis-lines", timeout=10)
            assert answer.status_code == 200, answer.text
