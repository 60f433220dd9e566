"""A private redis-server for the shared-store tests: a free port, a temp folder, nothing saved.

Debian's ``redis-server`` (``make redis-packages``); without it the tests that need it skip,
except under ``CI=true``, where they fail.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import redis

REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"


def free_port() -> int:
    """A port nothing listens on (just now)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def private_redis() -> Iterator[str]:
    """A redis-server of this test run; its URL. Stopped, and its folder deleted, at the end."""
    if not os.path.exists(REDIS_SERVER):
        message = "redis-server is not installed (`make redis-packages` installs it from Debian)"
        if os.environ.get("CI") == "true":
            pytest.fail(message + "; under CI=true it is required")
        pytest.skip(message)
    port, folder = free_port(), tempfile.mkdtemp(prefix="directory-redis-")
    command = [REDIS_SERVER, "--port", str(port), "--bind", "127.0.0.1", "--dir", folder]
    command += ["--save", "", "--appendonly", "no"]
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"redis://127.0.0.1:{port}/0"
    try:
        with redis.Redis.from_url(url) as probe:
            for _ in range(100):
                try:
                    probe.ping()
                    break
                except redis.ConnectionError:
                    time.sleep(0.05)
            else:
                pytest.fail("redis-server did not answer within 5 s")
        yield url
    finally:
        server.terminate()
        server.wait(timeout=10)
        shutil.rmtree(folder, ignore_errors=True)
