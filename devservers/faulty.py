"""Misbehaving DynamoDB endpoints on 127.0.0.1, for failure tests.

- `ThrottlingServer`: answers every request with DynamoDB's ThrottlingException.
- `BlackHoleServer`: accepts requests and answers none until released.
- `LossyProxy`: performs a call upstream, then loses its answer (once per operation).
"""

from __future__ import annotations

import contextlib
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType

from typing_extensions import Self

_THROTTLED = (
    b'{"__type":"com.amazonaws.dynamodb.v20120810#ThrottlingException",'
    b'"message":"Rate of requests exceeds the allowed throughput."}'
)


class _BackgroundServer(ThreadingHTTPServer):
    """An HTTP server on a free loopback port, served from a thread inside `with`."""

    daemon_threads = True

    def __init__(self, handler: type[BaseHTTPRequestHandler]) -> None:
        super().__init__(("127.0.0.1", 0), handler)
        self.lock = threading.Lock()
        self._thread = threading.Thread(target=self.serve_forever, daemon=True)

    @property
    def endpoint_url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.shutdown()
        self.server_close()


class _ThrottlingHandler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        server: ThrottlingServer = self.server  # type: ignore[assignment]
        with server.lock:
            server.requests += 1
        self.send_response(400)
        self.send_header("Content-Type", "application/x-amz-json-1.0")
        self.send_header("Content-Length", str(len(_THROTTLED)))
        self.end_headers()
        self.wfile.write(_THROTTLED)

    def log_message(self, format: str, *args: object) -> None:
        pass


class ThrottlingServer(_BackgroundServer):
    """A DynamoDB endpoint that throttles every request; counts what it received."""

    def __init__(self) -> None:
        super().__init__(_ThrottlingHandler)
        self.requests = 0


class BlackHoleServer:
    """Accepts connections and reads requests, then holds them until `release()`."""

    def __init__(self) -> None:
        self._socket = socket.create_server(("127.0.0.1", 0))
        self.received = threading.Event()
        self._released = threading.Event()
        self._connections: list[socket.socket] = []
        self._thread = threading.Thread(target=self._serve, daemon=True)

    @property
    def endpoint_url(self) -> str:
        return f"http://127.0.0.1:{self._socket.getsockname()[1]}"

    @property
    def held(self) -> int:
        """How many requests it holds unanswered."""
        return len(self._connections)

    def _serve(self) -> None:
        while not self._released.is_set():
            try:
                connection, _ = self._socket.accept()
            except OSError:
                return
            connection.recv(65536)
            self._connections.append(connection)
            self.received.set()

    def release(self) -> None:
        """Close every held connection: the clients see a dropped connection."""
        self._released.set()
        for connection in self._connections:
            connection.close()
        # shutdown() wakes the accept() blocked in the serving thread; close() alone
        # would leave the socket listening until then.
        with contextlib.suppress(OSError):
            self._socket.shutdown(socket.SHUT_RDWR)
        self._socket.close()

    def __enter__(self) -> BlackHoleServer:
        self._thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.release()


class _LossyHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        import http.client

        server: LossyProxy = self.server  # type: ignore[assignment]
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        upstream = http.client.HTTPConnection(
            server.upstream_host, server.upstream_port, timeout=10
        )
        try:
            upstream.request("POST", self.path, body=body, headers=dict(self.headers.items()))
            response = upstream.getresponse()
            data = response.read()
        finally:
            upstream.close()
        operation = self.headers.get("X-Amz-Target", "").rpartition(".")[2]
        with server.lock:
            server.forwarded.append(operation)
            lose = operation in server.lose_once
            server.lose_once.discard(operation)
        if lose:
            # The write happened upstream; the client never hears of it.
            self.close_connection = True
            self.connection.close()
            return
        self.send_response(response.status)
        for name, value in response.getheaders():
            if name.lower() not in ("connection", "transfer-encoding"):
                self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:
        pass


class LossyProxy(_BackgroundServer):
    """Forwards DynamoDB calls to `upstream`, but drops the answer to the first call of
    each operation in `lose_once` *after* the upstream server performed it."""

    def __init__(self, upstream: str, *, lose_once: set[str]) -> None:
        super().__init__(_LossyHandler)
        host, _, port = upstream.removeprefix("http://").partition(":")
        self.upstream_host, self.upstream_port = host, int(port)
        self.lose_once = set(lose_once)
        self.forwarded: list[str] = []
