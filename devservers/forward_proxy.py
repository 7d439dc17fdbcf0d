"""A recording HTTP forward proxy on 127.0.0.1, for tests of proxy settings.

It understands the two ways clients use a proxy: ``CONNECT host:port`` (a tunnel,
for https URLs) and an absolute-form request (``POST http://host:port/ HTTP/1.1``,
for http URLs). Every request is recorded as ``"CONNECT host:port"`` or
``"POST http://host:port/path"`` in `requests`. Only loopback targets are served;
any other target is recorded and refused with 403, so a test can see where a
client *would* have gone (an AWS endpoint, say) without leaving the machine.
"""

from __future__ import annotations

import asyncio
import contextlib
from urllib.parse import urlsplit

from devservers._threaded import LoopServer
from devservers.tls import pipe

_LOOPBACK = ("127.0.0.1", "localhost")
_REFUSED = b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"


class ForwardProxy(LoopServer):
    """A forward proxy in a background thread; `url` is what HTTP(S)_PROXY takes."""

    def __init__(self) -> None:
        self.requests: list[str] = []
        super().__init__()
        self._writers: set[asyncio.StreamWriter] = set()
        self._server = self._loop.run(asyncio.start_server(self._handle, "127.0.0.1", 0))
        self.port = int(self._server.sockets[0].getsockname()[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def targets(self) -> list[str]:
        """The hosts (host:port) of every recorded request, in order."""
        return [_target(request) for request in self.requests]

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            method, target, _ = head.split(b"\r\n", 1)[0].decode("latin-1").split(" ", 2)
            self.requests.append(f"{method} {target}")
            if method == "CONNECT":
                await self._tunnel(target, reader, writer)
            else:
                await self._forward(head, target, reader, writer)
        except (asyncio.IncompleteReadError, ConnectionError, ValueError):
            pass
        finally:
            self._writers.discard(writer)
            with contextlib.suppress(Exception):
                writer.close()

    async def _tunnel(
        self, target: str, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        host, _, port = target.rpartition(":")
        if host not in _LOOPBACK:
            writer.write(_REFUSED)
            await writer.drain()
            return
        up_reader, up_writer = await asyncio.open_connection(host, int(port))
        writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
        await writer.drain()
        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))

    async def _forward(
        self, head: bytes, target: str, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        # One request per connection: the answer is delimited by closing it.
        parts = urlsplit(target)
        if parts.hostname not in _LOOPBACK:
            writer.write(_REFUSED)
            await writer.drain()
            return
        request, length = _origin_form(head, target)
        body = await reader.readexactly(length)
        up_reader, up_writer = await asyncio.open_connection(parts.hostname, parts.port or 80)
        up_writer.write(request + body)
        await up_writer.drain()
        answer = await up_reader.read()
        up_writer.close()
        writer.write(_with_close(answer))
        await writer.drain()

    async def _close(self) -> None:
        self._server.close()
        for writer in list(self._writers):
            writer.close()
        await self._server.wait_closed()


def _target(request: str) -> str:
    method, target = request.split(" ", 1)
    if method == "CONNECT":
        return target
    parts = urlsplit(target)
    return f"{parts.hostname}:{parts.port or 80}"


def _origin_form(head: bytes, target: str) -> tuple[bytes, int]:
    """The request head for the origin server (path only, no proxy headers), and the
    length of the body that follows it."""
    parts = urlsplit(target)
    lines = head[:-4].split(b"\r\n")
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    start = lines[0].replace(target.encode(), path.encode(), 1)
    dropped = (b"connection:", b"proxy-")
    kept = [line for line in lines[1:] if not line.lower().startswith(dropped)]
    length = 0
    for line in kept:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    return b"\r\n".join([start, b"Connection: close", *kept]) + b"\r\n\r\n", length


def _with_close(answer: bytes) -> bytes:
    """The upstream answer with `Connection: close`, since this proxy closes after it."""
    head, sep, body = answer.partition(b"\r\n\r\n")
    lines = [line for line in head.split(b"\r\n") if not line.lower().startswith(b"connection:")]
    return b"\r\n".join([*lines, b"Connection: close"]) + sep + body
