"""Misbehaving DynamoDB endpoints on 127.0.0.1, for failure tests.

- `ThrottlingServer`: answers every request with DynamoDB's ThrottlingException.
- `BlackHoleServer`: accepts requests and answers none until released.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType

_THROTTLED = (
    b'{"__type":"com.amazonaws.dynamodb.v20120810#ThrottlingException",'
    b'"message":"Rate of requests exceeds the allowed throughput."}'
)


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


class ThrottlingServer(ThreadingHTTPServer):
    """A DynamoDB endpoint that throttles every request; counts what it received."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _ThrottlingHandler)
        self.lock = threading.Lock()
        self.requests = 0
        self._thread = threading.Thread(target=self.serve_forever, daemon=True)

    @property
    def endpoint_url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def __enter__(self) -> ThrottlingServer:
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
