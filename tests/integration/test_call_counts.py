"""DynamoDB calls per request on the default (lean) path, counted by the counting
proxy in front of dynalite: the figures docs/performance.md reports per endpoint."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from starlette.testclient import TestClient

from devservers.dynamodb import ROOT, LocalServer
from devservers.process import stop_process
from tests.sessions_app import make_app
from tests.support import store_at_url


class CountingProxy:
    def __init__(self, upstream: str) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "devservers.proxy", "--upstream", upstream],
            stdout=subprocess.PIPE,
            cwd=ROOT,
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline().decode()
        match = re.match(r"READY (\d+)", line)
        assert match, f"proxy did not start: {line!r}"
        self.url = f"http://127.0.0.1:{match.group(1)}"

    def _control(self, path: str, method: str) -> Any:
        data = b"{}" if method == "POST" else None
        request = urllib.request.Request(self.url + path, data=data, method=method)
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read() or b"null")

    def take(self) -> dict[str, int]:
        """The calls since the last take, by operation."""
        calls: dict[str, int] = self._control("/__proxy__/stats", "GET")["calls"]
        self._control("/__proxy__/reset", "POST")
        return {op: n for op, n in calls.items() if n}

    def stop(self) -> None:
        stop_process(self.process)
        if self.process.stdout is not None:
            self.process.stdout.close()


@pytest.fixture(scope="module")
def proxy(dynalite_server: LocalServer) -> Iterator[CountingProxy]:
    counting = CountingProxy(dynalite_server.endpoint_url)
    yield counting
    counting.stop()


@pytest.fixture
def client(proxy: CountingProxy, dynalite_server: LocalServer) -> Iterator[TestClient]:
    # No client= : the store builds its own and uses the lean caller.
    store = store_at_url(dynalite_server, proxy.url)
    app = make_app(store, skip_paths=["/skip"])
    with TestClient(app, base_url="https://testserver") as test_client:
        yield test_client
    proxy.take()


def test_calls_per_endpoint_on_the_lean_path(client: TestClient, proxy: CountingProxy) -> None:
    proxy.take()
    assert client.get("/none").status_code == 200
    assert proxy.take() == {}  # no cookie, session untouched
    client.post("/set", json={"cart": []})
    assert proxy.take() == {"PutItem": 1}  # new session
    client.get("/read")
    assert proxy.take() == {"GetItem": 1}  # read-only
    client.post("/append", json="apple")
    assert proxy.take() == {"GetItem": 1, "UpdateItem": 1}  # write (nested change)
    client.get("/none")
    assert proxy.take() == {"GetItem": 1}  # cookie, eager load
    client.get("/skip/none")
    assert proxy.take() == {}  # skip_paths
    client.post("/login")
    assert proxy.take() == {"GetItem": 1, "PutItem": 1, "UpdateItem": 1}  # regenerate_id
    client.post("/logout")
    assert proxy.take() == {"GetItem": 1, "DeleteItem": 1}
    client.cookies.set("session", "forged.cookie.value")
    client.get("/read")
    assert proxy.take() == {}


def test_a_lazy_route_that_never_loads_calls_no_dynamodb(
    proxy: CountingProxy, dynalite_server: LocalServer
) -> None:
    store = store_at_url(dynalite_server, proxy.url)
    with TestClient(make_app(store, lazy=True), base_url="https://testserver") as client:
        client.post("/load/set", json={"cart": []})
        assert proxy.take() == {"PutItem": 1}
        response = client.get("/none")  # with the cookie, never loads
        assert response.status_code == 200
        assert "set-cookie" not in response.headers
        assert proxy.take() == {}
        assert client.get("/load/twice").json() == {"cart": []}
        assert proxy.take() == {"GetItem": 1}  # load_session twice: one GetItem
        client.post("/load/set", json={"cart": ["apple"]})
        assert proxy.take() == {"GetItem": 1, "UpdateItem": 1}
        assert client.get("/read").status_code == 500  # request.session before loading
        assert proxy.take() == {}
