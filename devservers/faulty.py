"""Misbehaving DynamoDB endpoints on 127.0.0.1, for failure tests.

- `ThrottlingServer`: answers every request with DynamoDB's ThrottlingException.
- `NotJSONServer`: answers every request 200 with an HTML page (a captive portal).
- `HTMLErrorServer`: answers every request 502 with a proxy's HTML error page.
- `BlackHoleServer`: accepts requests and answers none until released.
- `LossyProxy`: performs a call upstream, then loses its answer (once per operation,
  or always), optionally running a callback in between (another writer).
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Callable, Collection
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from typing_extensions import Self

from devservers._threaded import ClosedOnExit

_THROTTLED = (
    b'{"__type":"com.amazonaws.dynamodb.v20120810#ThrottlingException",'
    b'"message":"Rate of requests exceeds the allowed throughput."}'
)


class _BackgroundServer(ClosedOnExit, ThreadingHTTPServer):
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

    def close(self) -> None:
        self.shutdown()
        self.server_close()


class _QuietHandler(BaseHTTPRequestHandler):
    """A request handler that logs nothing and answers with a Content-Length."""

    def _answer(self, status: int, headers: list[tuple[str, str]], data: bytes) -> None:
        self.send_response(status)
        for name, value in headers:
            if name.lower() != "content-length":
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:
        pass


class _CannedHandler(_QuietHandler):
    """Reads a request, counts it, and sends the server's one answer (HTTP/1.0: then
    closes the connection)."""

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        server: _CannedServer = self.server  # type: ignore[assignment]
        with server.lock:
            server.requests += 1
            server.times.append(time.monotonic())
        self._answer(server.status, [("Content-Type", server.content_type)], server.body)


class _KeepAliveCannedHandler(_CannedHandler):
    """The same, keeping the connection open for the next request (HTTP/1.1)."""

    protocol_version = "HTTP/1.1"


class _CannedServer(_BackgroundServer):
    """Answers every request with the same `status`, `content_type` and `body`;
    counts the requests and when they came."""

    status: int
    content_type: str
    body: bytes

    def __init__(self, handler: type[_CannedHandler] = _CannedHandler) -> None:
        super().__init__(handler)
        self.requests = 0
        self.times: list[float] = []  # time.monotonic() of each request


class ThrottlingServer(_CannedServer):
    """A DynamoDB endpoint that throttles every request; counts what it received."""

    status, content_type, body = 400, "application/x-amz-json-1.0", _THROTTLED


class NotJSONServer(_CannedServer):
    """Answers every request 200 with an HTML page, as a captive portal or a
    misconfigured proxy would; counts what it received."""

    status, content_type = 200, "text/html"
    body = b"<html><body>Please sign in to the hotel network.</body></html>"

    def __init__(self) -> None:
        super().__init__(_KeepAliveCannedHandler)


class HTMLErrorServer(_CannedServer):
    """Answers every request 502 with an HTML error page, as a reverse proxy whose
    upstream is down would; counts what it received."""

    status, content_type = 502, "text/html"
    body = (
        b"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
        b"<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n"
        b"</body>\r\n</html>\r\n"
    )

    def __init__(self) -> None:
        super().__init__(_KeepAliveCannedHandler)


class BlackHoleServer(ClosedOnExit):
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

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def close(self) -> None:
        self.release()


_FAILED = (
    b'{"__type":"com.amazonaws.dynamodb.v20120810#InternalServerError",'
    b'"message":"Internal server error (injected by devservers.faulty)."}'
)


class _LossyHandler(_QuietHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        import http.client

        server: LossyProxy = self.server  # type: ignore[assignment]
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        operation = self.headers.get("X-Amz-Target", "").rpartition(".")[2]
        if operation in server.fail_always:
            with server.lock:
                server.refused.append(operation)
            self._answer(500, [("Content-Type", "application/x-amz-json-1.0")], _FAILED)
            return
        upstream = http.client.HTTPConnection(
            server.upstream_host, server.upstream_port, timeout=10
        )
        try:
            upstream.request("POST", self.path, body=body, headers=dict(self.headers.items()))
            response = upstream.getresponse()
            data = response.read()
        finally:
            upstream.close()
        with server.lock:
            server.forwarded.append(operation)
            lose = operation in server.lose_once or operation in server.lose_always
            server.lose_once.discard(operation)
        if lose:
            # The write happened upstream; the client never hears of it.
            if server.on_lost is not None:
                server.on_lost(operation)
            self.close_connection = True
            self.connection.close()
            return
        headers = [
            (name, value)
            for name, value in response.getheaders()
            if name.lower() not in ("connection", "transfer-encoding")
        ]
        self._answer(response.status, headers, data)


class LossyProxy(_BackgroundServer):
    """Forwards DynamoDB calls to `upstream`, but drops the answer to the first call of
    each operation in `lose_once`, and to every call of those in `lose_always`, *after*
    the upstream server performed it. `on_lost(operation)` runs after the call was
    performed and before its answer is dropped: a test can write in between. Calls
    of the operations in `fail_always` are answered 500 and never forwarded."""

    def __init__(
        self,
        upstream: str,
        *,
        lose_once: Collection[str] = (),
        lose_always: Collection[str] = (),
        fail_always: Collection[str] = (),
        on_lost: Callable[[str], None] | None = None,
    ) -> None:
        super().__init__(_LossyHandler)
        host, _, port = upstream.removeprefix("http://").partition(":")
        self.upstream_host, self.upstream_port = host, int(port)
        self.lose_once = set(lose_once)
        self.lose_always = set(lose_always)
        self.fail_always = set(fail_always)
        self.on_lost = on_lost
        self.forwarded: list[str] = []
        self.refused: list[str] = []  # calls answered 500 by `fail_always`
