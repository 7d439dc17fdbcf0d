"""Fixtures for the app tests: a clean environment, moto, the OIDC provider, app clients."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from typing import Any

import httpx
import pytest

from app.config import OIDCSettings, Settings
from app.services.session_store import reset_session_store_instance
from devservers import dynamodb, oidc
from devservers.dynamodb import DUMMY_CREDENTIALS, LocalServer

from .flows import ClientFactory
from .servers import SECRET, create_table

APP_VARIABLES = ("USE_DYNAMODB_SESSIONS", "PUBLIC_BASE_URL", "LOG_LEVEL")
APP_PREFIXES = ("AWS_", "SESSION_", "OIDC_")


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No AWS or app variable leaks in from the shell; dummy credentials for local servers."""
    for name in list(os.environ):
        if name.startswith(APP_PREFIXES) or name in APP_VARIABLES:
            monkeypatch.delenv(name)
    for name, value in DUMMY_CREDENTIALS.items():
        monkeypatch.setenv(name, value)
    reset_session_store_instance()
    yield
    reset_session_store_instance()


@pytest.fixture(scope="session")
def moto_server() -> Iterator[LocalServer]:
    with dynamodb.running("moto") as server:
        yield server


@pytest.fixture(scope="session")
def table(moto_server: LocalServer) -> str:
    """A sessions table on moto, created once with the CLI; tests use their own sessions."""
    return create_table(moto_server.endpoint_url)


@pytest.fixture(scope="session")
def issuer() -> Iterator[str]:
    """The base URL of a real oidc-provider-mock server on 127.0.0.1."""
    with oidc.running() as provider:
        yield provider.issuer


@pytest.fixture
def settings(issuer: str, moto_server: LocalServer, table: str) -> Settings:
    """DynamoDB sessions on a fresh table, the memory fallback off, sign-in via the provider."""
    return Settings(
        secret_keys=[SECRET],
        use_dynamodb_sessions=True,
        table_name=table,
        region_name=dynamodb.DUMMY_CREDENTIALS["AWS_DEFAULT_REGION"],
        endpoint_url=moto_server.endpoint_url,
        fallback_to_memory=False,
        oidc=OIDCSettings(
            metadata_url=f"{issuer}/.well-known/openid-configuration",
            client_id="llm-duel",
            client_secret="llm-duel-secret",
            provider_name="Test provider",
        ),
    )


@pytest.fixture
def cookie_settings(settings: Settings) -> Settings:
    """The same app on Starlette's signed-cookie sessions (USE_DYNAMODB_SESSIONS unset)."""
    return replace(settings, use_dynamodb_sessions=False)


@pytest.fixture
async def client_for() -> AsyncIterator[ClientFactory]:
    """Make an https client for an ASGI app (https, so Secure cookies are sent back)."""
    clients: list[httpx.AsyncClient] = []

    def make(asgi_app: Any) -> httpx.AsyncClient:
        transport = httpx.ASGITransport(app=asgi_app)
        client = httpx.AsyncClient(transport=transport, base_url="https://testserver")
        clients.append(client)
        return client

    yield make
    for client in clients:
        await client.aclose()


@pytest.fixture
async def provider() -> AsyncIterator[httpx.AsyncClient]:
    """A client for the provider's pages, as the user's browser."""
    async with httpx.AsyncClient(timeout=10) as client:
        yield client


# authlib 1.9 warns about its own modules on import (authlib.jose, its httpx
# integration); the app does not use them directly and they still work.
THIRD_PARTY_DEPRECATIONS = (
    "ignore:authlib.jose module is deprecated:DeprecationWarning",
    "ignore:The httpx module is deprecated:DeprecationWarning",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = os.path.dirname(__file__)
    for item in items:
        if str(item.path).startswith(here):
            for spec in THIRD_PARTY_DEPRECATIONS:
                item.add_marker(pytest.mark.filterwarnings(spec))
