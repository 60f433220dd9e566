"""`directory serve --workers N`: N uvicorn processes, each with a listening socket of its own.

uvicorn's own multi-process mode shares one listening socket, and whichever process wakes
first accepts every connection waiting: 8 keep-alive clients all landed on one of two workers
(measured with `ss`; the other stayed idle, and throughput was that of one process). Here the
parent opens one listening socket per worker, all bound with SO_REUSEPORT, so Linux spreads new
connections across them (by a hash of the client's address and port), and hands each to its
worker. The parent keeps them: a worker that dies is replaced on the same socket, and the
connections waiting in its queue are served by the replacement.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import shutil
import signal
import socket
import threading
import time
from dataclasses import dataclass
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from starlette.types import ASGIApp

log = logging.getLogger(__name__)
STARTUP_FAILURE = 3  # uvicorn's exit code when the app does not start
QUICK_EXIT = 5.0  # seconds: a worker dying this soon after its start did not really start
BACKLOG = 2048
MULTIPROCESS = "PROMETHEUS_MULTIPROC_DIR"  # where prometheus-client's workers keep figures


def listeners(host: str, port: int, count: int) -> list[socket.socket]:
    """``count`` listening sockets on host:port in one SO_REUSEPORT group.

    A port some other server listens on is an OSError here (a bind without SO_REUSEPORT comes
    first: with it, a second `directory serve` would silently share the port). The sockets are
    made with protocol IPPROTO_TCP, not 0: asyncio sets TCP_NODELAY only on sockets whose
    protocol says TCP, and without it each response waited 40 ms (Nagle's algorithm against
    delayed ACKs; measured)."""
    family, kind, proto, _, address = socket.getaddrinfo(
        host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP
    )[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind(address)
    made: list[socket.socket] = []
    try:
        for _ in range(count):
            sock = socket.socket(family, kind, proto)
            made.append(sock)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            sock.bind(address)
            sock.listen(BACKLOG)
    except OSError:
        for sock in made:
            sock.close()
        raise
    return made


@dataclass
class _Slot:
    sock: socket.socket
    process: BaseProcess | None = None
    started: float = 0.0
    restarts: int = 0
    quick: bool = False  # the last one died soon after its start


def shared_metrics(folder: Path) -> None:
    """Have the workers about to start keep their figures in files under ``folder``
    (prometheus-client's multiprocess mode), so that a scrape, which reaches one of them, sums
    every worker's. Emptied first: an earlier run's files would be counted again."""
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    os.environ[MULTIPROCESS] = str(folder)


def serve_processes(host: str, port: int, workers: int, *, metrics_dir: Path | None = None) -> int:
    """Run ``workers`` API processes until SIGINT or SIGTERM; the exit status. With
    ``metrics_dir``, their figures are shared there (``shared_metrics``)."""
    context = multiprocessing.get_context("spawn")
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    slots = [_Slot(sock) for sock in listeners(host, port, workers)]
    if metrics_dir is not None:  # the port is ours: no other serve writes there
        shared_metrics(metrics_dir)
    status = 0
    try:
        for slot in slots:
            _start(context, slot, host, port)
        while not stop.wait(0.5):
            for slot in slots:
                assert slot.process is not None
                if slot.process.is_alive():
                    continue
                code = slot.process.exitcode
                quick = time.monotonic() - slot.started < QUICK_EXIT
                # The app cannot start (uvicorn says so, or the first one, or two in a row,
                # died as they started): stop rather than start one every half second.
                if code == STARTUP_FAILURE or (quick and (slot.restarts == 0 or slot.quick)):
                    log.error("an API process exited as it started (%s): stopping", code)
                    stop.set()
                    status = STARTUP_FAILURE
                    break
                log.warning("API process %s exited (%s): starting another", slot.process.pid, code)
                _forget_metrics(slot.process.pid)
                slot.restarts, slot.quick = slot.restarts + 1, quick
                _start(context, slot, host, port)
    finally:
        _stop(slots)
    return status


def _forget_metrics(pid: int | None) -> None:
    """A dead worker's pool gauges no longer count (its counters do: requests it answered)."""
    if pid is not None and os.environ.get(MULTIPROCESS):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(pid)  # type: ignore[no-untyped-call]


def _start(context: Any, slot: _Slot, host: str, port: int) -> None:
    args = (slot.sock, host, port, os.getpid())
    slot.process = context.Process(target=_worker, args=args)
    slot.process.start()
    slot.started = time.monotonic()


def _stop(slots: list[_Slot]) -> None:
    """SIGTERM (uvicorn finishes the requests under way), then SIGKILL after 30 s."""
    running = [slot.process for slot in slots if slot.process is not None]
    for process in running:
        if process.is_alive():
            process.terminate()
    deadline = time.monotonic() + 30
    for process in running:
        process.join(max(0.0, deadline - time.monotonic()))
        if process.is_alive():
            process.kill()
            process.join()
    for slot in slots:
        slot.sock.close()


def worker_app() -> ASGIApp:
    """The app of one worker process, for any server that calls a factory in each worker:
    the settings from the environment, and this process's log lines in our format."""
    from directory import logs
    from directory.api.app import create_app
    from directory.config import get_settings

    settings = get_settings()
    logs.configure(settings.log_format)
    return create_app(settings)


def _worker(sock: socket.socket, host: str, port: int, parent: int) -> None:  # pragma: no cover
    import uvicorn

    from directory.config import get_settings

    threading.Thread(target=_stop_with_parent, args=(parent,), daemon=True).start()
    settings = get_settings()
    config = uvicorn.Config(
        "directory.serving:worker_app",
        factory=True,
        host=host,
        port=port,
        # uvicorn's access line has the query string; the app logs its own (access_log)
        access_log=False,
        log_config=None,  # uvicorn's lines go through ours (directory.logs)
        forwarded_allow_ips=settings.forwarded_allow_ips,
    )
    uvicorn.Server(config).run(sockets=[sock])


def _stop_with_parent(parent: int) -> None:
    """A worker whose parent died (killed with SIGKILL, say) stops too, instead of serving on."""
    while os.getppid() == parent:
        time.sleep(1)
    os.kill(os.getpid(), signal.SIGTERM)
