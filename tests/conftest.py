"""Fixtures shared by every test: a clean AWS environment, local DynamoDB servers,
tables, stores with a movable clock, and a counter of DynamoDB requests."""

from __future__ import annotations

import os
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from types_boto3_dynamodb.client import DynamoDBClient

from devservers import dynamodb as servers
from dynamodb_sessions import DynamoDBStore, MemoryStore
from dynamodb_sessions.cli._table import create_table

SERVER_KINDS: tuple[servers.ServerKind, ...] = ("moto", "dynalite")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--fuzz-long",
        action="store_true",
        help="run the property tests of tests/unit/test_fuzz.py with 50,000 examples each",
    )


@pytest.fixture(autouse=True)
def clean_aws_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test may reach real AWS or depend on the developer's AWS settings."""
    for name in list(os.environ):
        if name.startswith("AWS_"):
            monkeypatch.delenv(name)
    for name, value in servers.DUMMY_CREDENTIALS.items():
        monkeypatch.setenv(name, value)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


class Clock:
    """A clock the tests move by hand: epoch seconds, starting now."""

    def __init__(self) -> None:
        import time

        self.now = float(int(time.time()))

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


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


@pytest.fixture(scope="session")
def moto_server() -> Iterator[servers.LocalServer]:
    with servers.running("moto") as server:
        yield server


@pytest.fixture(scope="session")
def dynalite_server() -> Iterator[servers.LocalServer]:
    with servers.running("dynalite") as server:
        yield server


@pytest.fixture(params=SERVER_KINDS)
def server(request: pytest.FixtureRequest) -> servers.LocalServer:
    """Each test that uses it runs once on moto and once on dynalite."""
    return request.getfixturevalue(f"{request.param}_server")  # type: ignore[no-any-return]


def make_client(endpoint_url: str) -> DynamoDBClient:
    return boto3.client(
        "dynamodb",
        endpoint_url=endpoint_url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


_tables: dict[str, str] = {}


def sessions_table(server: servers.LocalServer) -> str:
    """One sessions table per server per run (session ids never collide)."""
    if server.endpoint_url not in _tables:
        name = f"sessions-{uuid.uuid4().hex[:8]}"
        create_table(make_client(server.endpoint_url), name, say=lambda _: None, poll_seconds=0.1)
        _tables[server.endpoint_url] = name
    return _tables[server.endpoint_url]


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def dynamodb_store(server: servers.LocalServer, clock: Clock) -> DynamoDBStore:
    """A DynamoDBStore on the parametrized server, with its own client and the test clock."""
    client = make_client(server.endpoint_url)
    return DynamoDBStore(sessions_table(server), client=client, clock=clock)


@pytest.fixture
def counter(dynamodb_store: DynamoDBStore) -> RequestCounter:
    return RequestCounter(dynamodb_store.client)


StoreFactory = Callable[[], Any]


@pytest.fixture(params=["memory", "moto", "dynalite", "moto-lean", "dynalite-lean"])
def any_store(request: pytest.FixtureRequest, clock: Clock) -> DynamoDBStore | MemoryStore:
    """The contract suite's store_factory: every store, same contract.

    "moto"/"dynalite" inject a boto3 client (every call through boto3); the
    "-lean" variants let the store build its own and use its lean caller.
    """
    if request.param == "memory":
        return MemoryStore(clock=clock)
    kind, _, lean = request.param.partition("-")
    server = request.getfixturevalue(f"{kind}_server")
    if lean:
        return DynamoDBStore(
            sessions_table(server),
            endpoint_url=server.endpoint_url,
            region_name="us-east-1",
            clock=clock,
        )
    return DynamoDBStore(
        sessions_table(server), client=make_client(server.endpoint_url), clock=clock
    )
