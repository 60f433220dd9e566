"""Shared by the HTTP benchmarks: the API served on a free 127.0.0.1 port, and percentiles."""

from __future__ import annotations

import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit

import httpx


@contextmanager
def api_server(env: dict[str, str]) -> Iterator[str]:
    """`directory serve` with BENCH_WORKERS processes (default 2, one per core); its base URL."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    workers = os.environ.get("BENCH_WORKERS", "2")
    print(f"API: {workers} process(es)")
    server = subprocess.Popen(
        [sys.executable, "-m", "directory", "serve", "--port", str(port), "--workers", workers],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(base, server)
        yield base
    finally:
        server.terminate()
        server.wait(timeout=10)


def percentiles(samples: list[float]) -> str:
    """p50 and p95 of latencies in milliseconds."""
    ordered = sorted(samples)
    p95 = ordered[max(0, int(len(ordered) * 0.95) - 1)]
    return f"p50 {statistics.median(ordered):.1f} ms, p95 {p95:.1f} ms (n={len(ordered)})"


def wait_healthy(
    base: str, server: subprocess.Popen[bytes] | None = None, output: Any = None
) -> None:
    """Until ``base`` answers /healthz (60 s at most); a server that stopped meanwhile is an
    error with the end of its ``output`` (a file it writes to), when given."""
    for _ in range(300):
        if server is not None and server.poll() is not None:
            said = ""
            if output is not None:
                output.seek(0)
                said = ":\n" + output.read()[-3000:]
            raise SystemExit(f"the server stopped ({server.returncode}){said}")
        try:
            if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise SystemExit("the server did not answer in 60 s")


class KeepAlive:
    """A load generator's client: one keep-alive HTTP/1.1 connection from the standard library.

    httpx spent about 1.9 ms of CPU per request (measured), which on this 2-core machine is
    CPU the API under test does not get; http.client spends a fraction of that.
    """

    def __init__(self, base: str, headers: dict[str, str]) -> None:
        url = urlsplit(base)
        self._connection = http.client.HTTPConnection(url.hostname or "", url.port, timeout=10)
        self._headers = {**headers, "Content-Type": "application/json"}

    def post(self, path: str, body: Any, headers: dict[str, str]) -> tuple[int, Any]:
        """(status, parsed JSON body)."""
        payload = json.dumps(body).encode()
        self._connection.request("POST", path, body=payload, headers={**self._headers, **headers})
        response = self._connection.getresponse()
        data = response.read()
        return response.status, json.loads(data) if data else None

    def get(self, path: str) -> int:
        """The status of a GET (its body read and dropped: the connection stays usable)."""
        self._connection.request("GET", path, headers=self._headers)
        response = self._connection.getresponse()
        response.read()
        return response.status

    def close(self) -> None:
        self._connection.close()
