"""DynamoDBSessionMiddleware end to end: real boto3 against moto and dynalite.

Each test runs on both servers. DynamoDB requests are counted per HTTP request,
as the servers see them, and asserted: they are deterministic.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from starlette.testclient import TestClient

from devservers.dynamodb import LocalServer
from dynamodb_sessions import DynamoDBStore
from dynamodb_sessions._serialization import DATA_LIMIT, MAX_DEPTH, entry_size, user_id_size
from dynamodb_sessions._session import MAX_USER_ID_BYTES
from dynamodb_sessions.stores.dynamodb import MAX_KEYS_PER_UPDATE
from tests.sessions_app import make_app, request_var
from tests.support import (
    CLEARED_COOKIE,
    EXPIRED,
    Clock,
    RequestCounter,
    session_cookie,
    store_with_client,
    stored_item,
)


@pytest.fixture
def options() -> dict[str, Any]:
    return {}


@pytest.fixture
def client(dynamodb_store: DynamoDBStore, options: dict[str, Any]) -> Iterator[TestClient]:
    with TestClient(make_app(dynamodb_store, **options), base_url="https://testserver") as c:
        yield c


def stored_expiry(store: DynamoDBStore, cookie: str) -> int:
    """The `ttl` of the item `cookie` names, which must exist."""
    item = stored_item(store, cookie)
    assert item is not None
    return int(item["ttl"]["N"])


def test_new_session_cookie_is_signed_random_id_with_secure_flags(
    client: TestClient, dynamodb_store: DynamoDBStore, counter: RequestCounter
) -> None:
    response = client.post("/set", json={"user": "ann"})
    assert response.status_code == 200
    assert counter.take() == {"PutItem": 1}
    cookie = session_cookie(response)
    session_id, _timestamp, _signature = cookie.split(".")
    assert len(session_id) == 43  # 32 random bytes: 256 bits
    item = stored_item(dynamodb_store, cookie)
    assert item is not None
    assert item["data"] == {"M": {"user": {"S": '"ann"'}}}  # JSON text, never pickle
    assert "ttl" in item
    assert session_id not in json.dumps(item)  # only the hash is stored


def test_stored_key_is_the_sha256_of_the_id_and_ttl_is_idle_expiry(
    client: TestClient, dynamodb_store: DynamoDBStore, clock: Clock
) -> None:
    cookie = session_cookie(client.post("/set", json={"a": 1}))
    item = stored_item(dynamodb_store, cookie)
    assert item is not None
    assert item["session_id"]["S"] == hashlib.sha256(cookie.split(".")[0].encode()).hexdigest()
    assert int(item["ttl"]["N"]) == int(clock()) + 14 * 24 * 3600


def test_session_round_trips(client: TestClient, counter: RequestCounter) -> None:
    client.post("/set", json={"user": "ann", "prefs": {"theme": "dark"}})
    counter.take()
    response = client.get("/read")
    assert response.json() == {"user": "ann", "prefs": {"theme": "dark"}}
    assert counter.take() == {"GetItem": 1}  # read-only: one read, no write
    assert "set-cookie" not in response.headers
    assert response.headers["vary"] == "Cookie"


def test_no_cookie_and_untouched_session_costs_nothing(
    client: TestClient, counter: RequestCounter
) -> None:
    response = client.get("/none")
    assert response.status_code == 200
    assert counter.total == 0
    assert "set-cookie" not in response.headers
    assert "vary" not in response.headers


def test_empty_new_session_is_never_written(client: TestClient, counter: RequestCounter) -> None:
    response = client.get("/read")
    assert response.json() == {}
    assert counter.total == 0
    assert "set-cookie" not in response.headers


@pytest.mark.parametrize(
    "header",
    [
        b"session=garbage",
        b"session=",
        b"session",
        b"session=a.b.c",
        b"session=" + b"x" * 5000,
        b"session=\xc3\xa9\xff\x00",
        b"session=null",
        b'other=1; session="quoted"; ;;==',
    ],
)
def test_bad_cookie_gives_a_fresh_session_and_no_store_call(
    client: TestClient, counter: RequestCounter, header: bytes
) -> None:
    response = client.get("/read", headers={b"cookie": header})
    assert response.status_code == 200
    assert response.json() == {}
    assert counter.total == 0


def test_forged_and_truncated_cookies_cost_nothing(
    client: TestClient, counter: RequestCounter
) -> None:
    cookie = session_cookie(client.post("/set", json={"user": "ann"}))
    counter.take()
    session_id, timestamp, signature = cookie.split(".")
    other = "B" if session_id[0] == "A" else "A"
    forged = [
        f"{other}{session_id[1:]}.{timestamp}.{signature}",
        f"{session_id}.{timestamp}.{signature[:-2]}",
        cookie[:-1],
        f"{session_id}.{timestamp}",
    ]
    for value in forged:
        client.cookies.clear()
        client.cookies.set("session", value)
        response = client.get("/read")
        assert response.status_code == 200
        assert response.json() == {}, (value, cookie)
    assert counter.total == 0


def test_cookie_signed_with_another_key_is_rejected(
    dynamodb_store: DynamoDBStore, counter: RequestCounter
) -> None:
    with TestClient(make_app(dynamodb_store, secret_key="key-one"), base_url="https://t") as first:
        cookie = session_cookie(first.post("/set", json={"user": "ann"}))
    counter.take()
    with TestClient(make_app(dynamodb_store, secret_key="key-two"), base_url="https://t") as second:
        second.cookies.set("session", cookie)
        assert second.get("/read").json() == {}
    assert counter.total == 0


def test_key_rotation_first_key_signs_all_keys_verify(dynamodb_store: DynamoDBStore) -> None:
    with TestClient(make_app(dynamodb_store, secret_key="old-key"), base_url="https://t") as before:
        old_cookie = session_cookie(before.post("/set", json={"user": "ann"}))
    rotated = make_app(dynamodb_store, secret_key=["new-key", "old-key"])
    with TestClient(rotated, base_url="https://t") as after:
        after.cookies.set("session", old_cookie)
        assert after.get("/read").json() == {"user": "ann"}
        new_cookie = session_cookie(after.post("/set", json={"more": 1}))
    with TestClient(
        make_app(dynamodb_store, secret_key="new-key"), base_url="https://t"
    ) as only_new:
        only_new.cookies.set("session", new_cookie)
        assert only_new.get("/read").json() == {"user": "ann", "more": 1}


def test_unknown_id_is_never_adopted(
    client: TestClient, dynamodb_store: DynamoDBStore, counter: RequestCounter
) -> None:
    cookie = session_cookie(client.post("/set", json={"user": "ann"}))
    client.post("/logout")
    counter.take()
    client.cookies.set("session", cookie)  # a validly signed id whose session is gone
    response = client.post("/set", json={"user": "mallory"})
    assert counter.take() == {"GetItem": 1, "PutItem": 1}
    new_cookie = session_cookie(response)
    assert new_cookie.split(".")[0] != cookie.split(".")[0]
    assert stored_item(dynamodb_store, cookie) is None


def test_expired_item_still_in_table_is_never_served(
    client: TestClient, dynamodb_store: DynamoDBStore, clock: Clock
) -> None:
    cookie = session_cookie(client.post("/set", json={"user": "ann"}))
    clock.advance(14 * 24 * 3600)
    assert stored_item(dynamodb_store, cookie) is not None  # local servers never delete
    client.cookies.set("session", cookie)
    response = client.get("/read")
    assert response.json() == {}
    # The stale cookie is dropped so later requests don't pay for a read.
    assert EXPIRED in response.headers["set-cookie"]


def test_write_sends_one_update_with_only_the_changed_key(
    client: TestClient, dynamodb_store: DynamoDBStore, counter: RequestCounter
) -> None:
    cookie = session_cookie(client.post("/set", json={"a": 1, "b": 2}))
    counter.take()
    response = client.post("/set", json={"b": 3})
    assert response.json() == {"a": 1, "b": 3}
    assert counter.take() == {"GetItem": 1, "UpdateItem": 1}
    assert session_cookie(response) != ""  # re-issued: Max-Age slides with the write
    item = stored_item(dynamodb_store, cookie)
    assert item is not None
    assert item["data"]["M"] == {"a": {"S": "1"}, "b": {"S": "3"}}


def test_nested_mutation_is_saved_without_mark_modified(client: TestClient) -> None:
    client.post("/set", json={"cart": []})
    client.post("/append", json="apple")
    client.post("/append", json="pear")
    assert client.get("/read").json() == {"cart": ["apple", "pear"]}


@pytest.mark.parametrize("options", [{"refresh_interval": 3600}])
def test_sliding_expiry_refreshes_at_most_once_per_window(
    client: TestClient, dynamodb_store: DynamoDBStore, counter: RequestCounter, clock: Clock
) -> None:
    cookie = session_cookie(client.post("/set", json={"a": 1}))
    counter.take()
    clock.advance(3599)
    assert "set-cookie" not in client.get("/read").headers
    assert counter.take() == {"GetItem": 1}
    clock.advance(1)
    response = client.get("/read")
    assert counter.take() == {"GetItem": 1, "UpdateItem": 1}
    assert session_cookie(response).split(".")[0] == cookie.split(".")[0]
    assert stored_expiry(dynamodb_store, cookie) == int(clock()) + 14 * 24 * 3600
    counter.take()
    assert client.get("/read").json() == {"a": 1}
    assert counter.take() == {"GetItem": 1}


@pytest.mark.parametrize("options", [{"absolute_lifetime": 100, "refresh_interval": 0}])
def test_absolute_lifetime_caps_the_sliding_expiry(
    client: TestClient, dynamodb_store: DynamoDBStore, clock: Clock
) -> None:
    cookie = session_cookie(client.post("/set", json={"a": 1}))
    assert stored_expiry(dynamodb_store, cookie) == int(clock()) + 100
    clock.advance(99)
    assert client.get("/read").json() == {"a": 1}
    clock.advance(1)
    assert client.get("/read").json() == {}


def test_logout_deletes_the_item_and_expires_the_cookie(
    client: TestClient, dynamodb_store: DynamoDBStore, counter: RequestCounter
) -> None:
    cookie = session_cookie(client.post("/set", json={"user": "ann"}))
    counter.take()
    response = client.post("/logout")
    assert counter.take() == {"GetItem": 1, "DeleteItem": 1}
    assert response.headers["set-cookie"] == CLEARED_COOKIE
    assert stored_item(dynamodb_store, cookie) is None


def test_regenerate_id_moves_the_data_and_kills_the_old_cookie(
    client: TestClient, dynamodb_store: DynamoDBStore, counter: RequestCounter
) -> None:
    old = session_cookie(client.post("/set", json={"cart": ["apple"]}))
    counter.take()
    new = session_cookie(client.post("/login?user=ann"))
    # The new item, then the old one becomes a data-less tombstone (see rotation_grace).
    assert counter.take() == {"GetItem": 1, "PutItem": 1, "UpdateItem": 1}
    assert new.split(".")[0] != old.split(".")[0]
    tombstone = stored_item(dynamodb_store, old)
    assert tombstone is not None
    assert "rotated" in tombstone
    assert not {"data", "user_id"} & tombstone.keys()
    assert client.get("/read").json() == {"cart": ["apple"], "user": "ann"}
    client.cookies.clear()
    client.cookies.set("session", old)  # the attacker's fixed id is dead
    assert client.get("/read").json() == {}


@pytest.mark.parametrize(
    ("path", "status"),
    [("/fail", 500), ("/big", 413)],
    ids=["the-app-answers-5xx", "too-large-a-session"],
)
def test_nothing_is_saved_and_the_stored_state_is_kept(
    client: TestClient, counter: RequestCounter, path: str, status: int
) -> None:
    client.post("/set", json={"a": 1})
    counter.take()
    response = client.post(path)
    assert response.status_code == status
    assert "Traceback" not in response.text
    assert counter.take() == {"GetItem": 1}
    assert client.get("/read").json() == {"a": 1}


def test_nested_growth_past_the_limit_is_refused_at_save(client: TestClient) -> None:
    client.post("/set", json={"cart": []})
    response = client.post("/nested-big")
    assert response.status_code == 413  # the app's 200 never reaches the client
    assert client.get("/read").json() == {"cart": []}


def test_value_json_cannot_encode_is_a_clear_error_not_a_traceback(
    client: TestClient, counter: RequestCounter
) -> None:
    response = client.post("/not-json")
    assert response.status_code == 500
    assert response.text == "Internal Server Error\n"
    assert counter.total == 0


def test_context_var_set_in_endpoint_is_visible_to_the_caller(
    dynamodb_store: DynamoDBStore,
) -> None:
    # A pure ASGI middleware runs the app in the caller's context; BaseHTTPMiddleware
    # would run it in another task and lose the value.
    seen: list[str] = []
    app = make_app(dynamodb_store)

    async def outer(scope: Any, receive: Any, send: Any) -> None:
        await app(scope, receive, send)
        if scope["type"] == "http":
            seen.append(request_var.get())

    with TestClient(outer, base_url="https://t") as c:
        assert c.post("/context-var").status_code == 200
    assert seen == ["set-in-endpoint"]


@pytest.mark.parametrize("options", [{"skip_paths": ["/skip"]}])
def test_skip_paths_never_load_the_session(client: TestClient, counter: RequestCounter) -> None:
    client.post("/set", json={"a": 1})
    counter.take()
    assert client.get("/skip/none").status_code == 200
    assert counter.total == 0
    response = client.get("/skip/read")
    assert response.status_code == 500  # a programming error, named in the log
    assert counter.total == 0


@pytest.mark.parametrize("options", [{"https_only": False}])  # the test client's ws:// URL
def test_websocket_reads_and_saves_an_existing_session(client: TestClient) -> None:
    client.post("/set", json={"a": 1})
    with client.websocket_connect("/ws") as ws:
        assert ws.receive_json() == {"a": 1}
    assert client.get("/read").json() == {"a": 1, "ws": True}


@pytest.mark.parametrize(
    "options",
    [
        {
            "https_only": False,
            "same_site": "strict",
            "domain": "example.com",
            "partitioned": True,
            "path": "/app",
            "session_cookie": "sid",
            "max_age": None,
        }
    ],
)
def test_cookie_options_follow_starlette(client: TestClient) -> None:
    response = client.post("/set", json={"a": 1})
    assert re.fullmatch(
        r"sid=[^;]+; path=/app; httponly; samesite=strict; domain=example.com; partitioned",
        response.headers["set-cookie"],
    )


def nested_json(depth: int) -> str:
    return "[" * depth + "]" * depth


@pytest.mark.parametrize(
    "body",
    [
        b'{"k": "\\ud800"}',  # a lone surrogate: valid JSON, but no UTF-8 text
        b'{"k": {"\\udfff": 1}}',
        b'{"k": NaN}',  # Python's json reads it; the session must not store it
        b'{"k": [1, -Infinity]}',
        f'{{"k": {nested_json(MAX_DEPTH + 1)}}}'.encode(),
    ],
    ids=["surrogate", "surrogate-key", "nan", "infinity", "too-deep"],
)
def test_client_value_the_session_cannot_store_is_refused_at_set_time(
    client: TestClient, dynamodb_store: DynamoDBStore, counter: RequestCounter, body: bytes
) -> None:
    cookie = session_cookie(client.post("/set", json={"a": 1}))
    counter.take()
    response = client.post("/set", content=body, headers={"content-type": "application/json"})
    # The app passed client input straight into the session: a clean 500, the error
    # named in the log, never a raw traceback, and the stored session as it was.
    assert response.status_code == 500
    assert response.text == "Internal Server Error\n"
    assert counter.take() == {"GetItem": 1}
    item = stored_item(dynamodb_store, cookie)
    assert item is not None
    assert item["data"]["M"] == {"a": {"S": "1"}}


def test_nesting_at_the_documented_limit_is_stored_and_read_back(client: TestClient) -> None:
    body = f'{{"k": {nested_json(MAX_DEPTH)}}}'.encode()
    response = client.post("/set", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 200
    assert client.get("/read").content == body.replace(b" ", b"")


def test_more_keys_changed_than_one_atomic_write_holds_is_413_and_writes_nothing(
    client: TestClient, dynamodb_store: DynamoDBStore, counter: RequestCounter
) -> None:
    many = {f"k{i}": i for i in range(MAX_KEYS_PER_UPDATE + 50)}
    cookie = session_cookie(client.post("/set", json=many))  # a new session: one PutItem
    assert client.post("/set", json={k: -1 for k in list(many)[:MAX_KEYS_PER_UPDATE]}).is_success
    counter.take()
    response = client.post("/set", json={k: 0 for k in many})
    assert response.status_code == 413
    assert "Traceback" not in response.text
    assert counter.take() == {"GetItem": 1}  # refused before any write: nothing half-saved
    item = stored_item(dynamodb_store, cookie)
    assert item is not None
    assert item["data"]["M"]["k0"] == {"S": "-1"}
    assert item["data"]["M"][f"k{len(many) - 1}"] == {"S": str(len(many) - 1)}


def test_user_id_and_bookkeeping_count_toward_the_item_limit(
    client: TestClient, counter: RequestCounter
) -> None:
    # Data just inside the data budget alone, plus the longest user id allowed: one
    # attribute more than DynamoDB's 400 KB item holds. 413, before any write.
    size = DATA_LIMIT - 1024
    response = client.post(f"/bind-big?size={size}&user_bytes={MAX_USER_ID_BYTES}")
    assert response.status_code == 413
    assert counter.total == 0
    assert "set-cookie" not in response.headers


@pytest.mark.parametrize("options", [{"max_age": -1}, {"max_age": 0}])
def test_max_age_zero_or_less_gives_a_cookie_expired_at_once_as_starlette(
    client: TestClient, dynamodb_store: DynamoDBStore, clock: Clock, options: dict[str, Any]
) -> None:
    response = client.post("/set", json={"a": 1})
    assert f"; Max-Age={options['max_age']}; " in response.headers["set-cookie"]
    cookie = re.match(r"session=([^;]+);", response.headers["set-cookie"])
    assert cookie is not None
    # The stored copy goes at once too.
    assert stored_expiry(dynamodb_store, cookie.group(1)) == int(clock()) + 1
    clock.advance(1)
    client.cookies.set("session", cookie.group(1))
    assert client.get("/read").json() == {}


def test_a_session_filling_the_budget_with_the_longest_user_id_is_stored(
    dynalite_server: LocalServer,
) -> None:
    # dynalite sizes items by DynamoDB's rules (409,600 bytes): the budget leaves
    # room for the bookkeeping, and one byte more is refused by us, not by DynamoDB.
    store = store_with_client(dynalite_server)
    budget = DATA_LIMIT - user_id_size("u" * MAX_USER_ID_BYTES) - entry_size("blob", '""')
    with TestClient(make_app(store), base_url="https://t") as client:
        path = f"/bind-big?user_bytes={MAX_USER_ID_BYTES}&size="
        assert client.post(path + str(budget + 1)).status_code == 413
        assert client.post(path + str(budget)).status_code == 200
        assert len(client.get("/read").json()["blob"]) == budget
