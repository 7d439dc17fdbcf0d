"""HTTP/1.1 on the wire for the asyncio transport: one POST written, one answer read.

Hand-written rather than h11 because, measured in `store.load` against a server
that answers at once, h11's event machinery cost 120 to 170 µs per call, about
a third of the call. This needs only the client side of a small part of
HTTP/1.1, and reads it strictly (RFC 9112): a status line, header fields, and a
body framed by chunked transfer coding, by Content-Length, or by the server
closing the connection; interim (1xx) answers are skipped. Anything else is a
`ProtocolError`, and the connection is closed, never reused.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable, Iterable
from typing import NamedTuple

#: The largest answer read: a Query page is at most 1 MB of items.
MAX_BODY = 16 * 1024 * 1024
_NO_BODY = frozenset({204, 304})
_BREAKS = frozenset("\r\n\0")
_CHUNK_SIZE = re.compile(rb"[0-9A-Fa-f]{1,16}")


class ProtocolError(Exception):
    """An answer that is not well-formed HTTP/1.1 (or a header that would not be)."""


class BadHeaderError(ProtocolError):
    """A request header field whose name or value holds CR, LF or NUL."""

    def __init__(self, name: str) -> None:
        super().__init__(f"the {name} header field holds a line break or NUL")
        self.name = name


class Answer(NamedTuple):
    """A server's final answer; `reusable` says the connection may carry another."""

    status: int
    headers: list[tuple[str, str]]
    body: bytes
    reusable: bool


def request_head(
    target: bytes, host: str, headers: Iterable[tuple[str, str]], length: int
) -> bytes:
    """The request line and header fields of a POST of `length` bytes."""
    pairs = list(headers)
    fields = [f"{name}: {value}\r\n" for name, value in pairs]
    text = "".join(fields)
    # A CR, LF or NUL inside a name or value would start a field of its own.
    if text.count("\n") != len(fields) or text.count("\r") != len(fields) or "\0" in text:
        raise BadHeaderError(next(n for n, v in pairs if _BREAKS.intersection(n + v)))
    return b"POST %s HTTP/1.1\r\nHost: %s\r\n%sContent-Length: %d\r\n\r\n" % (
        target,
        host.encode("ascii"),
        text.encode("latin-1"),
        length,
    )


async def read_answer(reader: asyncio.StreamReader, tick: Callable[[], object]) -> Answer:
    """The final answer to the request just sent; `tick()` runs before each wait
    for the server's bytes (the caller's read timeout restarts there)."""
    while True:
        tick()
        version, status, headers = _head(await reader.readuntil(b"\r\n\r\n"))
        if not 100 <= status < 200:
            break
        if status == 101:
            raise ProtocolError("the server switched protocols")
    body, framed = await _body(reader, status, headers, tick)
    tokens = {
        t.strip().lower() for n, v in headers if n.lower() == "connection" for t in v.split(",")
    }
    reusable = framed and version == "HTTP/1.1" and "close" not in tokens
    return Answer(status, headers, body, reusable)


def _head(head: bytes) -> tuple[str, int, list[tuple[str, str]]]:
    status_line, *lines = head[:-4].decode("latin-1").split("\r\n")
    parts = status_line.split(" ", 2)
    version, code = parts[0], parts[1] if len(parts) > 1 else ""
    if version not in ("HTTP/1.1", "HTTP/1.0") or len(code) != 3 or not code.isdigit():
        raise ProtocolError(f"not an HTTP/1.1 status line: {status_line[:60]!r}")
    headers = []
    for line in lines:
        name, colon, value = line.partition(":")
        if not colon or not name or name != name.strip() or "\n" in line:
            raise ProtocolError(f"not a header field: {line[:60]!r}")
        headers.append((name, value.strip(" \t")))
    return version, int(code), headers


async def _body(
    reader: asyncio.StreamReader,
    status: int,
    headers: list[tuple[str, str]],
    tick: Callable[[], object],
) -> tuple[bytes, bool]:
    """The body and whether its end was framed (else the server closed to end it)."""
    if status in _NO_BODY:
        return b"", True
    codings = [v.lower() for n, v in headers if n.lower() == "transfer-encoding"]
    if codings:
        if codings[-1].rsplit(",", 1)[-1].strip() != "chunked":
            return await _until_closed(reader, tick), False
        return await _chunked(reader, tick), len(codings) == 1 and not _lengths(headers)
    lengths = _lengths(headers)
    if len(lengths) > 1:
        raise ProtocolError(f"Content-Length fields disagree: {sorted(lengths)}")
    if not lengths:
        return await _until_closed(reader, tick), False
    return await _exactly(reader, lengths.pop(), tick), True


def _lengths(headers: list[tuple[str, str]]) -> set[int]:
    values = {v for n, v in headers if n.lower() == "content-length"}
    if not all(value.isascii() and value.isdigit() for value in values):
        raise ProtocolError(f"not a Content-Length: {sorted(values)}")
    return {int(value) for value in values}


async def _chunked(reader: asyncio.StreamReader, tick: Callable[[], object]) -> bytes:
    parts: list[bytes] = []
    total = 0
    while True:
        tick()
        size_field = (await reader.readuntil(b"\r\n")).split(b";", 1)[0].rstrip(b" \t\r\n")
        if not _CHUNK_SIZE.fullmatch(size_field):  # int() would take "-1", "+1", "1_0"
            raise ProtocolError(f"not a chunk size: {size_field[:20]!r}")
        size = int(size_field, 16)
        if size == 0:
            while (await reader.readuntil(b"\r\n")) != b"\r\n":  # trailer fields
                tick()
            return b"".join(parts)
        total += size
        if total > MAX_BODY:
            raise ProtocolError("an answer larger than any DynamoDB answer")
        parts.append(await _exactly(reader, size, tick))
        if await reader.readexactly(2) != b"\r\n":
            raise ProtocolError("a chunk does not end with CRLF")


async def _exactly(reader: asyncio.StreamReader, size: int, tick: Callable[[], object]) -> bytes:
    if size > MAX_BODY:
        raise ProtocolError(f"an answer of {size} bytes is larger than any DynamoDB answer")
    parts: list[bytes] = []
    while size:
        tick()
        part = await reader.read(size)
        if not part:
            raise asyncio.IncompleteReadError(b"".join(parts), size)
        parts.append(part)
        size -= len(part)
    return parts[0] if len(parts) == 1 else b"".join(parts)


async def _until_closed(reader: asyncio.StreamReader, tick: Callable[[], object]) -> bytes:
    parts: list[bytes] = []
    total = 0
    while True:
        tick()
        part = await reader.read(65536)
        if not part:
            return b"".join(parts)
        total += len(part)
        if total > MAX_BODY:
            raise ProtocolError("an answer larger than any DynamoDB answer")
        parts.append(part)
