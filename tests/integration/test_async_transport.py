"""The lean caller sends from the event loop (no worker thread) where it can do
exactly what botocore's HTTP session would, and steps aside to the threaded path
where it can't (a proxy). Its pool is bounded by `max_pool_connections`; a call
cut short leaves no connection behind; a backoff never sleeps past the deadline.
"""

from __future__ import annotations

import asyncio
import gc
import random
from collections.abc import Iterator

import anyio
import pytest
from botocore.config import Config

from devservers.dynamodb import LocalServer
from devservers.faulty import BlackHoleServer
from devservers.forward_proxy import ForwardProxy
from devservers.proxy import BackgroundProxy
from devservers.tls import Certificates, TLSForwarder, make_certificates
from dynamodb_sessions import DynamoDBStore, SessionStoreUnavailableError
from dynamodb_sessions.stores._calls import fresh_deadline
from tests.support import new_key, store_at_url, stored_data

pytestmark = pytest.mark.anyio


@pytest.fixture
def proxy(dynalite_server: LocalServer) -> Iterator[BackgroundProxy]:
    fault_proxy = BackgroundProxy(dynalite_server.endpoint_url)
    try:
        yield fault_proxy
    finally:
        fault_proxy.close()


def idle(store: DynamoDBStore) -> int:
    """Connections the asyncio transport keeps for this event loop."""
    assert store.lean is not None
    return store.lean.transport.idle()


async def round_trip(store: DynamoDBStore) -> None:
    key = new_key()
    await store.create(key, data={"a": "1"}, expires=2**31)
    assert await stored_data(store, key) == {"a": "1"}


async def test_calls_are_sent_from_the_event_loop_on_one_kept_alive_connection(
    dynalite_server: LocalServer,
) -> None:
    store = store_at_url(dynalite_server)
    await store.warm()
    for _ in range(3):
        await round_trip(store)
    assert idle(store) == 1  # sequential calls: one connection, reused


@pytest.fixture(scope="module")
def certificates(tmp_path_factory: pytest.TempPathFactory) -> Certificates:
    return make_certificates(tmp_path_factory.mktemp("tls"))


@pytest.fixture(scope="module")
def tls_dynalite(
    dynalite_server: LocalServer, certificates: Certificates
) -> Iterator[TLSForwarder]:
    with TLSForwarder(dynalite_server.endpoint_url, certificates) as forwarder:
        yield forwarder


async def test_https_with_a_private_ca_is_sent_from_the_event_loop(
    dynalite_server: LocalServer, tls_dynalite: TLSForwarder, certificates: Certificates
) -> None:
    store = store_at_url(dynalite_server, tls_dynalite.endpoint_url, verify=str(certificates.ca))
    await store.warm()
    await round_trip(store)
    assert idle(store) == 1


async def test_a_proxy_sends_through_the_threaded_path(
    dynalite_server: LocalServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    with ForwardProxy() as forward:
        monkeypatch.setenv("HTTP_PROXY", forward.url)
        store = store_at_url(dynalite_server)
        await store.warm()
        await round_trip(store)
        assert forward.requests  # botocore's session sent them, through the proxy
        assert idle(store) == 0  # and the asyncio transport sent nothing
        assert store.lean is not None  # still the lean caller, in a worker thread


async def test_the_pool_holds_at_most_max_pool_connections(
    dynalite_server: LocalServer, proxy: BackgroundProxy
) -> None:
    proxy.configure(latency_ms=50)  # the calls overlap
    store = store_at_url(dynalite_server, proxy.url, max_pool_connections=2)
    await store.warm()
    async with anyio.create_task_group() as group:
        for _ in range(6):
            group.start_soon(round_trip, store)
    assert idle(store) == 2
    assert proxy.stats()["total"] == 12  # every call made, two at a time


async def test_a_call_cut_short_leaves_no_connection_in_the_pool(
    dynalite_server: LocalServer,
) -> None:
    with BlackHoleServer() as hole:
        store = DynamoDBStore("sessions", endpoint_url=hole.endpoint_url, region_name="us-east-1")
        await store.warm()
        with anyio.move_on_after(0.3):
            await store.load("k" * 64)
        assert hole.held == 1  # it reached the server, and was given up on
        assert idle(store) == 0  # closed, not kept with half an answer due


@pytest.mark.parametrize("through_a_thread", [False, True], ids=["event-loop", "thread"])
async def test_a_backoff_is_cut_to_the_deadline_for_a_last_attempt(
    dynalite_server: LocalServer,
    proxy: BackgroundProxy,
    certificates: Certificates,
    through_a_thread: bool,
) -> None:
    # Every call is throttled. Seeded, botocore's first backoff is 0.96 s: past the
    # 0.8 s deadline. It is cut to leave a last attempt, after which nothing is
    # left: two attempts, where giving up at the first backoff would have made one.
    proxy.configure(faults={"throttle": 1.0})
    # A client certificate (unused over http) sends the lean caller's calls from a thread.
    config = Config(client_cert=(str(certificates.cert), str(certificates.key)))
    store = store_at_url(
        dynalite_server, proxy.url, max_attempts=5, config=config if through_a_thread else None
    )
    await store.warm()
    state = random.getstate()
    random.seed(2)
    try:
        with fresh_deadline(0.8), pytest.raises(SessionStoreUnavailableError, match="Throttl"):
            await store.load("k" * 64)
    finally:
        random.setstate(state)
    assert proxy.stats()["total"] == 2
    assert (idle(store) == 0) is through_a_thread


async def test_a_connection_the_server_closed_while_idle_is_not_reused(
    dynalite_server: LocalServer, proxy: BackgroundProxy
) -> None:
    # One attempt only: a request sent on the dead connection would fail the call.
    store = store_at_url(dynalite_server, proxy.url, max_attempts=1)
    await store.warm()
    await round_trip(store)
    assert idle(store) == 1
    # Closed while this loop does not run (as in a frozen Lambda): the loop has not
    # seen the close yet when the next call takes a connection.
    proxy.stop_listening()
    proxy.resume()
    await round_trip(store)
    assert idle(store) == 1


async def test_a_store_dropped_while_its_loop_runs_closes_its_connections(
    dynalite_server: LocalServer,
) -> None:
    store = store_at_url(dynalite_server)
    await store.warm()
    await round_trip(store)
    assert store.lean is not None
    pool = store.lean.transport._pools[asyncio.get_running_loop()]
    (writer,) = [connection.writer for idle in pool.idle.values() for connection in idle]
    del store, pool
    gc.collect()
    assert writer.is_closing()  # closed by the pool, not left to a ResourceWarning


def test_a_loop_closed_without_shutting_down_has_its_connections_discarded(
    dynalite_server: LocalServer,
) -> None:
    # As a runner that calls run_until_complete and then loop.close() does, with
    # no asyncio.run to shut the loop down: the next loop's first call discards it.
    store = store_at_url(dynalite_server)
    loop = asyncio.new_event_loop()
    loop.run_until_complete(store.warm())
    loop.run_until_complete(round_trip(store))
    assert store.lean is not None
    pool = store.lean.transport._pools[loop]
    (writer,) = [connection.writer for idle in pool.idle.values() for connection in idle]
    loop.close()
    anyio.run(round_trip, store)
    assert writer.get_extra_info("socket").fileno() == -1  # closed, not left to the GC
    del pool
    gc.collect()  # and nothing for the collector to hand to the closed loop
