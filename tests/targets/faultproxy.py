"""A small threaded HTTP proxy between corral and a real S3 server, for tests and benchmarks.

It forwards every request to the upstream server, counts and logs them (method, path,
query, status), and at chosen requests injects faults: drop the connection before or
after forwarding, delay, or answer with an error status (500, 503 SlowDown, 403 ...).
"""

from __future__ import annotations

import contextlib
import http.client
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit


@dataclass(frozen=True, slots=True)
class Seen:
    """One request as the proxy saw it."""

    number: int  # 1-based, in arrival order
    method: str
    path: str  # without the query
    query: str
    status: int  # what the client got (0: connection dropped)

    @property
    def key(self) -> str:
        """The object key (path without the bucket)."""
        return self.path.lstrip("/").partition("/")[2]


Match = Callable[[str, str, str], bool]  # (method, path, query) -> bool


@dataclass(slots=True)
class Fault:
    """``action`` for requests ``match`` selects: the ``nth`` such request on, ``times`` times.

    Actions: ``"drop"`` (close without answering, the server never sees it), ``"drop-after"``
    (forward, then close without answering: the server did it), ``"delay:SECONDS"``, or an
    HTTP status with an S3 error code, ``"503:SlowDown"``, ``"500:InternalError"``,
    ``"403:AccessDenied"``, ``"200:<html>"`` (not S3 at all).
    """

    action: str
    match: Match = lambda method, path, query: True
    nth: int = 1
    times: int = 1  # 0: forever
    seen: int = 0
    fired: int = 0

    def wants(self, method: str, path: str, query: str) -> bool:
        if not self.match(method, path, query):
            return False
        self.seen += 1
        if self.seen < self.nth or (self.times and self.fired >= self.times):
            return False
        self.fired += 1
        return True


@dataclass(slots=True)
class _Shared:
    upstream: tuple[str, int]
    faults: list[Fault] = field(default_factory=list)
    log: list[Seen] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    on_request: Callable[[Seen], None] | None = None


class FaultProxy:
    """``with FaultProxy("http://127.0.0.1:PORT") as proxy: proxy.url ...``"""

    def __init__(self, upstream: str) -> None:
        parts = urlsplit(upstream)
        self.shared = _Shared((parts.hostname or "127.0.0.1", parts.port or 80))
        handler = type("Handler", (_Handler,), {"shared": self.shared})
        self.server = _QuietServer(("127.0.0.1", 0), handler)
        # One request per connection, and every handler thread joined on exit: no thread
        # outlives the test (corral forks only when no other thread runs).
        self.server.daemon_threads = False
        self.server.block_on_close = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> FaultProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(10)

    # --- control and inspection ------------------------------------------------------

    def inject(self, fault: Fault) -> Fault:
        with self.shared.lock:
            self.shared.faults.append(fault)
        return fault

    def clear(self) -> None:
        with self.shared.lock:
            self.shared.faults.clear()
            self.shared.log.clear()

    @property
    def log(self) -> list[Seen]:
        with self.shared.lock:
            return list(self.shared.log)

    def count(self, method: str | None = None) -> int:
        return sum(1 for s in self.log if method is None or s.method == method)

    def on_request(self, callback: Callable[[Seen], None] | None) -> None:
        self.shared.on_request = callback


def is_put(method: str, path: str, query: str) -> bool:
    return method == "PUT" and "uploadId" not in query


def is_list(method: str, path: str, query: str) -> bool:
    return method == "GET" and "list-type=2" in query


def is_delete_batch(method: str, path: str, query: str) -> bool:
    return method == "POST" and "delete" in query


def key_is(suffix: str) -> Match:
    return lambda method, path, query: path.endswith(suffix)


_ERROR = (
    '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code>'
    "<Message>injected by the test proxy</Message></Error>"
)


_HOP_BY_HOP = frozenset({"transfer-encoding", "connection", "content-length"})


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: object, client_address: object) -> None:
        pass  # a client that hung up (a timeout, a killed run) is part of the test


class _Handler(BaseHTTPRequestHandler):
    shared: _Shared
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:
        pass

    def _any(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        path, _, query = self.path.partition("?")
        with self.shared.lock:
            number = len(self.shared.log) + 1
            wanted = (f for f in self.shared.faults if f.wants(self.command, path, query))
            fault = next(wanted, None)
        action = fault.action if fault else ""
        status = 0
        logged: list[Seen] = []

        def log(status: int) -> None:
            # Logged before the client gets its answer: a test that reads the log once
            # the client is done must find every request it made there.
            logged.append(Seen(number, self.command, path, query, status))
            with self.shared.lock:
                self.shared.log.append(logged[-1])

        try:
            if action.startswith("delay:"):
                time.sleep(float(action.partition(":")[2]))
                action = ""
            if action == "drop":
                log(status)
                self._drop()
            elif action and action[0].isdigit():
                code, _, name = action.partition(":")
                status = int(code)
                log(status)
                self._answer(status, name)
            else:
                status, headers, data = self._forward(body)
                if action == "drop-after":
                    status = 0
                    log(status)
                    self._drop()
                else:
                    log(status)
                    self.send_response(status)
                    for name, value in headers:
                        if name.lower() not in _HOP_BY_HOP:
                            self.send_header(name, value)
                    self.send_header("Content-Length", str(len(data)))
                    self.send_header("Connection", "close")
                    self.end_headers()
                    self.wfile.write(data)
                    self.close_connection = True
        finally:
            if not logged:  # the upstream failed before an answer was chosen
                log(status)
            if self.shared.on_request is not None:
                self.shared.on_request(logged[-1])

    do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _any

    def _forward(self, body: bytes) -> tuple[int, list[tuple[str, str]], bytes]:
        connection = http.client.HTTPConnection(*self.shared.upstream, timeout=60)
        try:
            headers = {k: v for k, v in self.headers.items() if k.lower() != "connection"}
            connection.request(self.command, self.path, body=body or None, headers=headers)
            response = connection.getresponse()
            data = response.read()
            return response.status, response.getheaders(), data
        finally:
            connection.close()

    def _answer(self, status: int, name: str) -> None:
        data = (name if name.startswith("<") else _ERROR.format(code=name)).encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/html" if name.startswith("<") else "application/xml")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)
        self.close_connection = True

    def _drop(self) -> None:
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)
