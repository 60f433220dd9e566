"""`directory serve`: the API in Granian's worker processes, each on a socket of its own.

Granian (a well-kept Rust HTTP server with an ASGI interface) replaced a supervisor of our own
(N uvicorn processes on SO_REUSEPORT sockets a parent held, now ``bench/supervisor.py``): on
issue 15's 8-client bench (``bench/servers.py``) it served as many searches a second and more
light requests (the figures are in the README), and it is code we no longer keep. On Linux
each of its workers binds its own socket with SO_REUSEPORT, so the kernel spreads new
connections across them by a hash of the client's address and port (one socket shared by
uvicorn's workers gave all of 8 keep-alive clients to one of two workers). Unlike our
supervisor, a worker that dies takes its socket with it: connections still waiting in its
queue are reset, unless Linux's ``net.ipv4.tcp_migrate_req`` is 1. What Granian does not do is
done here: a port some other server listens on is refused (``check_port``); each worker builds
the app with ``worker_app`` (our settings and log format, X-Forwarded-For believed from the
proxies we trust, a stop when the parent dies); a dead worker's pool gauges are let go by its
successor (``forget_dead_workers``).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from starlette.types import ASGIApp

BACKLOG = 2048
STOP_WAIT = 30  # seconds a worker has to finish its requests after SIGTERM, then SIGKILL
MULTIPROCESS = "PROMETHEUS_MULTIPROC_DIR"  # where prometheus-client's workers keep figures
# Granian's own lines go to its "_granian" logger with a handler of its own: hand them to ours
GRANIAN_LOGS = {
    "version": 1,
    "disable_existing_loggers": False,
    "loggers": {"_granian": {"handlers": [], "propagate": True}},
}


def check_port(host: str, port: int) -> None:
    """OSError when some other server listens on host:port.

    The bind is without SO_REUSEPORT: Granian's workers bind with it, so a second `directory
    serve` on the same port would otherwise share it silently."""
    family, kind, proto, _, address = socket.getaddrinfo(
        host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP
    )[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind(address)


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
    from granian import Granian
    from granian.constants import HTTPModes, Interfaces, Loops

    check_port(host, port)
    # Granian forks its workers: prometheus-client, which picks its multiprocess mode as it is
    # imported, must not be imported here before ``metrics_dir`` is set (nor is the app).
    if metrics_dir is not None:  # the port is ours: no other serve writes there
        shared_metrics(metrics_dir)
    server = Granian(
        "directory.serving:worker_app",
        factory=True,
        address=host,
        port=port,
        interface=Interfaces.ASGI,
        workers=workers,
        loop=Loops.uvloop,
        http=HTTPModes.http1,
        websockets=False,
        backlog=BACKLOG,
        log_dictconfig=GRANIAN_LOGS,
        log_access=False,  # the app logs its own (access_log), without the query string
        respawn_failed_workers=True,  # a worker that dies is replaced (not one dying as it starts)
        workers_kill_timeout=STOP_WAIT,
    )
    try:
        server.serve()
    except SystemExit as stop:  # Granian's way to say that its workers could not stay up
        return stop.code if isinstance(stop.code, int) else 1
    return 0


def worker_app() -> ASGIApp:
    """The app of one worker process, for any server that calls a factory in each worker:
    the settings from the environment, this process's log lines in our format, X-Forwarded-For
    believed from ``forwarded_allow_ips`` only, and a stop when the parent dies."""
    from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

    from directory import logs
    from directory.api.app import create_app
    from directory.config import get_settings

    settings = get_settings()
    logs.configure(settings.log_format)
    forget_dead_workers()
    parent = os.getppid()
    threading.Thread(target=_stop_with_parent, args=(parent,), daemon=True).start()
    app = create_app(settings)
    # the address a proxy we trust forwarded, found as uvicorn finds it (Granian does not)
    app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=settings.forwarded_allow_ips)
    return app


def forget_dead_workers() -> None:
    """Live gauges (the pools') of workers no longer running stop counting; counters and
    histograms of theirs still do (requests they answered). Run by each worker as it starts, so
    a successor clears its predecessor's."""
    folder = os.environ.get(MULTIPROCESS)
    if not folder:
        return
    from prometheus_client import multiprocess

    for path in Path(folder).glob("gauge_live*_*.db"):
        pid = int(path.stem.rsplit("_", 1)[1])
        if not _alive(pid):
            multiprocess.mark_process_dead(pid)  # type: ignore[no-untyped-call]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's
        return True
    return True


def _stop_with_parent(parent: int) -> None:
    """A worker whose parent died (killed with SIGKILL, say) stops too, instead of serving on."""
    while os.getppid() == parent:
        time.sleep(1)
    os.kill(os.getpid(), signal.SIGTERM)
