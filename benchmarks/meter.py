"""A capacity meter: a proxy that asks DynamoDB what each call consumed, for every client.

    .venv/bin/python -m benchmarks.meter --upstream http://127.0.0.1:PORT

prints ``READY <port>`` once listening. The cost scenarios put it between the counting
proxy and dynalite. Only dynamodb-sessions asks DynamoDB for its consumed capacity, so the
meter asks for everyone: it adds ``"ReturnConsumedCapacity": "TOTAL"`` to every item
operation that lacks it, adds up ``ConsumedCapacity.CapacityUnits`` from the answer (read
units for reads, write units for writes), and takes the field out of the answer again
(with a new ``x-amz-crc32``) when the client had not asked for it, so no client sees a
difference. The units are DynamoDB's own arithmetic as dynalite implements it: 1 read unit
per 4 KB read (half for an eventually consistent read), 1 write unit per 1 KB written, the
larger of the item before and after a write.

A write whose condition fails is charged by DynamoDB but its error answer carries no
consumed capacity: the meter counts those failures apart (``conditional_failures``).

Changing the body breaks a request's SigV4 signature; dynalite does not check signatures,
real DynamoDB would. The meter is for the local benchmark only.

Control API, on the same port: ``GET /__meter__/stats`` -> :class:`MeterStats` as JSON,
``POST /__meter__/reset`` -> zero the counters.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import zlib
from collections import Counter
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from benchmarks.schema import MeterStats

READS = frozenset({"GetItem", "Query", "Scan", "BatchGetItem", "TransactGetItems"})
WRITES = frozenset({"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"})
CONDITION_FAILED = "ConditionalCheckFailedException"


@dataclass
class _Message:
    start: bytes
    headers: dict[bytes, bytes]  # lower-cased names
    body: bytes

    def encode(self) -> bytes:
        headers = {**self.headers, b"content-length": str(len(self.body)).encode()}
        lines = [self.start, *(name + b": " + value for name, value in headers.items())]
        return b"\r\n".join(lines) + b"\r\n\r\n" + self.body


async def _read(reader: asyncio.StreamReader) -> _Message:
    """One HTTP/1.1 message; both sides of the meter always send a Content-Length."""
    head = (await reader.readuntil(b"\r\n\r\n"))[:-4].split(b"\r\n")
    headers = {}
    for line in head[1:]:
        name, _, value = line.partition(b":")
        headers[name.strip().lower()] = value.strip()
    body = await reader.readexactly(int(headers.get(b"content-length", b"0")))
    return _Message(head[0], headers, body)


@dataclass
class Meter:
    """The counters, and what the meter does to one call's request and answer."""

    read_units: float = 0.0
    write_units: float = 0.0
    calls: Counter[str] = field(default_factory=Counter)
    units: dict[str, float] = field(default_factory=dict)
    conditional_failures: int = 0
    unmetered: int = 0  # successful item operations whose answer reported no capacity

    def reset(self) -> None:
        """Zero every counter."""
        self.read_units = self.write_units = 0.0
        self.calls.clear()
        self.units.clear()
        self.conditional_failures = self.unmetered = 0

    def stats(self) -> MeterStats:
        """The counters as ``/__meter__/stats`` answers them."""
        return {
            "read_units": self.read_units,
            "write_units": self.write_units,
            "calls": dict(self.calls),
            "units": dict(self.units),
            "conditional_failures": self.conditional_failures,
            "unmetered": self.unmetered,
        }

    def ask(self, op: str, request: _Message) -> bool:
        """Ask for the consumed capacity if the client did not; True if the meter asked."""
        if op not in READS | WRITES:
            return False
        body = json.loads(request.body or b"{}")
        if body.get("ReturnConsumedCapacity", "NONE") != "NONE":
            return False
        body["ReturnConsumedCapacity"] = "TOTAL"
        request.body = json.dumps(body, separators=(",", ":")).encode()
        return True

    def record(self, op: str, response: _Message, *, asked: bool) -> None:
        """Add up the answer's consumed capacity; hide it if only the meter asked."""
        if op not in READS | WRITES:
            return
        self.calls[op] += 1
        body: dict[str, Any] = json.loads(response.body or b"{}")
        if CONDITION_FAILED in str(body.get("__type", "")):
            self.conditional_failures += 1
        if not response.start.split(b" ")[1].startswith(b"2"):
            return
        consumed = body.pop("ConsumedCapacity", None)
        if consumed is None:
            self.unmetered += 1
            return
        units = sum(float(c.get("CapacityUnits", 0.0)) for c in _as_list(consumed))
        self.units[op] = self.units.get(op, 0.0) + units
        if op in READS:
            self.read_units += units
        else:
            self.write_units += units
        if asked:
            response.body = json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()
            response.headers[b"x-amz-crc32"] = str(zlib.crc32(response.body)).encode()


def _as_list(consumed: dict[str, Any] | list[dict[str, Any]]) -> list[dict[str, Any]]:
    # Batch and transaction operations report a list, one entry per table.
    return consumed if isinstance(consumed, list) else [consumed]


class MeterServer:
    """The meter on 127.0.0.1: one upstream connection per client connection."""

    def __init__(self, upstream: str) -> None:
        parts = urlsplit(upstream)
        if parts.hostname not in ("127.0.0.1", "localhost"):
            raise ValueError("the meter only forwards to loopback")
        self.upstream = (parts.hostname, parts.port or 80)
        self.meter = Meter()

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Serve one client connection until it closes."""
        upstream: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None
        try:
            while True:
                request = await _read(reader)
                path = request.start.split(b" ")[1]
                if path.startswith(b"/__meter__/"):
                    writer.write(self._control(path))
                    await writer.drain()
                    continue
                op = request.headers.get(b"x-amz-target", b"").decode().rpartition(".")[2]
                asked = self.meter.ask(op, request)
                if upstream is None:
                    upstream = await asyncio.open_connection(*self.upstream)
                upstream[1].write(request.encode())
                response = await _read(upstream[0])
                self.meter.record(op, response, asked=asked)
                writer.write(response.encode())
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, ValueError):
            return  # a closed connection, or an answer that is not DynamoDB's JSON
        finally:
            if upstream is not None:
                upstream[1].close()
            with contextlib.suppress(Exception):
                writer.close()

    def _control(self, path: bytes) -> bytes:
        if path.startswith(b"/__meter__/reset"):
            self.meter.reset()
        body = json.dumps(self.meter.stats()).encode()
        head = f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {len(body)}"
        return head.encode() + b"\r\n\r\n" + body


async def _main(upstream: str, port: int) -> None:
    meter = MeterServer(upstream)
    server = await asyncio.start_server(meter.handle, "127.0.0.1", port, backlog=512)
    print(f"READY {server.sockets[0].getsockname()[1]}", flush=True)
    async with server:
        await server.serve_forever()


def main(argv: list[str] | None = None) -> None:
    """Run the meter until interrupted."""
    parser = argparse.ArgumentParser(description="Meter DynamoDB consumed capacity.")
    parser.add_argument("--upstream", required=True, help="e.g. http://127.0.0.1:8000")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args(argv)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_main(args.upstream, args.port))


if __name__ == "__main__":
    main()
