"""The asyncio transport against servers that misbehave on the wire: more bytes
than the answer, a process with more than 1024 open files, a header that would
split the request. Each answer must be the one to its own request, and each
failure a clear error, never a stale answer or a 500 from a ValueError.
"""

from __future__ import annotations

import asyncio
import os
import resource
from collections.abc import AsyncIterator, Iterator

import pytest
from botocore.awsrequest import AWSResponse
from botocore.httpsession import URLLib3Session

from devservers.dynamodb import LocalServer
from devservers.proxy import BackgroundProxy
from dynamodb_sessions import SessionConfigError
from dynamodb_sessions.stores._aio import AsyncTransport
from tests.support import new_key, store_at_url, stored_data

pytestmark = pytest.mark.anyio


class RawServer:
    """An HTTP/1.1 server on 127.0.0.1 that answers each request with what
    `answers` gives for its number (1, 2, ...), on whichever connection."""

    def __init__(self, answers: dict[int, bytes]) -> None:
        self.answers = answers
        self.requests = 0
        self.connections = 0
        self.url = ""

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = next(
                    int(line.split(b":", 1)[1])
                    for line in head.split(b"\r\n")
                    if line.lower().startswith(b"content-length:")
                )
                await reader.readexactly(length)
                self.requests += 1
                writer.write(self.answers[self.requests])
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


@pytest.fixture
async def raw_server() -> AsyncIterator[RawServer]:
    raw = RawServer({})
    server = await asyncio.start_server(raw.handle, "127.0.0.1", 0)
    raw.url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/"
    async with server:
        yield raw


def answer(body: bytes) -> bytes:
    return b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)


def transport(url: str) -> AsyncTransport:
    sender = AsyncTransport(URLLib3Session(), connect_timeout=2.0, size=4)
    assert sender.can_send(url)
    return sender


async def post(
    sender: AsyncTransport, url: str, headers: list[tuple[str, str]] | None = None
) -> AWSResponse:
    return await sender.send(url, headers or [], b"{}", read_timeout=2.0, deadline=None)


async def test_bytes_sent_past_an_answer_are_never_read_as_the_next_answer(
    raw_server: RawServer,
) -> None:
    # The first answer arrives with a second one behind it, in the same segment:
    # the reader holds it in its buffer, where the socket shows nothing to read.
    raw_server.answers = {1: answer(b"first") + answer(b"stale"), 2: answer(b"second")}
    sender = transport(raw_server.url)
    assert (await post(sender, raw_server.url)).content == b"first"
    assert (await post(sender, raw_server.url)).content == b"second"
    assert raw_server.connections == 2  # the one with bytes left over was closed


@pytest.fixture
def many_open_files() -> Iterator[None]:
    """More than 1024 files open, so the next socket's number is past what
    select() can watch."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = 1200
    if soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(wanted, hard), hard))
    opened: list[int] = []
    try:
        while not opened or opened[-1] < 1100:
            opened.append(os.open(os.devnull, os.O_RDONLY))
        yield
    finally:
        for fd in opened:
            os.close(fd)
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


async def test_a_connection_numbered_past_1024_is_reused(
    dynalite_server: LocalServer, many_open_files: None
) -> None:
    store = store_at_url(dynalite_server)
    await store.warm()
    for _ in range(2):  # the second call takes the first one's connection back
        key = new_key()
        await store.create(key, data={"a": "1"}, expires=2**31)
        assert await stored_data(store, key) == {"a": "1"}
    assert store.lean is not None
    assert store.lean.transport.idle() == 1


@pytest.mark.parametrize("token", ["token\n", "tok\r\nX-Injected: 1", "tok\ren"])
async def test_a_header_that_would_split_the_request_is_a_config_error_sent_nowhere(
    dynalite_server: LocalServer, monkeypatch: pytest.MonkeyPatch, token: str
) -> None:
    # A session token pasted with its line break: botocore's own path would retry
    # it as a connection error, then answer 503. It can't succeed: a config error
    # naming the header, at once, with nothing sent.
    monkeypatch.setenv("AWS_SESSION_TOKEN", token)
    fault_proxy = BackgroundProxy(dynalite_server.endpoint_url)
    try:
        store = store_at_url(dynalite_server, fault_proxy.url)
        await store.warm()
        with pytest.raises(SessionConfigError, match="X-Amz-Security-Token") as raised:
            await store.load("k" * 64)
        assert "AWS_SESSION_TOKEN" in str(raised.value)
        assert fault_proxy.stats()["total"] == 0
    finally:
        fault_proxy.close()


async def test_a_header_with_a_line_break_is_refused_before_connecting(
    raw_server: RawServer,
) -> None:
    sender = transport(raw_server.url)
    with pytest.raises(SessionConfigError, match="User-Agent"):
        await post(sender, raw_server.url, [("User-Agent", "app\r\nX-Injected: 1")])
    assert raw_server.connections == 0
