"""A TCP proxy on 127.0.0.1 in front of the test database, to make it fail and come back.

Modes: ``pass`` forwards both ways; ``freeze`` accepts and forwards nothing, holding what
either side sent (a database stopped with SIGSTOP, or a hung network path: the kernel still
accepts connections and acknowledges data, no answer comes); ``stop`` refuses new connections
and drops the open ones (a database that went down). Back to ``pass``, what a frozen link held
is delivered, as to a database that resumes.

The test cluster listens only on a Unix socket (``listen_addresses=''``), so the proxy forwards
TCP to that socket; a TCP database (``DIRECTORY_TEST_DATABASE_URL``) works too.
"""

from __future__ import annotations

import contextlib
import select
import socket
import threading
from collections.abc import Callable
from types import TracebackType
from typing import Literal

from sqlalchemy.engine import make_url

Mode = Literal["pass", "freeze", "stop"]
TICK = 0.05  # seconds: how often a waiting thread looks at the mode again
Target = str | tuple[str, int]  # a Unix socket's path, or host and port


def target_of(database_url: str) -> Target:
    """Where a database URL's connections go: its Unix socket, or its host and port."""
    url = make_url(database_url)
    host = url.query.get("host") or url.host or "/var/run/postgresql"
    port = int(str(url.query.get("port") or url.port or 5432))
    host = host if isinstance(host, str) else host[0]
    return f"{host}/.s.PGSQL.{port}" if host.startswith("/") else (host, port)


class FaultProxy:
    """A proxy with a mode that tests switch (``proxy.mode = "freeze"``); a context manager."""

    def __init__(self, target: Target) -> None:
        self.target = target
        self._mode: Mode = "pass"
        self._changed = threading.Condition()
        self._listener: socket.socket | None = self._listen(0)
        self.port: int = self._listener.getsockname()[1]
        self._links: set[_Link] = set()
        self._closed = False
        self._acceptor = threading.Thread(target=self._accept, name="faultproxy", daemon=True)

    def __enter__(self) -> FaultProxy:
        self._acceptor.start()
        return self

    def __exit__(self, *_: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.close()

    def url_for(self, database_url: str) -> str:
        """The database URL with its connections sent through this proxy."""
        url = make_url(database_url)
        query = {k: v for k, v in url.query.items() if k not in ("host", "port")}
        through = url.set(host="127.0.0.1", port=self.port, query=query)
        return through.render_as_string(hide_password=False)

    @property
    def mode(self) -> Mode:
        return self._mode

    @mode.setter
    def mode(self, mode: Mode) -> None:
        with self._changed:
            if mode == "stop" and self._listener is not None:
                self._listener.close()  # refused from now on
                self._listener = None
            if mode != "stop" and self._listener is None:
                self._listener = self._listen(self.port)
            self._mode = mode
            dropped = set(self._links) if mode == "stop" else set()
            self._changed.notify_all()
        for link in dropped:
            link.close()

    def close(self) -> None:
        """Drop every link, stop listening and wait for the threads."""
        with self._changed:
            self._closed = True
            self._changed.notify_all()
        if self._acceptor.is_alive():
            self._acceptor.join(timeout=5)
        with self._changed:
            links = set(self._links)
        for link in links:
            link.close()
            link.join()
        if self._listener is not None:
            self._listener.close()
            self._listener = None

    def _listen(self, port: int) -> socket.socket:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", port))
        listener.listen(64)
        return listener

    def _accept(self) -> None:
        while not self._closed:
            listener = self._listener
            if listener is None:  # stopped
                self._wait(lambda: self._mode != "stop")
                continue
            try:
                readable, _, _ = select.select([listener], [], [], TICK)
                if not readable:
                    continue
                client, _ = listener.accept()
            except (OSError, ValueError):  # closed by a switch to "stop"
                continue
            link = _Link(self, client)
            with self._changed:
                self._links.add(link)
            link.start()

    def _wait(self, ready: Callable[[], bool]) -> bool:
        """Wait until ``ready()`` or the proxy closes; whether it is ready."""
        with self._changed:
            while not self._closed and not ready():
                self._changed.wait(TICK)
            return not self._closed and ready()

    def forwarding(self, link: _Link) -> bool:
        """Wait while frozen; whether the link may forward (not once stopped or closed)."""
        self._wait(lambda: self._mode != "freeze" or link.closed.is_set())
        return self._mode == "pass" and not self._closed and not link.closed.is_set()

    def connect(self) -> socket.socket:
        """A new connection to the database."""
        if isinstance(self.target, str):
            upstream = socket.socket(socket.AF_UNIX)
            upstream.connect(self.target)
            return upstream
        return socket.create_connection(self.target)

    def forget(self, link: _Link) -> None:
        with self._changed:
            self._links.discard(link)


class _Link:
    """One client connection and its upstream: two pumps, one each way, held while frozen."""

    def __init__(self, proxy: FaultProxy, client: socket.socket) -> None:
        self.proxy = proxy
        self.client = client
        self.upstream: socket.socket | None = None
        self.closed = threading.Event()
        self.thread = threading.Thread(target=self._run, name="faultproxy-link", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def join(self) -> None:
        self.thread.join(timeout=5)

    def close(self) -> None:
        """Drop both sides (their peers see the connection closed)."""
        self.closed.set()
        for side in (self.client, self.upstream):
            if side is not None:
                with contextlib.suppress(OSError):
                    side.shutdown(socket.SHUT_RDWR)

    def _run(self) -> None:
        try:
            if not self.proxy.forwarding(self):  # accepted while frozen: held until it thaws
                return
            self.upstream = self.proxy.connect()
            if self.closed.is_set():
                return
            back = threading.Thread(
                target=self._pump, args=(self.upstream, self.client), daemon=True
            )
            back.start()
            self._pump(self.client, self.upstream)
            back.join()
        except OSError:
            pass
        finally:
            self.close()
            for side in (self.client, self.upstream):
                if side is not None:
                    side.close()
            self.proxy.forget(self)

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        """Copy ``source`` to ``sink`` while the proxy passes; hold the bytes while it freezes."""
        try:
            while not self.closed.is_set():
                readable, _, _ = select.select([source], [], [], TICK)
                if not readable:
                    continue
                data = source.recv(65536)
                if not data or not self.proxy.forwarding(self):
                    break
                sink.sendall(data)
        except (OSError, ValueError):
            pass
        finally:
            self.close()
