"""Nothing the lean caller does from the event loop may block it: a credentials
refresh (a network call: the container endpoint, STS, IMDS) and learning an
operation's route (botocore preparing the call once) run in a worker thread, so
routes that never use the session keep being served meanwhile."""

from __future__ import annotations

import asyncio
import threading
from datetime import timedelta
from typing import Any

import pytest

from devservers.credentials import CredentialsServer
from devservers.dynamodb import LocalServer
from tests.support import new_key, store_at_url, stored_data

pytestmark = pytest.mark.anyio


async def test_a_credentials_refresh_never_runs_on_the_event_loop(
    dynalite_server: LocalServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    loop = asyncio.get_running_loop()
    loop_was_blocked: list[bool] = []

    def on_fetch() -> None:
        # The loop runs this at once, unless the fetch is being made from it.
        answered = asyncio.run_coroutine_threadsafe(asyncio.sleep(0), loop)
        try:
            answered.result(timeout=1)  # within the fetch's own 2 s timeout
        except TimeoutError:
            loop_was_blocked.append(True)

    # Twelve minutes left: inside botocore's advisory window (15 min), so every
    # use of the credentials refreshes them from the endpoint.
    with CredentialsServer(lifetime=timedelta(minutes=12), on_fetch=on_fetch) as endpoint:
        for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
            monkeypatch.delenv(name, raising=False)
        monkeypatch.setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", endpoint.url)
        store = store_at_url(dynalite_server)
        await store.warm()
        before = endpoint.fetches
        for _ in range(3):
            key = new_key()
            await store.create(key, data={"a": "1"}, expires=2**31)
            assert await stored_data(store, key) == {"a": "1"}
        assert endpoint.fetches > before  # refreshed while the calls were made
    assert not loop_was_blocked


async def test_an_operation_not_learnt_yet_is_learnt_in_a_worker_thread(
    dynalite_server: LocalServer,
) -> None:
    store = store_at_url(dynalite_server)
    key = new_key()
    assert await store.load(key) is None  # builds the client; GetItem is learnt
    prepared_in: list[int] = []

    def record(**_: Any) -> None:
        prepared_in.append(threading.get_ident())

    store.client.meta.events.register("before-parameter-build.dynamodb", record)
    await store.create(key, data={"a": "1"}, expires=2**31)  # PutItem: not learnt yet
    await store.delete(key)  # DeleteItem: nor this
    assert len(prepared_in) == 2  # each learnt once, by botocore preparing it
    assert threading.get_ident() not in prepared_in  # never on the event loop
    # Learnt now: the next calls are sent from the loop, with nothing prepared.
    await store.create(key, data={"a": "2"}, expires=2**31)
    assert await stored_data(store, key) == {"a": "2"}
    assert len(prepared_in) == 2
    assert store.lean is not None
    assert store.lean.transport.idle() == 1
