"""The load generator's HTTP clients: each virtual user owns one, with its own cookie jar.

* :class:`HttpxClient` wraps ``httpx.AsyncClient`` (its own cookie jar and connection pool).
* :class:`RawClient` is a minimal keep-alive HTTP/1.1 client on asyncio streams with a
  dict as cookie jar. On the 2-core benchmark box httpx costs about 2 ms of CPU per
  request, as much as some contenders, and the load generator shares the CPUs with them;
  the raw client costs a fraction of that, so it takes less CPU away from the app.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Callable
from typing import Any, Literal, Protocol
from urllib.parse import urlencode, urlsplit

import httpx

IDLE_RECONNECT_S = 4.0  # uvicorn closes keep-alive connections idle for 5 s

ClientKind = Literal["raw", "httpx"]


class TransportError(Exception):
    """The request got no HTTP answer (connection error, timeout, bad framing)."""


class _StaleConnection(Exception):
    """The connection was closed before any byte of an answer arrived."""


class Response:
    """An answer: its status and body."""

    def __init__(self, status_code: int, body: bytes) -> None:
        self.status_code = status_code
        self.body = body

    def json(self) -> Any:
        """The body parsed as JSON."""
        return json.loads(self.body)


class Client(Protocol):
    """What the load generator needs of a client: requests, its cookies, closing."""

    async def request(
        self, method: str, path: str, params: dict[str, str] | None = None
    ) -> Response:
        """Send a request with the jar's cookies; raise TransportError without an answer."""
        ...

    def cookie_snapshot(self) -> dict[str, str]:
        """A copy of the cookie jar, name to value."""
        ...

    async def aclose(self) -> None:
        """Close the connection(s)."""
        ...


class HttpxClient:
    """A :class:`Client` on ``httpx.AsyncClient``."""

    def __init__(
        self, base_url: str, timeout: float, cookies: dict[str, str] | None = None
    ) -> None:
        self._client = httpx.AsyncClient(base_url=base_url, timeout=timeout, cookies=cookies)

    async def request(
        self, method: str, path: str, params: dict[str, str] | None = None
    ) -> Response:
        try:
            response = await self._client.request(method, path, params=params)
        except httpx.HTTPError as exc:
            raise TransportError(type(exc).__name__) from exc
        return Response(response.status_code, response.content)

    def cookie_snapshot(self) -> dict[str, str]:
        return {name: value for name, value in self._client.cookies.items()}

    async def aclose(self) -> None:
        await self._client.aclose()


class RawClient:
    """A :class:`Client` on one keep-alive asyncio connection, reopened when needed."""

    def __init__(
        self, base_url: str, timeout: float, cookies: dict[str, str] | None = None
    ) -> None:
        parts = urlsplit(base_url)
        if parts.hostname is None or parts.port is None:
            raise ValueError(f"need host and port: {base_url}")
        self.host = parts.hostname
        self.port = parts.port
        self.timeout = timeout
        self.cookies: dict[str, str] = dict(cookies or {})
        self._conn: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None
        self._last_used = 0.0

    async def request(
        self, method: str, path: str, params: dict[str, str] | None = None
    ) -> Response:
        if params:
            path = f"{path}?{urlencode(params)}"
        try:
            return await asyncio.wait_for(self._request(method, path), self.timeout)
        except (OSError, asyncio.IncompleteReadError, asyncio.TimeoutError, ValueError) as exc:
            await self.aclose()
            raise TransportError(type(exc).__name__) from exc

    async def _request(self, method: str, path: str) -> Response:
        if self._conn is not None and (
            time.monotonic() - self._last_used > IDLE_RECONNECT_S or self._conn[0].at_eof()
        ):
            await self.aclose()
        if self._conn is not None:
            try:
                return await self._exchange(method, path)
            except _StaleConnection:
                # The server closed the kept-alive connection (uvicorn does after its own
                # 500) before reading this request: send it again on a new one.
                await self.aclose()
        self._conn = await asyncio.open_connection(self.host, self.port)
        try:
            return await self._exchange(method, path)
        except _StaleConnection as exc:
            raise ConnectionResetError("connection closed without an answer") from exc

    async def _exchange(self, method: str, path: str) -> Response:
        assert self._conn is not None
        reader, writer = self._conn
        head = await self._send(reader, writer, self._request_head(method, path))
        status, length, chunked, close = self._parse_head(head)
        try:
            body = await self._read_body(reader, length, chunked)
        except (OSError, asyncio.IncompleteReadError) as exc:
            if status < 500 or length is not None:
                raise
            # uvicorn's own 500 (an exception in the app) is close-delimited; the reset
            # that can follow it must not hide the status.
            body = str(exc).encode()
            close = True
        if length is None and not chunked:
            close = True
        if close:
            await self.aclose()
        self._last_used = time.monotonic()
        return Response(status, body)

    def _request_head(self, method: str, path: str) -> bytes:
        lines = [f"{method} {path} HTTP/1.1", f"Host: {self.host}:{self.port}"]
        if method != "GET":
            lines.append("Content-Length: 0")
        if self.cookies:
            lines.append("Cookie: " + "; ".join(f"{k}={v}" for k, v in self.cookies.items()))
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")

    @staticmethod
    async def _send(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes
    ) -> bytes:
        """Send `request` and read the answer's head; _StaleConnection if none comes."""
        try:
            writer.write(request)
            await writer.drain()
            return await reader.readuntil(b"\r\n\r\n")
        except asyncio.IncompleteReadError as exc:
            if exc.partial:
                raise
            raise _StaleConnection from exc
        except ConnectionError as exc:
            raise _StaleConnection from exc

    def _parse_head(self, head: bytes) -> tuple[int, int | None, bool, bool]:
        """Status, Content-Length, chunked, Connection: close; cookies go to the jar."""
        head_lines = head[:-4].decode("latin-1").split("\r\n")
        status = int(head_lines[0].split(" ", 2)[1])
        length: int | None = None
        chunked = close = False
        for line in head_lines[1:]:
            name, _, value = line.partition(":")
            name = name.strip().lower()
            value = value.strip()
            if name == "content-length":
                length = int(value)
            elif name == "transfer-encoding" and value.lower() == "chunked":
                chunked = True
            elif name == "connection" and value.lower() == "close":
                close = True
            elif name == "set-cookie":
                self._set_cookie(value)
        return status, length, chunked, close

    @staticmethod
    async def _read_body(reader: asyncio.StreamReader, length: int | None, chunked: bool) -> bytes:
        if chunked:
            parts = []
            while True:
                size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
                data = await reader.readexactly(size + 2)
                if size == 0:
                    break
                parts.append(data[:-2])
            return b"".join(parts)
        if length is not None:
            return await reader.readexactly(length)
        return await reader.read()

    def _set_cookie(self, header: str) -> None:
        pair, *attributes = header.split(";")
        name, _, value = pair.strip().partition("=")
        expired = False
        for attribute in attributes:
            key, _, arg = attribute.strip().partition("=")
            key = key.lower()
            if key == "max-age":
                with contextlib.suppress(ValueError):
                    expired = expired or int(arg) <= 0
            elif key == "expires" and "1970" in arg:
                expired = True
        if expired:
            self.cookies.pop(name, None)
        else:
            self.cookies[name] = value

    def cookie_snapshot(self) -> dict[str, str]:
        return dict(self.cookies)

    async def aclose(self) -> None:
        if self._conn is not None:
            writer = self._conn[1]
            self._conn = None
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()


CLIENTS: dict[ClientKind, Callable[[str, float, dict[str, str] | None], Client]] = {
    "httpx": HttpxClient,
    "raw": RawClient,
}
