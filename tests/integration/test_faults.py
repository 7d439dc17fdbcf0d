"""Faults between the app and DynamoDB, under concurrent clients.

A real Starlette app behind DynamoDBSessionMiddleware talks to dynalite (or moto)
through devservers/proxy.py, which throttles, fails, drops connections or loses
answers at a given rate. A crowd of users, each with two tabs sharing one
session, writes new keys concurrently. Afterwards the table is read directly and
must equal what the clients were told: every write answered 200 is there, every
write answered otherwise is not (for lost answers: may be, if every check of it
failed too, and that is counted). Only 200 and 503-with-Retry-After are allowed:
no 409 (the tabs write different keys), no 500, no traceback.

No request waits past the documented bound, `store_timeout` (the middleware's
default, 3 s) plus the app's own time: that is asserted with a wide margin for a
loaded machine. Each test prints the worst request latency it saw (run with -s).
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import anyio
import httpx
import pytest
from starlette.types import ASGIApp

from devservers.dynamodb import LocalServer
from devservers.faulty import BlackHoleServer
from devservers.proxy import BackgroundProxy
from tests.sessions_app import make_app
from tests.support import key_of, make_client, sessions_table, store_at_url

pytestmark = pytest.mark.anyio
PHASE_SECONDS = 120  # a bound on each phase, far above what any needs
STORE_TIMEOUT = 3.0  # the middleware's default, documented as the worst wait
MARGIN = 2.0  # the app's own time on a loaded 2-core machine


@dataclass
class Crowd:
    """Users with tabs; what each request was told, and how long it took."""

    users: int
    tabs: int = 2
    cookies: dict[int, str] = field(default_factory=dict)
    writes: dict[tuple[int, str], int] = field(default_factory=dict)  # -> status
    statuses: Counter[int] = field(default_factory=Counter)
    worst: float = 0.0
    _written: int = 0

    async def request(self, client: httpx.AsyncClient, json_body: dict[str, Any]) -> int:
        started = time.monotonic()
        response = await client.post("/set", json=json_body)
        elapsed = time.monotonic() - started
        self.worst = max(self.worst, elapsed)
        assert elapsed < STORE_TIMEOUT + MARGIN, f"a request waited {elapsed:.2f} s"
        self.statuses[response.status_code] += 1
        assert response.status_code in (200, 503), (response.status_code, response.text)
        assert "Traceback" not in response.text
        if response.status_code == 503:
            assert response.headers["retry-after"] == "1"
            assert "set-cookie" not in response.headers
        return response.status_code

    async def create(self, app: ASGIApp, run: str) -> None:
        """Every user without a session tries once to start one."""
        with anyio.fail_after(PHASE_SECONDS):
            async with anyio.create_task_group() as group:
                for user in range(self.users):
                    if user not in self.cookies:
                        group.start_soon(self._create, app, run, user)

    async def _create(self, app: ASGIApp, run: str, user: int) -> None:
        async with _client(app) as client:
            if await self.request(client, {"run": run, "user": user}) == 200:
                self.cookies[user] = client.cookies["session"]

    async def write(self, app: ASGIApp, writes: int) -> None:
        """Every tab of every user with a session writes `writes` new keys, one by one."""
        with anyio.fail_after(PHASE_SECONDS):
            async with anyio.create_task_group() as group:
                for user in self.cookies:
                    for tab in range(self.tabs):
                        group.start_soon(self._tab, app, user, tab, writes)

    async def _tab(self, app: ASGIApp, user: int, tab: int, writes: int) -> None:
        async with _client(app, self.cookies[user]) as client:
            for _ in range(writes):
                self._written += 1
                name = f"t{tab}w{self._written}"
                self.writes[(user, name)] = await self.request(client, {name: self._written})

    def report(self, name: str) -> None:
        print(f"\n{name}: worst request {self.worst:.2f} s; statuses {dict(self.statuses)}")


def _client(app: ASGIApp, cookie: str | None = None) -> httpx.AsyncClient:
    cookies = {"session": cookie} if cookie else None
    transport = httpx.ASGITransport(app=app)
    return httpx.AsyncClient(transport=transport, base_url="https://t", cookies=cookies)


def stored_sessions(server: LocalServer, run: str) -> dict[str, dict[str, Any]]:
    """Every session of this run in the table, read directly: key -> data."""
    client = make_client(server.endpoint_url)
    found: dict[str, dict[str, Any]] = {}
    for page in client.get_paginator("scan").paginate(
        TableName=sessions_table(server),
        ConsistentRead=True,
        FilterExpression="#d.#r = :run",
        ExpressionAttributeNames={"#d": "data", "#r": "run"},
        ExpressionAttributeValues={":run": {"S": json.dumps(run)}},
    ):
        for item in page["Items"]:
            data = item["data"]["M"]
            found[item["session_id"]["S"]] = {k: json.loads(v["S"]) for k, v in data.items()}
    return found


def assert_table_matches(
    crowd: Crowd, server: LocalServer, run: str, *, lost_answers: int = 0
) -> None:
    """The table holds what the clients were told; `lost_answers` bounds how many
    writes answered 503 may have landed anyway."""
    stored = stored_sessions(server, run)
    by_key = {key_of(cookie): user for user, cookie in crowd.cookies.items()}
    orphans = set(stored) - set(by_key)  # sessions created but answered 503
    landed_anyway = len(orphans)
    for key, user in by_key.items():
        data = stored[key]
        for (writer, name), status in crowd.writes.items():
            if writer != user:
                continue
            if status == 200:
                assert name in data, f"user {user}: {name} was answered 200 but is not stored"
            elif name in data:
                landed_anyway += 1
    assert landed_anyway <= lost_answers, f"{landed_anyway} writes answered 503 landed"
    print(f"writes answered 503 that landed anyway: {landed_anyway}")


@pytest.fixture
def proxied(dynalite_server: LocalServer) -> Iterator[BackgroundProxy]:
    proxy = BackgroundProxy(dynalite_server.endpoint_url)
    yield proxy
    proxy.close()


def app_through(proxy: BackgroundProxy, server: LocalServer, *, lean: bool = True) -> ASGIApp:
    return make_app(store_at_url(server, proxy.url, lean=lean))


async def run_with_faults(
    proxy: BackgroundProxy,
    server: LocalServer,
    name: str,
    faults: dict[str, float],
    *,
    users: int = 4,
    tabs: int = 2,
    writes: int = 5,
    lean: bool = True,
) -> None:
    run = f"{name}-{time.time_ns()}"
    app = app_through(proxy, server, lean=lean)
    crowd = Crowd(users, tabs)
    proxy.configure(faults=faults, seed=len(name))
    await crowd.create(app, run)
    await crowd.write(app, writes)
    proxy.configure(faults={})
    lost = proxy.stats()["faults"].get("lost_answer", 0)
    crowd.report(name)
    assert crowd.cookies, "no session could be created at all"
    assert crowd.statuses[200] > 0
    assert_table_matches(crowd, server, run, lost_answers=lost)


@pytest.mark.parametrize(
    ("name", "faults"),
    [
        ("throttle-5%", {"throttle": 0.05}),
        ("500-20%", {"500": 0.2}),
        ("drop-20%", {"drop": 0.2}),
        ("mixed-20%", {"throttle": 0.05, "500": 0.05, "drop": 0.05, "lost_answer": 0.05}),
    ],
)
async def test_faults_on_dynalite(
    proxied: BackgroundProxy, dynalite_server: LocalServer, name: str, faults: dict[str, float]
) -> None:
    await run_with_faults(proxied, dynalite_server, name, faults)


async def test_sustained_throttling_at_50_percent(
    proxied: BackgroundProxy, dynalite_server: LocalServer
) -> None:
    # Standard mode backs off 1 s (then 2 s, 4 s) when throttled, and its retry
    # quota runs dry: many 503s, all of them honest.
    await run_with_faults(
        proxied, dynalite_server, "throttle-50%", {"throttle": 0.5}, users=3, writes=3
    )


@pytest.mark.parametrize("lean", [True, False], ids=["lean", "boto3"])
async def test_lost_answers_on_dynalite(
    proxied: BackgroundProxy, dynalite_server: LocalServer, lean: bool
) -> None:
    await run_with_faults(
        proxied, dynalite_server, f"lost-20%-{lean}", {"lost_answer": 0.2}, lean=lean
    )


async def test_lost_answers_on_moto(moto_server: LocalServer) -> None:
    # moto's conditional writes are not atomic under concurrency: one tab per user.
    proxy = BackgroundProxy(moto_server.endpoint_url)
    try:
        await run_with_faults(proxy, moto_server, "lost-20%-moto", {"lost_answer": 0.2}, tabs=1)
    finally:
        proxy.close()


async def test_outage_and_recovery(proxied: BackgroundProxy, dynalite_server: LocalServer) -> None:
    run = f"outage-{time.time_ns()}"
    app = app_through(proxied, dynalite_server)
    crowd = Crowd(users=4)
    await crowd.create(app, run)
    await crowd.write(app, 2)
    assert set(crowd.statuses) == {200}
    proxied.stop_listening()  # DynamoDB is gone: connections refused
    await crowd.write(app, 2)
    during = crowd.statuses[503]
    proxied.resume()
    await crowd.write(app, 2)
    crowd.report("outage")
    assert during == 4 * 2 * 2  # every write of the outage failed, honestly
    assert crowd.statuses[200] == 4 + 4 * 2 * 2 * 2  # and everything else worked
    assert_table_matches(crowd, dynalite_server, run)


async def test_black_hole_and_recovery(
    proxied: BackgroundProxy, dynalite_server: LocalServer
) -> None:
    # DynamoDB stops answering for a while (requests are read, never answered):
    # the same users and cookies meet an app whose store hangs, then the healthy one.
    run = f"hole-{time.time_ns()}"
    app = app_through(proxied, dynalite_server)
    crowd = Crowd(users=3)
    await crowd.create(app, run)
    await crowd.write(app, 1)
    with BlackHoleServer() as hole:
        # The store's default timeouts (4 attempts of up to 2 s): the request's
        # deadline, not the retries, bounds each wait.
        stuck = store_at_url(dynalite_server, hole.endpoint_url)
        before = crowd.statuses[503]
        await crowd.write(make_app(stuck), 1)
        assert crowd.statuses[503] - before == 3 * 2
    await crowd.write(app, 1)
    crowd.report("black hole")
    assert_table_matches(crowd, dynalite_server, run)
