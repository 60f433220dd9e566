"""`directory serve --workers N`: N uvicorn processes, each with a listening socket of its own.

uvicorn's own multi-process mode shares one listening socket, and whichever process wakes
first accepts every connection waiting: 8 keep-alive clients all landed on one of two workers
(measured with `ss`; the other stayed idle, and throughput was that of one process). Here each
worker binds its own socket with SO_REUSEPORT, and Linux spreads new connections across them
(by a hash of the client's address and port). The parent holds the port from the start, so a
port in use fails at once and clearly, and it restarts a worker that dies.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import socket
import threading
import time
from multiprocessing.process import BaseProcess
from typing import Any

log = logging.getLogger(__name__)
STARTUP_FAILURE = 3  # uvicorn's exit code when the app does not start
QUICK_EXIT = 10.0  # seconds: a worker dying sooner than this is not restarted


def listener(host: str, port: int) -> socket.socket:
    """A TCP socket bound to host:port in the port's SO_REUSEPORT group (not yet listening).

    It is made with protocol IPPROTO_TCP, not 0: asyncio sets TCP_NODELAY only on sockets whose
    protocol says TCP, and without it each response waited 40 ms (Nagle's algorithm against
    delayed ACKs; measured)."""
    family, kind, proto, _, address = socket.getaddrinfo(
        host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP
    )[0]
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    try:
        sock.bind(address)
    except OSError:
        sock.close()
        raise
    return sock


def serve_processes(host: str, port: int, workers: int, *, access_log: bool) -> int:
    """Run ``workers`` API processes until SIGINT or SIGTERM; the exit status."""
    context = multiprocessing.get_context("spawn")
    with listener(host, port):  # holds the port: a clash fails here, before any worker starts
        children = [_start(context, host, port, access_log) for _ in range(workers)]
        stop = threading.Event()
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, lambda *_: stop.set())
        status = 0
        while not stop.wait(0.5):
            for index, (child, started) in enumerate(children):
                if child.is_alive():
                    continue
                if child.exitcode == STARTUP_FAILURE or time.monotonic() - started < QUICK_EXIT:
                    log.error("an API process exited at start (%s): stopping", child.exitcode)
                    stop.set()
                    status = STARTUP_FAILURE
                    break
                log.warning(
                    "API process %s exited (%s): starting another", child.pid, child.exitcode
                )
                children[index] = _start(context, host, port, access_log)
        for child, _ in children:
            child.terminate()  # SIGTERM: uvicorn finishes the requests under way
        for child, _ in children:
            child.join(30)
    return status


def _stop_with_parent(parent: int) -> None:
    """A worker whose parent died (killed with SIGKILL, say) stops too, instead of serving on."""
    while os.getppid() == parent:
        time.sleep(1)
    os.kill(os.getpid(), signal.SIGTERM)


def _start(context: Any, host: str, port: int, access_log: bool) -> tuple[BaseProcess, float]:
    child: BaseProcess = context.Process(target=_worker, args=(host, port, access_log))
    child.start()
    return child, time.monotonic()


def _worker(host: str, port: int, access_log: bool) -> None:  # pragma: no cover (a child)
    import uvicorn

    threading.Thread(target=_stop_with_parent, args=(os.getppid(),), daemon=True).start()
    sock = listener(host, port)
    sock.listen(2048)
    config = uvicorn.Config(
        "directory.api.app:create_app", factory=True, host=host, port=port, access_log=access_log
    )
    uvicorn.Server(config).run(sockets=[sock])
