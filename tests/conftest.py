"""Fixtures shared by every test: a clean AWS environment, local DynamoDB servers,
stores with a movable clock, and a counter of DynamoDB requests. The helpers they
use live in tests/support.py."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from devservers import dynamodb as servers
from dynamodb_sessions import DynamoDBStore
from tests.support import (
    STORE_KINDS,
    AnyStore,
    Clock,
    RequestCounter,
    StoreFactory,
    build_store,
    sessions_table,
    store_with_client,
)

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


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def dynamodb_store(server: servers.LocalServer, clock: Clock) -> DynamoDBStore:
    """A DynamoDBStore on the parametrized server, with its own client and the test clock."""
    return store_with_client(server, clock=clock)


@pytest.fixture
def counter(dynamodb_store: DynamoDBStore) -> RequestCounter:
    return RequestCounter(dynamodb_store.client)


@pytest.fixture(params=STORE_KINDS)
def store_factory(request: pytest.FixtureRequest, clock: Clock) -> StoreFactory:
    """Every store, one per test run (see `build_store`), on the table a test asks for:
    the store contract and the user-index tests run on each through this."""
    kind: str = request.param
    server = None if kind == "memory" else request.getfixturevalue(kind.split("-")[0] + "_server")
    return lambda table_for: build_store(kind, server, table_for, clock)


@pytest.fixture
def any_store(store_factory: StoreFactory) -> AnyStore:
    """The contract suite's store: every store, same contract."""
    return store_factory(sessions_table)
