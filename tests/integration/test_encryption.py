"""Encryption at rest end to end, on moto and dynalite: what a reader of the table
sees, key rotation, values moved by hand, wrong keys, concurrent writes, sizes."""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Iterator
from typing import Any

import anyio
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.testclient import TestClient

from devservers.dynamodb import LocalServer
from dynamodb_sessions import DynamoDBSessionMiddleware, DynamoDBStore
from dynamodb_sessions._logging import log_id
from dynamodb_sessions._serialization import DATA_LIMIT, entry_size
from dynamodb_sessions.cli._maintenance import scan_pages
from dynamodb_sessions.cli._rotate import rotate_keys as rotate_in_process
from dynamodb_sessions.stores._cipher import Cipher
from tests.integration.test_concurrency import Gate, build_app, run_parallel
from tests.sessions_app import make_app
from tests.support import (
    OTHER_KEY,
    TEST_KEY,
    RequestCounter,
    key_of,
    make_client,
    run_cli,
    session_cookie,
    store_at_url,
    store_with_client,
    stored_item,
)

OLD, NEW = TEST_KEY, OTHER_KEY


def app_client(store: DynamoDBStore) -> TestClient:
    return TestClient(make_app(store), base_url="https://testserver")


@pytest.fixture
def plain(server: LocalServer) -> DynamoDBStore:
    return store_with_client(server)


def store(server: LocalServer, *keys: str) -> DynamoDBStore:
    return store_with_client(server, encryption_keys=list(keys))


def start_session(store: DynamoDBStore, values: dict[str, Any]) -> str:
    with app_client(store) as client:
        return session_cookie(client.post("/set", json=values))


def read(store: DynamoDBStore, cookie: str) -> tuple[int, Any]:
    with app_client(store) as client:
        client.cookies.set("session", cookie)
        response = client.get("/read")
        return response.status_code, response.json()


def data_of(store: DynamoDBStore, cookie: str) -> dict[str, Any]:
    item = stored_item(store, cookie)
    assert item is not None
    data: dict[str, Any] = item["data"]["M"]
    return data


def test_a_scan_of_the_table_finds_the_stored_value_nowhere(server: LocalServer) -> None:
    marker = f"marker-{uuid.uuid4().hex}"
    sealed = store(server, NEW)
    cookie = start_session(sealed, {"email": marker, "nested": {"deep": [marker]}})
    client = make_client(server.endpoint_url)
    items = [i for page in scan_pages(client, sealed.table_name, page_size=100) for i in page]
    assert any(i["session_id"]["S"] == key_of(cookie) for i in items)
    for item in items:
        for value in _leaves(item):
            assert marker.encode() not in (value if isinstance(value, bytes) else value.encode())
    assert set(data_of(sealed, cookie)) == {"email", "nested"}  # the map's keys stay readable
    assert read(sealed, cookie) == (200, {"email": marker, "nested": {"deep": [marker]}})


def _leaves(value: Any) -> Iterator[str | bytes]:
    if isinstance(value, dict):
        for k, v in value.items():
            yield k
            yield from _leaves(v)
    elif isinstance(value, list):
        for v in value:
            yield from _leaves(v)
    else:
        yield value


def test_plaintext_sessions_are_read_and_sealed_value_by_value(
    server: LocalServer, plain: DynamoDBStore
) -> None:
    cookie = start_session(plain, {"a": 1, "b": 2})
    assert data_of(plain, cookie)["a"] == {"S": "1"}
    sealed = store(server, NEW)
    assert read(sealed, cookie) == (200, {"a": 1, "b": 2})
    with app_client(sealed) as client:
        client.cookies.set("session", cookie)
        assert client.post("/set", json={"a": 10}).status_code == 200
    data = data_of(plain, cookie)
    assert "B" in data["a"]  # written: sealed
    assert data["b"] == {"S": "2"}  # not written yet: as it was
    assert read(sealed, cookie) == (200, {"a": 10, "b": 2})


def test_encryption_costs_no_extra_call(server: LocalServer) -> None:
    sealed = store(server, NEW)
    counter = RequestCounter(sealed.client)
    with app_client(sealed) as client:
        client.post("/set", json={"a": 1, "b": [1]})
        assert counter.take() == {"PutItem": 1}
        client.get("/read")
        assert counter.take() == {"GetItem": 1}
        client.post("/set", json={"a": 2})
        assert counter.take() == {"GetItem": 1, "UpdateItem": 1}


@pytest.mark.anyio
async def test_sealed_values_go_through_the_lean_caller(server: LocalServer) -> None:
    sealed = store_at_url(server, encryption_keys=[NEW])
    key = uuid.uuid4().hex * 2
    await sealed.create(key, data={"a": "1"}, expires=2**31)
    await sealed.update(key, changed={"a": "2"}, removed=(), expected={"a": "1"}, expires=2**31)
    stored = await sealed.load(key)
    assert stored is not None
    assert dict(stored.data) == {"a": "2"}
    assert sealed.lean is not None  # bytes in the request did not send it to boto3


def test_a_store_without_keys_stores_plain_json_as_before(plain: DynamoDBStore) -> None:
    cookie = start_session(plain, {"user": "ann"})
    assert data_of(plain, cookie) == {"user": {"S": '"ann"'}}


def test_a_store_without_keys_treats_an_encrypted_session_as_absent(
    server: LocalServer, plain: DynamoDBStore, caplog: pytest.LogCaptureFixture
) -> None:
    cookie = start_session(store(server, NEW), {"a": 1})
    with caplog.at_level(logging.WARNING, logger="dynamodb_sessions"):
        assert read(plain, cookie) == (200, {})
    assert "has no encryption_keys" in caplog.text


def test_rotation_new_key_first_keeps_old_sessions_and_reseals_on_write(
    server: LocalServer,
) -> None:
    cookie = start_session(store(server, OLD), {"a": 1, "b": 2})
    both = store(server, NEW, OLD)
    assert both.cipher is not None
    assert read(both, cookie) == (200, {"a": 1, "b": 2})
    with app_client(both) as client:
        client.cookies.set("session", cookie)
        client.post("/set", json={"a": 3})
    data = data_of(both, cookie)
    assert both.cipher.sealed_with(data["a"]["B"]) == "test2"  # written: the new key
    assert both.cipher.sealed_with(data["b"]["B"]) == "test1"  # not yet
    assert read(both, cookie) == (200, {"a": 3, "b": 2})


def test_removing_the_old_key_without_rotate_keys_ends_its_sessions(
    server: LocalServer, caplog: pytest.LogCaptureFixture
) -> None:
    cookie = start_session(store(server, OLD), {"a": 1})
    with caplog.at_level(logging.WARNING, logger="dynamodb_sessions"):
        assert read(store(server, NEW), cookie) == (200, {})
    warning = next(r.getMessage() for r in caplog.records if "decrypt" in r.getMessage())
    assert log_id(key_of(cookie)) in warning
    assert cookie.split(".")[0] not in caplog.text  # never the raw id


def test_rotate_keys_then_removing_the_old_key_keeps_every_session(server: LocalServer) -> None:
    old = store(server, OLD)
    cookies = [start_session(old, {"a": i, "b": [i]}) for i in range(3)]
    plain_cookie = start_session(store_with_client(server, table=old.table_name), {"p": "x"})
    result = rotate_keys(server, old.table_name, NEW, OLD)
    assert result.returncode == 0, result.stderr
    assert "sealed " in result.stdout
    assert "with key test2" in result.stdout
    new_only = store(server, NEW)
    for i, cookie in enumerate(cookies):
        assert read(new_only, cookie) == (200, {"a": i, "b": [i]})
    assert read(new_only, plain_cookie) == (200, {"p": "x"})
    again = rotate_keys(server, old.table_name, NEW, OLD)
    assert "sealed 0 values in 0 sessions" in again.stdout


def rotate_keys(server: LocalServer, table: str, *keys: str) -> Any:
    env = {**os.environ, "SESSION_ENCRYPTION_KEYS": ",".join(keys)}
    args = ("--table-name", table, "--endpoint-url", server.endpoint_url, "--region", "us-east-1")
    return run_cli("rotate-keys", *args, "--page-size", "7", env=env)


def test_rotate_keys_reads_keys_only_from_the_environment(server: LocalServer) -> None:
    env = {k: v for k, v in os.environ.items() if k != "SESSION_ENCRYPTION_KEYS"}
    result = run_cli("rotate-keys", "--endpoint-url", server.endpoint_url, env=env)
    assert result.returncode == 1
    assert "set SESSION_ENCRYPTION_KEYS" in result.stderr
    bad = run_cli("rotate-keys", env={**env, "SESSION_ENCRYPTION_KEYS": "k1:c2VjcmV0"})
    assert "generate-key" in bad.stderr
    assert "c2VjcmV0" not in bad.stderr


class WriteFirst:
    """A client whose first UpdateItem lets a request of the app write before it."""

    def __init__(self, store: DynamoDBStore, cookie: str) -> None:
        self.store, self.cookie, self.raced = store, cookie, False

    def __getattr__(self, name: str) -> Any:
        return getattr(self.store.client, name)

    def update_item(self, **kwargs: Any) -> Any:
        if not self.raced and kwargs["Key"]["session_id"]["S"] == key_of(self.cookie):
            self.raced = True
            with app_client(self.store) as client:
                client.cookies.set("session", self.cookie)
                assert client.post("/set", json={"a": "the app's"}).status_code == 200
        return self.store.client.update_item(**kwargs)


def test_rotate_keys_never_overwrites_a_value_written_meanwhile(server: LocalServer) -> None:
    cookie = start_session(store(server, OLD), {"a": "old", "b": "old"})
    both = store(server, NEW, OLD)
    racing = WriteFirst(both, cookie)
    result = rotate_in_process(racing, both.table_name, Cipher([NEW, OLD]))  # type: ignore[arg-type]
    assert racing.raced
    assert result.changed == 0
    assert read(store(server, NEW), cookie) == (200, {"a": "the app's", "b": "old"})


def test_rotate_keys_during_a_request_is_no_conflict(server: LocalServer) -> None:
    # rotate-keys seals the same texts again (other bytes: the nonce is random)
    # between a request's load and its save. Nothing changed that the request
    # read: its write goes ahead, as it would without encryption.
    cookie = start_session(store(server, OLD), {"n": 1, "b": "x"})
    both = store(server, NEW, OLD)
    resealed: list[int] = []

    async def bump_while_rotating(request: Request) -> Response:
        n = request.session["n"]  # loaded: sealed with the old key
        result = await anyio.to_thread.run_sync(
            rotate_in_process, both.client, both.table_name, Cipher([NEW, OLD])
        )
        resealed.append(result.values)
        request.session["n"] = n + 1
        return JSONResponse(request.session["n"])

    app = Starlette(routes=[Route("/bump", bump_while_rotating, methods=["POST"])])
    app.add_middleware(DynamoDBSessionMiddleware, store=both, secret_key="test-secret")
    with TestClient(app, base_url="https://testserver") as client:
        client.cookies.set("session", cookie)
        response = client.post("/bump")
    assert (response.status_code, response.json()) == (200, 2)
    assert resealed == [2]  # both values were sealed again meanwhile
    assert read(store(server, NEW), cookie) == (200, {"n": 2, "b": "x"})


def test_generate_key_prints_one_key_on_one_line(server: LocalServer) -> None:
    result = run_cli("generate-key", "--key-id", "k2027")
    assert result.returncode == 0
    key = result.stdout.removesuffix("\n")
    assert "\n" not in key
    assert key.startswith("k2027:")
    cookie = start_session(store(server, key), {"a": 1})
    assert read(store(server, key), cookie) == (200, {"a": 1})


def move(store: DynamoDBStore, value: dict[str, Any], cookie: str, name: str) -> None:
    store.client.update_item(
        TableName=store.table_name,
        Key={"session_id": {"S": key_of(cookie)}},
        UpdateExpression="SET #d.#k = :v",
        ExpressionAttributeNames={"#d": "data", "#k": name},
        ExpressionAttributeValues={":v": value},
    )


def test_a_value_moved_to_another_session_is_rejected(server: LocalServer) -> None:
    sealed = store(server, NEW)
    victim = start_session(sealed, {"role": "admin"})
    attacker = start_session(sealed, {"role": "guest"})
    move(sealed, data_of(sealed, victim)["role"], attacker, "role")
    assert read(sealed, attacker) == (200, {})


def test_a_value_moved_to_another_key_is_rejected(server: LocalServer) -> None:
    sealed = store(server, NEW)
    cookie = start_session(sealed, {"role": "guest", "note": "admin"})
    move(sealed, data_of(sealed, cookie)["note"], cookie, "role")
    assert read(sealed, cookie) == (200, {})


def test_a_tampered_value_is_rejected(server: LocalServer) -> None:
    sealed = store(server, NEW)
    cookie = start_session(sealed, {"role": "guest"})
    blob = bytearray(data_of(sealed, cookie)["role"]["B"])
    blob[-1] ^= 1
    move(sealed, {"B": bytes(blob)}, cookie, "role")
    assert read(sealed, cookie) == (200, {})


@pytest.mark.parametrize(
    "value", [{"B": b"\x01\x05test2"}, {"B": b"\x07junk"}, {"N": "1"}, {"BOOL": True}]
)
def test_a_value_that_is_no_sealed_value_is_rejected(
    server: LocalServer, value: dict[str, Any]
) -> None:
    sealed = store(server, NEW)
    cookie = start_session(sealed, {"role": "guest"})
    move(sealed, value, cookie, "role")
    assert read(sealed, cookie) == (200, {})


def test_a_wrong_key_gives_an_empty_session_a_warning_and_a_new_id_on_write(
    server: LocalServer, caplog: pytest.LogCaptureFixture
) -> None:
    cookie = start_session(store(server, NEW), {"a": 1})
    wrong = store(server, "test2:" + "C" * 43 + "=")  # the same id, another secret
    with caplog.at_level(logging.WARNING, logger="dynamodb_sessions"), app_client(wrong) as c:
        c.cookies.set("session", cookie)
        assert c.get("/read").json() == {}
        response = c.post("/set", json={"b": 2})
    assert response.status_code == 200
    assert session_cookie(response) != cookie
    assert "can't be decrypted" in caplog.text


@pytest.mark.anyio
async def test_concurrent_writes_of_different_keys_all_persist_when_sealed(
    dynalite_server: LocalServer,
) -> None:
    # On dynalite only: moto's conditional writes are not atomic under concurrency
    # (devservers/dynamodb.py), so two of them can both pass there.
    server = dynalite_server
    keys = [f"k{i}" for i in range(8)]
    sealed = store_with_client(server, encryption_keys=[NEW], max_pool_connections=64)
    app = build_app(sealed, Gate(len(keys)))
    responses, final = await run_parallel(app, [f"/bump/{k}" for k in keys])
    assert [r.status_code for r in responses] == [200] * len(keys)
    assert final == {"n": 0, **dict.fromkeys(keys, 1)}


@pytest.mark.anyio
async def test_concurrent_writes_of_one_key_still_conflict_when_sealed(
    dynalite_server: LocalServer,
) -> None:
    # On dynalite only: moto's conditional writes are not atomic under concurrency
    # (devservers/dynamodb.py), so two of them can both pass there.
    server = dynalite_server
    sealed = store_with_client(server, encryption_keys=[NEW], max_pool_connections=64)
    responses, final = await run_parallel(build_app(sealed, Gate(4)), ["/bump/n"] * 4)
    assert sorted(r.status_code for r in responses) == [200, 409, 409, 409]
    assert final == {"n": 1}


def test_the_size_guard_counts_the_sealed_size(server: LocalServer) -> None:
    sealed = store(server, NEW)
    assert sealed.value_overhead == 30 + len("test2")
    # The largest blob a plain store takes: too large once sealed.
    text_size = DATA_LIMIT - entry_size("blob", "") - 2  # the JSON string's quotes
    largest = text_size - sealed.value_overhead
    if server.kind == "moto":  # moto sizes a Binary value by its base64 text, not its bytes
        largest = largest * 3 // 4 - 100
    with app_client(sealed) as client:
        assert client.post(f"/big?size={text_size}").status_code == 413
        fits = client.post(f"/big?size={largest}")
        assert fits.status_code == 200
    item = stored_item(sealed, session_cookie(fits))
    assert item is not None  # DynamoDB took the sealed item
    assert len(item["data"]["M"]["blob"]["B"]) == largest + 2 + sealed.value_overhead
