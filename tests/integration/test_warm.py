"""`DynamoDBStore.warm()`: the client and the lean caller's routes are ready, and
no request has reached the server (what Lambda's INIT phase may pay for)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

import pytest

from dynamodb_sessions import DynamoDBStore

_ITEM = {"session_id": {"S": "k"}, "data": {"M": {}}, "ttl": {"N": "4102444800"}}


class _Counting(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    targets: ClassVar[list[str]] = []

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self.targets.append(self.headers.get("X-Amz-Target", ""))
        body = json.dumps({"Item": _ITEM}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/x-amz-json-1.0")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def counting_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, list[str]]]:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDWARM")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "warm")
    seen: list[str] = []

    class Handler(_Counting):
        targets = seen

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", seen
    server.shutdown()
    server.server_close()


@pytest.mark.anyio
@pytest.mark.parametrize("lean", [True, False])
async def test_warm_builds_the_client_and_routes_without_a_request(
    counting_server: tuple[str, list[str]], lean: bool
) -> None:
    url, targets = counting_server
    store = DynamoDBStore("t", endpoint_url=url, region_name="us-east-1", lean=lean)
    await store.warm()
    assert targets == []
    assert store._call._client is not None  # built, not by the checks below
    if lean:
        assert store.lean is not None
        assert store.lean._routes.learnt() == {"GetItem", "PutItem", "UpdateItem", "DeleteItem"}
    else:
        assert store.lean is None
    assert (await store.load("k")) is not None
    assert targets == ["DynamoDB_20120810.GetItem"]
