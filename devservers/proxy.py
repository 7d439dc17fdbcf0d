"""A counting, delaying, fault-injecting HTTP/1.1 proxy for the DynamoDB JSON protocol.

It sits between the app under test and a local DynamoDB-compatible server (moto or
dynalite), both on 127.0.0.1. Every request that reaches it is one DynamoDB call; it is
counted by its ``X-Amz-Target`` header (``DynamoDB_20120810.GetItem`` -> ``GetItem``).

Per call it can:

* add a fixed latency before forwarding (to stand in for a network round trip);
* inject a fault on a fraction of calls, instead of forwarding them:
  ``throttle`` (400 with a ``ThrottlingException`` JSON body), ``500`` (500 with an
  ``InternalServerError`` body) or ``drop`` (the client connection is closed without an
  answer). These faults are decided before forwarding, so the call never reaches the
  server and retrying it is always safe;
* ``lost_answer``: forward the call, let the server apply it, then close the client
  connection without the answer. A client that retries sees its own write already
  applied: a conditional write fails its condition, an unconditional one lands twice.

Control API, on the same port, under ``/__proxy__/``:

* ``GET /__proxy__/stats``  -> ``{"calls": {op: n}, "faults": {kind: n}, "total": n, ...}``
* ``POST /__proxy__/reset`` -> zero the counters
* ``POST /__proxy__/config`` with JSON ``{"latency_ms": 5, "faults": {"throttle": 0.05},
  "seed": 1, "strip_prefix": "/base"}`` -> change the behaviour (fields left out keep
  their value); ``strip_prefix`` removes that prefix from request paths before
  forwarding (the paths as received are counted in ``paths``)

Run it as ``python -m devservers.proxy --upstream http://127.0.0.1:PORT --port PORT``; it
prints ``READY <port>`` once listening. :class:`ProxyServer` is the in-process API, and
:class:`BackgroundProxy` runs one in a thread, with an outage switch (`stop_listening`).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import random
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from devservers._threaded import LoopThread

FAULT_KINDS = ("throttle", "500", "drop", "lost_answer")
THROTTLE_BODY = json.dumps(
    {
        "__type": "com.amazonaws.dynamodb.v20120810#ThrottlingException",
        "message": "Rate of requests exceeds the allowed throughput (injected by devservers.proxy)",
    }
).encode()
ERROR_500_BODY = json.dumps(
    {
        "__type": "com.amazonaws.dynamodb.v20120810#InternalServerError",
        "message": "Internal server error (injected by devservers.proxy)",
    }
).encode()
MAX_HEADER_BYTES = 64 * 1024


class _Closed(Exception):
    """The peer closed the connection between requests."""


@dataclass
class _Message:
    head: bytes  # start line and headers, without the final blank line
    headers: dict[str, str]  # lower-cased names
    body: bytes


@dataclass
class ProxyState:
    """Configuration and counters shared by every connection."""

    latency_ms: float = 0.0
    faults: dict[str, float] = field(default_factory=dict)
    rng: random.Random = field(default_factory=lambda: random.Random(1))
    strip_prefix: str = ""
    calls: Counter[str] = field(default_factory=Counter)
    paths: Counter[str] = field(default_factory=Counter)
    faults_injected: Counter[str] = field(default_factory=Counter)
    upstream_errors: int = 0
    since: float = field(default_factory=time.monotonic)

    def reset(self) -> None:
        self.calls.clear()
        self.paths.clear()
        self.faults_injected.clear()
        self.upstream_errors = 0
        self.since = time.monotonic()

    def configure(self, config: dict[str, Any]) -> None:
        if "latency_ms" in config:
            self.latency_ms = float(config["latency_ms"])
        if "faults" in config:
            faults = {str(k): float(v) for k, v in dict(config["faults"]).items()}
            unknown = set(faults) - set(FAULT_KINDS)
            if unknown:
                raise ValueError(f"unknown fault kinds: {sorted(unknown)}")
            if sum(faults.values()) > 1.0:
                raise ValueError("fault fractions add up to more than 1")
            self.faults = faults
        if "seed" in config:
            self.rng = random.Random(int(config["seed"]))
        if "strip_prefix" in config:
            self.strip_prefix = str(config["strip_prefix"]).rstrip("/")

    def stats(self) -> dict[str, Any]:
        return {
            "calls": dict(self.calls),
            "paths": dict(self.paths),
            "total": sum(self.calls.values()),
            "faults": dict(self.faults_injected),
            "upstream_errors": self.upstream_errors,
            "latency_ms": self.latency_ms,
            "fault_config": self.faults,
            "seconds": time.monotonic() - self.since,
        }

    def pick_fault(self) -> str | None:
        if not self.faults:
            return None
        roll = self.rng.random()
        for kind in FAULT_KINDS:
            fraction = self.faults.get(kind, 0.0)
            if roll < fraction:
                return kind
            roll -= fraction
        return None


async def _read_message(reader: asyncio.StreamReader, *, response: bool) -> _Message:
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError as exc:
        if not exc.partial:
            raise _Closed from None
        raise
    except asyncio.LimitOverrunError:
        raise ValueError("header block too large") from None
    head = head[:-4]
    headers: dict[str, str] = {}
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        headers[name.strip().lower().decode("latin-1")] = value.strip().decode("latin-1")
    if "content-length" in headers:
        body = await reader.readexactly(int(headers["content-length"]))
    elif headers.get("transfer-encoding", "").lower() == "chunked":
        chunks: list[bytes] = []
        while True:
            size_line = await reader.readuntil(b"\r\n")
            size = int(size_line.split(b";")[0].strip(), 16)
            chunk = await reader.readexactly(size + 2)
            if size == 0:
                # Trailers are not used by either server; the chunk read the final CRLF.
                break
            chunks.append(chunk[:-2])
        body = b"".join(chunks)
        # Re-frame with a Content-Length so the other side needs no chunk parser.
        lines = [
            line
            for line in head.split(b"\r\n")
            if not line.lower().startswith(b"transfer-encoding:")
        ]
        head = b"\r\n".join([*lines, b"Content-Length: " + str(len(body)).encode()])
        headers.pop("transfer-encoding", None)
        headers["content-length"] = str(len(body))
    elif response:
        body = await reader.read()  # delimited by connection close
    else:
        body = b""
    return _Message(head, headers, body)


def _simple_response(status: int, reason: str, body: bytes, *, close: bool = False) -> bytes:
    lines = [
        f"HTTP/1.1 {status} {reason}",
        "Content-Type: application/x-amz-json-1.0",
        f"Content-Length: {len(body)}",
        "x-amzn-RequestId: benchmarks-proxy",
    ]
    if close:
        lines.append("Connection: close")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def _client_head(response: _Message) -> bytes:
    """The response head as sent to the app: keep-alive, always with a Content-Length."""
    lines = response.head.split(b"\r\n")
    kept = [
        line
        for line in lines[1:]
        if not line.lower().startswith((b"connection:", b"keep-alive:", b"content-length:"))
    ]
    status = lines[0]
    if status.startswith(b"HTTP/1.0"):
        status = b"HTTP/1.1" + status[len(b"HTTP/1.0") :]
    length = b"Content-Length: " + str(len(response.body)).encode()
    return b"\r\n".join([status, *kept, length])


class ProxyServer:
    """The proxy: one upstream connection per client connection, requests in order."""

    def __init__(self, upstream: str, *, host: str = "127.0.0.1", port: int = 0) -> None:
        parts = urlsplit(upstream)
        if parts.hostname not in ("127.0.0.1", "localhost", "::1"):
            raise ValueError("the benchmark proxy only forwards to loopback")
        self.upstream_host = parts.hostname
        self.upstream_port = parts.port or 80
        self.host = host
        self.port = port
        self.state = ProxyState()
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    async def start(self) -> None:
        self._server = await asyncio.start_server(
            self._handle, self.host, self.port, limit=MAX_HEADER_BYTES, backlog=512
        )
        self.port = int(self._server.sockets[0].getsockname()[1])

    async def serve_forever(self) -> None:
        assert self._server is not None
        async with self._server:
            await self._server.serve_forever()

    async def close(self) -> None:
        """Stop listening and drop every client connection (the port stays known)."""
        if self._server is not None:
            self._server.close()
            for writer in list(self._writers):
                writer.close()
            await self._server.wait_closed()
            self._server = None

    async def _control(self, path: str, body: bytes) -> bytes:
        if path.startswith("/__proxy__/reset"):
            self.state.reset()
        elif path.startswith("/__proxy__/config"):
            try:
                self.state.configure(json.loads(body or b"{}"))
            except (ValueError, TypeError) as exc:
                payload = json.dumps({"error": str(exc)}).encode()
                return _simple_response(400, "Bad Request", payload)
        payload = json.dumps(self.state.stats()).encode()
        return _simple_response(200, "OK", payload)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        upstream: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None
        self._writers.add(writer)
        try:
            while True:
                try:
                    request = await _read_message(reader, response=False)
                except (_Closed, asyncio.IncompleteReadError, ConnectionError):
                    return
                start_line = request.head.split(b"\r\n", 1)[0].decode("latin-1")
                path = start_line.split(" ")[1] if " " in start_line else "/"
                if path.startswith("/__proxy__/"):
                    writer.write(await self._control(path, request.body))
                    await writer.drain()
                    continue
                target = request.headers.get("x-amz-target", "")
                op = target.rpartition(".")[2] or "unknown"
                self.state.calls[op] += 1
                self.state.paths[path] += 1
                request = _strip_prefix(request, path, self.state.strip_prefix)
                fault = self.state.pick_fault()
                if self.state.latency_ms > 0:
                    await asyncio.sleep(self.state.latency_ms / 1000)
                if fault is not None and fault != "lost_answer":
                    self.state.faults_injected[fault] += 1
                    if fault == "drop":
                        return  # close without answering; the finally block closes
                    if fault == "throttle":
                        writer.write(_simple_response(400, "Bad Request", THROTTLE_BODY))
                    else:
                        writer.write(_simple_response(500, "Internal Server Error", ERROR_500_BODY))
                    await writer.drain()
                    continue
                if upstream is None:
                    upstream = await asyncio.open_connection(
                        self.upstream_host, self.upstream_port, limit=MAX_HEADER_BYTES
                    )
                up_reader, up_writer = upstream
                try:
                    up_writer.write(request.head + b"\r\n\r\n" + request.body)
                    await up_writer.drain()
                    response = await _read_message(up_reader, response=True)
                except (_Closed, asyncio.IncompleteReadError, ConnectionError):
                    self.state.upstream_errors += 1
                    return
                if fault == "lost_answer":
                    self.state.faults_injected[fault] += 1
                    if "content-length" not in response.headers:
                        up_writer.close()
                        upstream = None
                    return  # the server applied the call; the app never hears of it
                upstream_closes = (
                    response.headers.get("connection", "").lower() == "close"
                    or "content-length" not in response.headers
                )
                writer.write(_client_head(response) + b"\r\n\r\n" + response.body)
                await writer.drain()
                if upstream_closes:
                    # moto's server answers HTTP/1.1 but closes every connection; the
                    # proxy reconnects upstream and keeps the app's connection alive, as
                    # DynamoDB itself does.
                    up_writer.close()
                    upstream = None
                if request.headers.get("connection", "").lower() == "close":
                    return
        except (ConnectionError, asyncio.IncompleteReadError, ValueError):
            return
        finally:
            self._writers.discard(writer)
            if upstream is not None:
                upstream[1].close()
            with contextlib.suppress(Exception):
                writer.close()


def _strip_prefix(request: _Message, path: str, prefix: str) -> _Message:
    if not prefix or not path.startswith(prefix):
        return request
    start, sep, rest = request.head.partition(b"\r\n")
    method, _, version = start.decode("latin-1").split(" ", 2)
    new_path = path[len(prefix) :] or "/"
    head = f"{method} {new_path} {version}".encode("latin-1") + sep + rest
    return _Message(head, request.headers, request.body)


class BackgroundProxy:
    """A `ProxyServer` on its own event loop in a daemon thread, for synchronous tests."""

    def __init__(self, upstream: str) -> None:
        self.server = ProxyServer(upstream)
        self._loop = LoopThread()
        self._loop.run(self.server.start())
        self._serving = True

    @property
    def url(self) -> str:
        return self.server.url

    def configure(self, **config: Any) -> None:
        """Change latency, faults, seed or strip_prefix (see the module docstring)."""
        self._loop.loop.call_soon_threadsafe(self.server.state.configure, config)

    def stats(self) -> dict[str, Any]:
        """The counters, as `GET /__proxy__/stats` returns them."""
        return self._loop.run(_value(self.server.state.stats))

    def reset(self) -> None:
        """Zero the counters."""
        self._loop.run(_value(self.server.state.reset))

    def stop_listening(self) -> None:
        """An outage: close the port and every connection; new connections are refused."""
        self._loop.run(self.server.close())
        self._serving = False

    def resume(self) -> None:
        """End the outage: listen again on the same port."""
        self._loop.run(self.server.start())
        self._serving = True

    def close(self) -> None:
        """Stop the proxy and its thread."""
        if self._serving:
            self.stop_listening()
        self._loop.stop()


async def _value(function: Any) -> Any:
    return function()


async def _main(upstream: str, port: int) -> None:
    proxy = ProxyServer(upstream, port=port)
    await proxy.start()
    print(f"READY {proxy.port}", flush=True)
    await proxy.serve_forever()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--upstream", required=True, help="e.g. http://127.0.0.1:8000")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args(argv)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_main(args.upstream, args.port))
    sys.exit(0)


if __name__ == "__main__":
    main()
