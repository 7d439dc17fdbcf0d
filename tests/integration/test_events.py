"""Lifecycle events (`on_event`): one per step of a request's session, with what the
step cost in store time, DynamoDB calls and consumed capacity; never a raw id; a
hook that raises never fails the request. On dynalite, which reports capacity."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from starlette.testclient import TestClient

from devservers.dynamodb import LocalServer
from dynamodb_sessions import EVENT_NAMES, DynamoDBStore, MemoryStore, SessionEvent
from tests.sessions_app import make_app
from tests.support import (
    USER_ID_KEY,
    indexed_table,
    key_of,
    new_key,
    sessions_table,
    store_at_url,
    unique_name,
)


@pytest.fixture
def store(dynalite_server: LocalServer) -> DynamoDBStore:
    return store_at_url(dynalite_server, table=sessions_table(dynalite_server))


@pytest.fixture
def events() -> list[SessionEvent]:
    return []


@pytest.fixture
def client(store: DynamoDBStore, events: list[SessionEvent]) -> Iterator[TestClient]:
    with TestClient(make_app(store, on_event=events.append), base_url="https://t") as client:
        yield client


def names(events: list[SessionEvent]) -> list[str]:
    taken: list[str] = [event.name for event in events]
    events.clear()
    return taken


def test_each_step_of_a_session_is_one_event(
    client: TestClient, events: list[SessionEvent]
) -> None:
    assert client.get("/none").text == "ok"
    assert names(events) == []  # no cookie, no session: nothing happened
    client.post("/set", json={"a": 1})
    created = events[0]
    assert names(events) == ["created"]
    assert (created.outcome, created.calls, created.read_units) == ("ok", 1, 0.0)
    assert created.write_units > 0
    assert created.session == key_of(client.cookies["session"])[:12]
    client.get("/read")
    loaded = events[0]
    assert names(events) == ["loaded"]
    assert (loaded.calls, loaded.write_units) == (1, 0.0)
    assert loaded.read_units > 0
    client.post("/incr")
    assert names(events) == ["loaded", "saved"]
    client.post("/login")
    assert names(events) == ["loaded", "rotated"]
    client.post("/logout")
    assert names(events) == ["loaded", "ended"]
    assert set(EVENT_NAMES) >= {"loaded", "created", "saved", "rotated", "ended"}


def test_a_conflict_is_an_event_with_its_kind(
    client: TestClient, events: list[SessionEvent]
) -> None:
    client.post("/set", json={"a": 1})
    before_login = client.cookies["session"]
    client.post("/login")
    events.clear()
    client.cookies.clear()  # one cookie in the jar, whichever domain the last one had
    client.cookies.set("session", before_login)  # a request still holding the old id
    assert client.post("/set", json={"b": 2}).status_code == 409
    assert [(e.name, e.outcome) for e in events] == [("conflict", "rotated")]


def test_a_store_error_and_degraded_mode_are_events() -> None:
    events: list[SessionEvent] = []
    down = DynamoDBStore(
        "t", endpoint_url="http://127.0.0.1:9", region_name="us-east-1", max_attempts=1
    )
    app = make_app(down, on_event=events.append, fallback_store=MemoryStore())
    with TestClient(app, base_url="https://t") as client:
        assert client.post("/set", json={"a": 1}).status_code == 200
    assert [(e.name, e.outcome) for e in events] == [
        ("degraded", "SessionStoreUnavailableError"),
        ("created", "ok"),
    ]
    assert "127.0.0.1" in events[0].detail


def test_an_async_hook_is_awaited_and_a_failing_hook_is_only_logged(
    store: DynamoDBStore, caplog: pytest.LogCaptureFixture
) -> None:
    seen: list[str] = []

    async def audit(event: SessionEvent) -> None:
        seen.append(event.name)
        raise RuntimeError("the audit log is down")

    with TestClient(make_app(store, on_event=audit), base_url="https://t") as client:
        response = client.post("/set", json={"a": 1})
    assert response.status_code == 200
    assert "set-cookie" in response.headers
    assert seen == ["created"]
    assert "on_event hook failed" in caplog.text


def test_no_event_holds_the_session_id(client: TestClient, events: list[SessionEvent]) -> None:
    client.post("/set", json={"a": 1})
    session_id = client.cookies["session"].split(".")[0]
    client.post("/login")
    client.post("/logout")
    assert events
    for event in events:
        assert session_id not in repr(event)


def test_a_write_reports_the_sessions_size(client: TestClient, events: list[SessionEvent]) -> None:
    client.post("/set", json={"blob": "x" * 1000})
    created = events[-1]
    assert created.name == "created"
    assert created.session_bytes is not None
    assert 1000 < created.session_bytes < 1100
    client.post("/set", json={"more": "y" * 2000})
    saved = events[-1]
    assert saved.name == "saved"
    assert saved.session_bytes is not None
    assert saved.session_bytes > created.session_bytes + 2000
    client.get("/read")
    assert events[-1].session_bytes is None  # "loaded": nothing written


def test_a_503_is_an_unavailable_event() -> None:
    events: list[SessionEvent] = []
    down = DynamoDBStore(
        "t", endpoint_url="http://127.0.0.1:9", region_name="us-east-1", max_attempts=1
    )
    with TestClient(make_app(down, on_event=events.append), base_url="https://t") as client:
        assert client.post("/set", json={"a": 1}).status_code == 503
    assert [(e.name, e.outcome) for e in events] == [
        ("store_error", "SessionStoreUnavailableError"),
        ("unavailable", "SessionStoreUnavailableError"),
    ]
    assert events[0].calls == 2  # failed calls count: the PutItem, and its read-back


@pytest.mark.anyio
@pytest.mark.parametrize("kind", ["memory", "dynalite"])
async def test_revocation_reports_each_session_it_ends(
    kind: str, dynalite_server: LocalServer
) -> None:
    events: list[SessionEvent] = []
    store: DynamoDBStore | MemoryStore = (
        MemoryStore(on_event=events.append, user_id_key=USER_ID_KEY)
        if kind == "memory"
        else store_at_url(dynalite_server, table=indexed_table(dynalite_server))
    )
    if isinstance(store, DynamoDBStore):
        store.on_event = events.append
    user, keys = unique_name("user"), [new_key(), new_key()]
    for key in keys:
        await store.create(key, data={}, expires=2**31, user_id=store.hash_user_id(user))
    assert await store.revoke_user_sessions(user) == 2
    assert sorted(e.session for e in events) == sorted(key[:12] for key in keys)
    assert {e.name for e in events} == {"revoked"}
