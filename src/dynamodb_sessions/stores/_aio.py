"""The lean caller's asyncio transport: HTTP/1.1 over kept-alive connections
(`_http11.py` on the wire), and no worker thread per call.

A thread hop costs about as much CPU as the rest of a DynamoDB call's own work;
this transport sends the signed request from the event loop instead. It honours
the boto3 client's settings that it can honour exactly (`verify` and
`AWS_CA_BUNDLE`, connect and read timeouts, `max_pool_connections`, socket
options) and says where it can't (`can_send`): a proxy for the URL, client
certificates, or an event loop that is not asyncio's. There the lean caller sends
through botocore's HTTP session in a worker thread, as before.

Connections belong to one event loop: each loop has a pool of its own, of at most
`max_pool_connections` connections in use or idle, closed when the loop shuts down
(`asyncio.run`, `anyio.run`, each Starlette TestClient) so that a store used from
successive loops never piles up sockets. A call cut short (its deadline, a
cancellation) closes its connection: no half-read answer goes back to the pool.

Loaded with the client, never at import of the package: boto3 is loaded by then.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import select
import ssl
import weakref
from collections.abc import AsyncGenerator, Iterable
from typing import TYPE_CHECKING, Any, NamedTuple
from urllib.parse import urlsplit

from botocore.awsrequest import AWSResponse
from botocore.exceptions import (
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    HTTPClientError,
    ReadTimeoutError,
    SSLError,
)
from botocore.httpsession import create_urllib3_context, get_cert_path

from .._exceptions import SessionStoreConfigError
from ._http11 import Answer, BadHeaderError, ProtocolError, read_answer, request_head

if TYPE_CHECKING:
    from botocore.httpsession import URLLib3Session

_READ_SIZE = 65536
# Python 3.11's timeouts, rescheduled per read; on 3.10 the threaded path sends.
_timeout_at: Any = getattr(asyncio, "timeout_at", None)


class _Origin(NamedTuple):
    """Where one URL's requests go, and what the request line and Host say."""

    scheme: str
    host: str
    port: int
    target: bytes
    host_header: str


class _Connection:
    """One kept-alive HTTP/1.1 connection."""

    __slots__ = ("reader", "writer")

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    def reusable(self) -> bool:
        """Whether it may carry a request: open, and nothing to read, neither
        bytes the loop has read already (the server sent more than its answer)
        nor on the socket (as urllib3 checks: the server may have closed it while
        the loop did not look, as in a frozen Lambda)."""
        reader = self.reader
        if self.writer.is_closing() or reader.at_eof() or reader.exception() is not None:
            return False
        held = len(reader._buffer)  # type: ignore[attr-defined] # no public way to ask
        return not held and not _readable(self.writer.get_extra_info("socket").fileno())

    def close(self) -> None:
        transport = self.writer.transport
        try:
            transport.abort()  # at once: nothing else is sent on it
        except RuntimeError:  # its loop was closed without shutting down (no asyncio.run)
            _discard(transport)


class _Pool:
    """One event loop's connections: idle ones per origin, at most `size` in all."""

    def __init__(self, size: int) -> None:
        self.slots = asyncio.Semaphore(size)
        self.idle: dict[tuple[str, str, int], list[_Connection]] = {}
        self.closed = False
        self.closer: AsyncGenerator[None, None] | None = None

    def __del__(self) -> None:
        # The store was dropped while its loop runs: close, don't leave it to the
        # sockets' finalizers (a ResourceWarning each).
        with contextlib.suppress(RuntimeError):  # the loop is closed already
            self.close()

    def take(self, origin: _Origin) -> _Connection | None:
        idle = self.idle.get(origin[:3])
        while idle:
            connection = idle.pop()
            if connection.reusable():
                return connection
            connection.close()
        return None

    def give_back(self, origin: _Origin, connection: _Connection) -> None:
        if self.closed or not connection.reusable():
            connection.close()
        else:
            self.idle.setdefault(origin[:3], []).append(connection)

    def close(self) -> None:
        """Close every idle connection, and end the shutdown hook, no longer needed."""
        self.closed = True
        for connections in self.idle.values():
            for connection in connections:
                connection.close()
        self.idle.clear()
        closer, self.closer = self.closer, None
        if closer is not None:
            # Ended now, without its loop (it never awaits): left suspended, the
            # garbage collector would hand it to a loop that may be closed.
            with contextlib.suppress(StopIteration):
                closer.aclose().send(None)


class AsyncTransport:
    """Sends signed requests from the event loop, as the client's HTTP session would."""

    def __init__(self, http: URLLib3Session, *, connect_timeout: float, size: int) -> None:
        self._http: Any = http  # its settings are private attributes, read once per URL
        self._connect_timeout = connect_timeout
        self._size = size
        self._pools: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Pool] = (
            weakref.WeakKeyDictionary()
        )
        self._origins: dict[str, _Origin | None] = {}
        self._ssl: ssl.SSLContext | None = None

    def can_send(self, url: str) -> bool:
        """Whether this transport sends to `url` exactly as the HTTP session would
        (read once per URL: proxies from the environment too), from this loop."""
        origin = self._origins.get(url, False)
        if origin is False:
            origin = self._origins[url] = self._origin(url)
        return origin is not None and _timeout_at is not None and _on_asyncio()

    async def send(
        self,
        url: str,
        headers: Iterable[tuple[str, str]],
        body: bytes,
        *,
        read_timeout: float,
        deadline: float | None,
    ) -> AWSResponse:
        """POST `body` to `url` (`can_send(url)` is true); raise botocore's errors.
        `read_timeout` bounds each wait for the answer's bytes, and `deadline` (a
        `time.monotonic()` value) the whole exchange."""
        origin = self._origins[url]
        assert origin is not None
        try:
            head = request_head(origin.target, origin.host_header, headers, len(body))
        except BadHeaderError as exc:  # it can't succeed: not a connection error to retry
            raise _bad_header(exc.name) from None
        pool = await self._pool()
        async with pool.slots:
            connection = pool.take(origin) or await self._connect(url, origin, deadline)
            try:
                answer = await _exchange(connection, head + body, (read_timeout, deadline))
            except Exception as exc:
                connection.close()
                raise _mapped(exc, url) from exc
            except BaseException:  # a cancellation: never reuse a half-read answer
                connection.close()
                raise
            if answer.reusable:
                pool.give_back(origin, connection)
            else:
                connection.close()
        response = AWSResponse(url, answer.status, answer.headers, None)  # type: ignore[arg-type]
        response._content = answer.body  # type: ignore[attr-defined] # what botocore reads
        return response

    def idle(self) -> int:
        """Connections kept alive for the running event loop (0 outside one)."""
        try:
            pool = self._pools.get(asyncio.get_running_loop())
        except RuntimeError:
            return 0
        return 0 if pool is None else sum(len(idle) for idle in pool.idle.values())

    def _origin(self, url: str) -> _Origin | None:
        if self._http._proxy_config.proxy_url_for(url) or self._http._cert_file:
            return None
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or parts.hostname is None:
            return None
        default = 443 if parts.scheme == "https" else 80
        port = parts.port or default
        host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        host_header = host if port == default else f"{host}:{port}"  # as SigV4 signed it
        return _Origin(parts.scheme, parts.hostname, port, target.encode(), host_header)

    async def _pool(self) -> _Pool:
        loop = asyncio.get_running_loop()
        pool = self._pools.get(loop)
        if pool is None:
            for other, stale in list(self._pools.items()):
                if other.is_closed():  # closed without shutting down: discard its pool
                    stale.close()
                    del self._pools[other]
            pool = self._pools[loop] = _Pool(self._size)
            pool.closer = _close_at_shutdown(weakref.ref(pool))
            await pool.closer.__anext__()  # the loop now closes it when it shuts down
        return pool

    async def _connect(self, url: str, origin: _Origin, deadline: float | None) -> _Connection:
        tls = self._tls_context() if origin.scheme == "https" else None
        end = asyncio.get_running_loop().time() + self._connect_timeout
        try:
            async with _timeout_at(end if deadline is None else min(end, deadline)):
                reader, writer = await asyncio.open_connection(
                    origin.host,
                    origin.port,
                    ssl=tls,
                    server_hostname=origin.host if tls is not None else None,
                    limit=_READ_SIZE,
                )
        except TimeoutError as exc:
            raise ConnectTimeoutError(endpoint_url=url, error=exc) from exc
        except ssl.SSLError as exc:
            raise SSLError(endpoint_url=url, error=exc) from exc
        except OSError as exc:
            raise EndpointConnectionError(endpoint_url=url, error=exc) from exc
        sock = writer.get_extra_info("socket")
        for option in self._http._socket_options:
            sock.setsockopt(*option)
        return _Connection(reader, writer)

    def _tls_context(self) -> ssl.SSLContext:
        """The checks botocore's session makes: `verify` (False, True, or a CA
        bundle file or directory), the host name against the certificate."""
        if self._ssl is None:
            verify = self._http._verify
            if verify:
                context = create_urllib3_context(cert_reqs=ssl.CERT_REQUIRED)  # type: ignore[arg-type]
                context.check_hostname = True
                path = str(get_cert_path(verify))
                if os.path.isdir(path):
                    context.load_verify_locations(capath=path)
                else:
                    context.load_verify_locations(cafile=path)
            else:
                context = create_urllib3_context(cert_reqs=ssl.CERT_NONE)  # type: ignore[arg-type]
            self._ssl = context
        return self._ssl


async def _exchange(
    connection: _Connection, request: bytes, timeouts: tuple[float, float | None]
) -> Answer:
    loop = asyncio.get_running_loop()
    read_timeout, deadline = timeouts
    end = float("inf") if deadline is None else deadline  # loop.time() is time.monotonic()
    async with _timeout_at(min(loop.time() + read_timeout, end)) as timer:

        def tick() -> None:  # before each wait for the server: per read, as urllib3's
            timer.reschedule(min(loop.time() + read_timeout, end))

        connection.writer.write(request)
        await connection.writer.drain()
        return await read_answer(connection.reader, tick)
    raise AssertionError("unreachable")  # pragma: no cover


def _bad_header(name: str) -> SessionStoreConfigError:
    hint = {
        "user-agent": "the client's Config(user_agent_extra=...)",
        "x-amz-security-token": "the AWS credentials (AWS_SESSION_TOKEN, or the profile's)",
        "authorization": "the AWS credentials",
    }.get(name.lower(), "what sets it")
    return SessionStoreConfigError(
        f"the DynamoDB request's {name} header holds a line break or NUL, so it can't "
        f"be sent; check {hint}"
    )


def _mapped(exc: BaseException, url: str) -> BaseException:
    """botocore's error for a failed exchange, as its HTTP session raises them."""
    if isinstance(exc, TimeoutError):
        return ReadTimeoutError(endpoint_url=url, error=exc)
    if isinstance(exc, ssl.SSLError):
        return SSLError(endpoint_url=url, error=exc)
    if isinstance(exc, (OSError, EOFError, ProtocolError, asyncio.LimitOverrunError)):
        return ConnectionClosedError(endpoint_url=url, request=None, error=exc)
    if isinstance(exc, Exception):
        return HTTPClientError(error=exc)
    return exc  # a cancellation


async def _close_at_shutdown(pool: weakref.ref[_Pool]) -> AsyncGenerator[None, None]:
    """Suspended until the loop shuts down its async generators, then closes `pool`
    (held weakly: a store dropped before its loop ends takes its pool along)."""
    try:
        yield
    finally:
        alive = pool()
        if alive is not None:
            alive.closer = None  # ending already
            alive.close()


def _discard(transport: asyncio.BaseTransport) -> None:
    """Close the socket of `transport`, whose loop is closed: what `abort()` would
    have scheduled on the loop (asyncio's own `_call_connection_lost`), so no
    ResourceWarning is left for the garbage collector."""
    inner = getattr(getattr(transport, "_ssl_protocol", None), "_transport", None)
    lost = getattr(inner or transport, "_call_connection_lost", None)
    if lost is not None:
        with contextlib.suppress(RuntimeError):  # it closes the socket all the same
            lost(None)


def _readable(fd: int) -> bool:
    """Whether socket `fd` has something to read, at once: poll() where there is one,
    as urllib3's `wait_for_read`, since select() fails past file number 1024."""
    if hasattr(select, "poll"):
        poller = select.poll()
        poller.register(fd, select.POLLIN)
        return bool(poller.poll(0))
    readable, _, _ = select.select([fd], [], [], 0)  # pragma: no cover (Windows)
    return bool(readable)


def _on_asyncio() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:  # trio, or no loop: the threaded path sends
        return False
    return True
