"""The multi-worker supervisor `directory serve` had before Granian, kept to measure against it.

    .venv/bin/python bench/supervisor.py --port PORT --workers N

The parent opens one listening socket per worker, all bound with SO_REUSEPORT (Linux spreads
new connections across them by a hash of the client's address and port), and starts N uvicorn
processes, each serving on one of them; a worker that dies is replaced on the same socket, so
connections waiting in its queue are served by its successor. SIGTERM or SIGINT stops them all
(uvicorn finishes the requests under way; SIGKILL after 30 s). ``bench/servers.py`` runs it as
"supervisor". Not used by the app: the metrics' shared folder and the refusal of a taken port
are left out (``directory.serving`` has them).
"""

from __future__ import annotations

import argparse
import multiprocessing
import signal
import socket
import threading
import time
from multiprocessing.process import BaseProcess
from typing import Any

BACKLOG = 2048


def listeners(host: str, port: int, count: int) -> list[socket.socket]:
    """``count`` listening sockets on host:port in one SO_REUSEPORT group, made with protocol
    IPPROTO_TCP: asyncio sets TCP_NODELAY only on sockets whose protocol says TCP."""
    family, kind, proto, _, address = socket.getaddrinfo(
        host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP
    )[0]
    made = []
    for _ in range(count):
        sock = socket.socket(family, kind, proto)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind(address)
        sock.listen(BACKLOG)
        made.append(sock)
    return made


def supervise(host: str, port: int, workers: int) -> None:
    """Run ``workers`` uvicorn processes until SIGINT or SIGTERM, replacing any that dies."""
    context = multiprocessing.get_context("spawn")
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    sockets = listeners(host, port, workers)
    running: list[BaseProcess] = [_start(context, sock, host, port) for sock in sockets]
    while not stop.wait(0.5):
        for k, process in enumerate(running):
            if not process.is_alive():
                running[k] = _start(context, sockets[k], host, port)
    for process in running:
        process.terminate()
    deadline = time.monotonic() + 30
    for process in running:
        process.join(max(0.0, deadline - time.monotonic()))
        if process.is_alive():
            process.kill()
            process.join()
    for sock in sockets:
        sock.close()


def _start(context: Any, sock: socket.socket, host: str, port: int) -> BaseProcess:
    process: BaseProcess = context.Process(target=_worker, args=(sock, host, port))
    process.start()
    return process


def _worker(sock: socket.socket, host: str, port: int) -> None:
    import uvicorn

    config = uvicorn.Config(
        "directory.serving:worker_app",  # our settings and logs; it stops with its parent
        factory=True,
        host=host,
        port=port,
        access_log=False,  # the app logs its own (access_log)
        log_config=None,  # uvicorn's lines go through ours (directory.logs)
        proxy_headers=False,  # the app reads X-Forwarded-For itself (worker_app)
    )
    uvicorn.Server(config).run(sockets=[sock])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--workers", type=int, default=2)
    options = parser.parse_args()
    supervise(options.host, options.port, options.workers)


if __name__ == "__main__":
    main()
