"""Helpers shared by the tests; the fixtures that use them live in conftest.py.

A clock the tests move by hand; counters of store calls and of DynamoDB requests;
boto3 clients, tables and stores on the local servers; session cookies and the
items they name; the `dynamodb-sessions` command; no internet.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
import socket
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable, Collection, Mapping
from pathlib import Path
from typing import Any

import boto3
import pytest
from types_boto3_dynamodb.client import DynamoDBClient

from devservers.dynamodb import LocalServer
from dynamodb_sessions import (
    DynamoDBStore,
    MemoryStore,
    StoredSession,
    UserSession,
    UserSessionStore,
)
from dynamodb_sessions.cli._table import create_table

REGION = "us-east-1"
#: The `user_id_key` of the stores the helpers build (an app's middleware would keep it).
USER_ID_KEY = "tests-user-id-key"

# Both stores, where a test needs what only they have (the user index). The store
# protocol does not say so yet: see the layout issue, item "say what a store can do".
AnyStore = UserSessionStore  # every store: the protocol, not a union of classes


# --- time -------------------------------------------------------------------------------


class Clock:
    """A clock the tests move by hand: epoch seconds, starting now."""

    def __init__(self) -> None:
        self.now = float(int(time.time()))

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


# --- counting calls ---------------------------------------------------------------------


class RequestCounter:
    """Counts the HTTP requests a boto3 client sends, by operation (retries included)."""

    def __init__(self, client: DynamoDBClient) -> None:
        self.counts: Counter[str] = Counter()
        client.meta.events.register("before-send.dynamodb", self._count)

    def _count(self, request: Any, **_: Any) -> None:
        target = request.headers.get("X-Amz-Target", b"")
        name = target.decode() if isinstance(target, bytes) else str(target)
        self.counts[name.rpartition(".")[2]] += 1

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def take(self) -> dict[str, int]:
        """The counts since the last call, as a plain dict, and reset."""
        counts = dict(self.counts)
        self.counts.clear()
        return counts


class CountingStore:
    """A session store that hands every call to a MemoryStore and records it as
    (method, key): what the middleware asked of its store, without a server."""

    def __init__(self, inner: MemoryStore | None = None) -> None:
        self.inner = inner if inner is not None else MemoryStore()
        self.clock = self.inner.clock
        self.calls: list[tuple[str, str]] = []

    @property
    def user_id_key(self) -> str | bytes | None:
        return self.inner.user_id_key

    @user_id_key.setter
    def user_id_key(self, value: str | bytes | None) -> None:
        self.inner.user_id_key = value

    def hash_user_id(self, user_id: str) -> str:
        return self.inner.hash_user_id(user_id)

    def take(self) -> dict[str, int]:
        """The calls since the last take, counted by method, and reset."""
        counts = dict(Counter(method for method, _ in self.calls))
        self.calls.clear()
        return counts

    async def load(self, key: str) -> StoredSession | None:
        self.calls.append(("load", key))
        return await self.inner.load(key)

    async def create(
        self,
        key: str,
        *,
        data: Mapping[str, str],
        expires: int,
        user_id: str | None = None,
        device: str | None = None,
    ) -> None:
        self.calls.append(("create", key))
        await self.inner.create(key, data=data, expires=expires, user_id=user_id, device=device)

    async def update(
        self,
        key: str,
        *,
        changed: Mapping[str, str],
        removed: Collection[str],
        expected: Mapping[str, str | None] | None,
        expires: int,
        user_id: str | None = None,
        device: str | None = None,
    ) -> None:
        self.calls.append(("update", key))
        await self.inner.update(
            key, changed=changed, removed=removed, expected=expected, expires=expires,
            user_id=user_id, device=device,
        )  # fmt: skip

    async def rotate(
        self,
        key: str,
        new_key: str,
        *,
        version: int,
        data: Mapping[str, str],
        created: int,
        expires: int,
        user_id: str | None,
        tombstone_expires: int,
        device: str | None = None,
    ) -> None:
        self.calls.append(("rotate", key))
        await self.inner.rotate(
            key, new_key, version=version, data=data, created=created, expires=expires,
            user_id=user_id, tombstone_expires=tombstone_expires, device=device,
        )  # fmt: skip

    async def delete(self, key: str) -> None:
        self.calls.append(("delete", key))
        await self.inner.delete(key)

    async def list_user_sessions(
        self, user_id: str, *, current: str | None = None
    ) -> list[UserSession]:
        self.calls.append(("list_user_sessions", user_id))
        return await self.inner.list_user_sessions(user_id, current=current)

    async def revoke_session(self, user_id: str, handle: str) -> bool:
        self.calls.append(("revoke_session", user_id))
        return await self.inner.revoke_session(user_id, handle)

    async def revoke_user_sessions(self, user_id: str, *, keep: str | None = None) -> int:
        self.calls.append(("revoke_user_sessions", user_id))
        return await self.inner.revoke_user_sessions(user_id, keep=keep)


# --- local servers: clients, tables, stores ---------------------------------------------


def make_client(endpoint_url: str) -> DynamoDBClient:
    """A boto3 DynamoDB client for a local server (any credentials do)."""
    return boto3.client(
        "dynamodb",
        endpoint_url=endpoint_url,
        region_name=REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def unique_name(prefix: str) -> str:
    """A table name no other test uses."""
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


_tables: dict[tuple[str, bool], str] = {}


def _table(server: LocalServer, *, with_user_index: bool) -> str:
    key = (server.endpoint_url, with_user_index)
    if key not in _tables:
        name = unique_name("users" if with_user_index else "sessions")
        client = make_client(server.endpoint_url)
        create_table(
            client, name, with_user_index=with_user_index, say=lambda _: None, poll_seconds=0.1
        )
        _tables[key] = name
    return _tables[key]


def sessions_table(server: LocalServer) -> str:
    """One sessions table per server per run (session ids never collide)."""
    return _table(server, with_user_index=False)


def indexed_table(server: LocalServer) -> str:
    """One sessions table with the user index per server per run."""
    return _table(server, with_user_index=True)


def store_with_client(
    server: LocalServer, *, table: str | None = None, **options: Any
) -> DynamoDBStore:
    """A DynamoDBStore given a boto3 client for `server`: every call goes through boto3."""
    options.setdefault("user_id_key", USER_ID_KEY)
    return DynamoDBStore(
        table or sessions_table(server), client=make_client(server.endpoint_url), **options
    )


def store_at_url(
    server: LocalServer, url: str | None = None, *, table: str | None = None, **options: Any
) -> DynamoDBStore:
    """A DynamoDBStore that builds its own client (and lean caller) for `url`: the
    server's own by default, or a proxy's in front of it."""
    options.setdefault("region_name", REGION)
    options.setdefault("user_id_key", USER_ID_KEY)
    return DynamoDBStore(
        table or sessions_table(server), endpoint_url=url or server.endpoint_url, **options
    )


STORE_KINDS = (
    "memory",
    "moto",
    "dynalite",
    "moto-lean",
    "dynalite-lean",
    "moto-encrypted",
    "dynalite-lean-encrypted",
)
# Test keys for `encryption_keys` (32 bytes each, base64): never use fixed keys in an app.
TEST_KEY = "test1:" + "A" * 43 + "="
OTHER_KEY = "test2:" + "B" * 43 + "="
# What the `store_factory` fixture gives: the parametrized store, on the table that
# the function it is passed names for a server (`sessions_table`, `indexed_table`).
StoreFactory = Callable[[Callable[[LocalServer], str]], AnyStore]


def build_store(
    kind: str, server: LocalServer | None, table_for: Callable[[LocalServer], str], clock: Clock
) -> AnyStore:
    """The store of `kind` (one of STORE_KINDS) on `server`'s table `table_for(server)`.

    "moto"/"dynalite" inject a boto3 client (every call through boto3); the
    "-lean" variants let the store build its own and use its lean caller; the
    "-encrypted" ones seal every value with `TEST_KEY`.
    """
    if server is None:
        return MemoryStore(clock=clock, user_id_key=USER_ID_KEY)
    options: dict[str, Any] = {"clock": clock, "table": table_for(server)}
    if kind.endswith("-encrypted"):
        options["encryption_keys"] = [TEST_KEY]
    if "-lean" in kind:
        return store_at_url(server, **options)
    return store_with_client(server, **options)


def new_key() -> str:
    """A fresh store key (the length of a SHA-256 in hex)."""
    return uuid.uuid4().hex * 2


def handle_of(key: str) -> str:
    """The handle of the session under `key` in a store keyed with `USER_ID_KEY`."""
    from dynamodb_sessions.stores._users import session_handle

    handle = session_handle(USER_ID_KEY.encode(), key)
    assert handle is not None
    return handle


def handles(sessions: list[UserSession]) -> list[str]:
    """The handles of listed sessions, sorted."""
    return sorted(s.handle for s in sessions)


async def stored_data(store: AnyStore, key: str) -> dict[str, str]:
    """The data of the live session under `key`, which must exist."""
    stored = await store.load(key)
    assert stored is not None, key
    return dict(stored.data)


# --- cookies ------------------------------------------------------------------------------

# The Set-Cookie of a session with the default options, over https.
SESSION_COOKIE_RE = re.compile(
    r"session=([^;]+); path=/; Max-Age=1209600; httponly; samesite=lax; secure$"
)
# The Set-Cookie that ends a session (Starlette's own, with the default options).
CLEARED_COOKIE = (
    "session=null; path=/; expires=Thu, 01 Jan 1970 00:00:00 GMT; httponly; samesite=lax; secure"
)
EXPIRED = "expires=Thu, 01 Jan 1970 00:00:00 GMT"


def session_cookie(response: Any) -> str:
    """The signed session cookie a response (httpx's or the test client's) sets, with
    the default options."""
    match = SESSION_COOKIE_RE.match(response.headers["set-cookie"])
    assert match, response.headers["set-cookie"]
    return match.group(1)


def key_of(cookie: str) -> str:
    """The table key of the session a signed cookie names."""
    return hashlib.sha256(cookie.split(".")[0].encode()).hexdigest()


def stored_item(store: DynamoDBStore, cookie: str) -> dict[str, Any] | None:
    """The table item of the session `cookie` names (a consistent read), or None."""
    response = store.client.get_item(
        TableName=store.table_name, Key={"session_id": {"S": key_of(cookie)}}, ConsistentRead=True
    )
    return response.get("Item")


# --- the command line ---------------------------------------------------------------------

CLI = str(Path(sys.executable).with_name("dynamodb-sessions"))


def run_cli(
    *args: str, env: Mapping[str, str] | None = None, check: bool = False
) -> subprocess.CompletedProcess[str]:
    """Run `dynamodb-sessions` through its installed entry point."""
    return subprocess.run(
        [CLI, *args], capture_output=True, text=True, timeout=120, env=env, check=check
    )


def cli_on(server: LocalServer, *args: str) -> subprocess.CompletedProcess[str]:
    """Run a command against `server`, on a table named in `args`."""
    return run_cli(*args, "--endpoint-url", server.endpoint_url, "--region", REGION)


@functools.cache
def cli_help(command: str) -> str:
    """The --help of a command ("create-table", "sessions list"...), which must exist."""
    return run_cli(*command.split(), "--help", check=True).stdout


def one_line_error(result: subprocess.CompletedProcess[str], command: str) -> str:
    """The reason a command failed with, which must be one line on stderr."""
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1, result.stderr
    assert result.stderr.startswith(f"dynamodb-sessions {command}: error: ")
    return result.stderr


# --- no internet --------------------------------------------------------------------------

_LOOPBACK = ("127.0.0.1", "localhost", "::1")


def block_internet(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make every name but loopback unresolvable in this process, so a client that
    ignores a proxy setting fails at once instead of reaching AWS."""
    resolve = socket.getaddrinfo

    def loopback_only(host: Any, *args: Any, **kwargs: Any) -> Any:
        if host not in _LOOPBACK:
            raise socket.gaierror(socket.EAI_NONAME, f"tests never leave the machine ({host})")
        return resolve(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", loopback_only)


# --- CloudWatch Embedded Metric Format ----------------------------------------------------

# CloudWatch's units (MetricDatum.Unit), the only values EMF accepts in "Unit".
CLOUDWATCH_UNITS = frozenset(
    [
        "Seconds",
        "Microseconds",
        "Milliseconds",
        "Bytes",
        "Kilobytes",
        "Megabytes",
        "Gigabytes",
        "Terabytes",
        "Bits",
        "Kilobits",
        "Megabits",
        "Gigabits",
        "Terabits",
        "Percent",
        "Count",
        "Bytes/Second",
        "Kilobytes/Second",
        "Megabytes/Second",
        "Gigabytes/Second",
        "Terabytes/Second",
        "Bits/Second",
        "Kilobits/Second",
        "Megabits/Second",
        "Gigabits/Second",
        "Terabits/Second",
        "Count/Second",
        "None",
    ]
)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def check_emf(line: str) -> dict[str, Any]:
    """Parse one printed line as an EMF document and check it against CloudWatch's
    specification: the `_aws` metadata (Timestamp in epoch milliseconds, metric
    directives), every dimension key a string member of the root, at most 30 per
    dimension set, every metric a number (or up to 100 numbers) at the root, at most
    100 per directive, each name once, and units from CloudWatch's list."""
    document = json.loads(line)
    assert isinstance(document, dict)
    metadata = document["_aws"]
    assert set(metadata) <= {"Timestamp", "CloudWatchMetrics", "LogGroupName"}
    timestamp = metadata["Timestamp"]
    assert isinstance(timestamp, int)
    assert not isinstance(timestamp, bool)
    assert timestamp > 10**12  # milliseconds: seconds would be about 1.7e9 today
    directives = metadata["CloudWatchMetrics"]
    assert isinstance(directives, list)
    assert directives
    names: list[str] = []
    for directive in directives:
        assert set(directive) == {"Namespace", "Dimensions", "Metrics"}
        namespace = directive["Namespace"]
        assert isinstance(namespace, str)
        assert 0 < len(namespace) <= 255
        for dimension_set in directive["Dimensions"]:
            assert isinstance(dimension_set, list)
            assert len(dimension_set) <= 30
            for key in dimension_set:
                assert isinstance(document[key], str)
                assert document[key]
        assert 0 < len(directive["Metrics"]) <= 100
        for metric in directive["Metrics"]:
            assert set(metric) <= {"Name", "Unit", "StorageResolution"}
            assert metric.get("Unit", "None") in CLOUDWATCH_UNITS
            value = document[metric["Name"]]
            values = value if isinstance(value, list) else [value]
            assert 0 < len(values) <= 100
            assert all(map(_is_number, values))
            names.append(metric["Name"])
    assert len(names) == len(set(names)), "a metric named twice"
    return document


def emf_documents(printed: str) -> list[dict[str, Any]]:
    """Every line of `printed` that is an EMF document, each checked with `check_emf`."""
    return [check_emf(line) for line in printed.splitlines() if line.startswith('{"_aws"')]
