"""The asyncio transport's HTTP/1.1: the request it writes, and how strictly it
reads answers (framing, interim answers, when a connection may be reused)."""

from __future__ import annotations

import asyncio

import pytest

from dynamodb_sessions.stores._http11 import (
    Answer,
    BadHeaderError,
    ProtocolError,
    read_answer,
    request_head,
)

pytestmark = pytest.mark.anyio


async def answer_to(wire: bytes) -> Answer:
    """Read `wire` as the server's bytes, the connection closed after them."""
    reader = asyncio.StreamReader()
    reader.feed_data(wire)
    reader.feed_eof()
    ticks: list[None] = []
    answer = await read_answer(reader, lambda: ticks.append(None))
    assert ticks  # the read timeout restarts before every wait
    return answer


def test_the_request_head_names_host_and_length() -> None:
    head = request_head(b"/prefix/", "127.0.0.1:8000", [("X-Amz-Target", "T.GetItem")], 12)
    assert head == (
        b"POST /prefix/ HTTP/1.1\r\nHost: 127.0.0.1:8000\r\nX-Amz-Target: T.GetItem\r\n"
        b"Content-Length: 12\r\n\r\n"
    )


@pytest.mark.parametrize("value", ["a\r\nInjected: 1", "a\nb", "a\rb", "a\0b"])
def test_a_header_value_with_a_line_break_is_refused(value: str) -> None:
    with pytest.raises(BadHeaderError, match="User-Agent") as raised:
        request_head(b"/", "h", [("Accept", "x"), ("User-Agent", value)], 0)
    assert raised.value.name == "User-Agent"


async def test_content_length_framed_answer_is_reusable() -> None:
    answer = await answer_to(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-A: b \r\n\r\n{}")
    assert answer == Answer(200, [("Content-Length", "2"), ("X-A", "b")], b"{}", True)


async def test_chunked_answer_with_extensions_and_trailers() -> None:
    wire = (
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        b'3;ext=1\r\n{"a\r\n4\r\n": 1\r\n1\r\n}\r\n0\r\nTrailer: x\r\n\r\n'
    )
    answer = await answer_to(wire)
    assert (answer.body, answer.reusable) == (b'{"a": 1}', True)


async def test_interim_answers_are_skipped() -> None:
    answer = await answer_to(
        b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 400 Bad\r\nContent-Length: 1\r\n\r\nx"
    )
    assert (answer.status, answer.body) == (400, b"x")


@pytest.mark.parametrize(
    "wire",
    [
        b"HTTP/1.1 200 OK\r\nConnection: keep-alive, close\r\nContent-Length: 0\r\n\r\n",
        b"HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n",
        b"HTTP/1.1 200 OK\r\n\r\nuntil closed",
    ],
    ids=["connection-close", "http-1.0", "ended-by-closing"],
)
async def test_connections_that_cannot_carry_another_request(wire: bytes) -> None:
    assert not (await answer_to(wire)).reusable


async def test_an_answer_ended_by_closing_is_read_to_the_end() -> None:
    assert (await answer_to(b"HTTP/1.1 200 OK\r\n\r\nuntil closed")).body == b"until closed"


async def test_no_body_for_204() -> None:
    answer = await answer_to(b"HTTP/1.1 204 No Content\r\n\r\n")
    assert (answer.body, answer.reusable) == (b"", True)


@pytest.mark.parametrize(
    "wire",
    [
        b"HTTP/2 200 OK\r\n\r\n",
        b"HTTP/1.1 2000 OK\r\n\r\n",
        b"garbage\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nxx",
        b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nX: a\r\n folded\r\nContent-Length: 0\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nNo colon\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nxyz",
        b"HTTP/1.1 101 Switching Protocols\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: 99999999999\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n-2\r\nxx\r\n0\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n+2\r\nxx\r\n0\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0_2\r\nxx\r\n0\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"00000000000000002\r\nxx\r\n0\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: \xb2\r\n\r\nxx",
        b"HTTP/1.1 200 OK\r\nContent-Length: 1_0\r\n\r\nxx",
    ],
    ids=[
        "http-2",
        "status",
        "garbage",
        "lengths-disagree",
        "negative-length",
        "folded-header",
        "no-colon",
        "chunk-size",
        "chunk-end",
        "switching",
        "too-large",
        "negative-chunk",
        "signed-chunk",
        "underscore-chunk",
        "long-chunk-size",
        "superscript-length",
        "underscore-length",
    ],
)
async def test_malformed_answers_are_protocol_errors(wire: bytes) -> None:
    with pytest.raises(ProtocolError):
        await answer_to(wire)


async def test_a_truncated_body_is_an_incomplete_read() -> None:
    with pytest.raises(asyncio.IncompleteReadError):
        await answer_to(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort")
