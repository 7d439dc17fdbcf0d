"""OIDC sign-in end to end: authlib against a real oidc-provider-mock server over HTTP."""

from __future__ import annotations

import re
from dataclasses import replace

import httpx
import pytest

from app.config import Settings
from app.main import create_app
from app.services.session_store import reset_session_store_instance
from dynamodb_sessions import MemoryStore, SessionTableNotFoundError, StoredSession

from .flows import ClientFactory, callback_for, path_of, sign_in, start_login, vote
from .servers import store_for

pytestmark = pytest.mark.anyio


async def test_sign_in_vote_and_sign_out(
    settings: Settings, client_for: ClientFactory, provider: httpx.AsyncClient
) -> None:
    app = create_app(settings)  # the per-process store, with the fallback off
    client = client_for(app)
    pre_login_cookie = (await client.get("/login")).cookies["session"]

    callback = await sign_in(client, provider, "alice@example.com")

    assert callback.status_code == 303
    assert callback.headers["location"] == "https://testserver/"
    # The id changed at login: a cookie planted before sign-in is worthless after it.
    assert client.cookies["session"] != pre_login_cookie
    assert re.search(r";\s*secure", callback.headers["set-cookie"], re.IGNORECASE)
    assert "alice@example.com" in (await client.get("/")).text

    assert (await vote(client, "haiku-dynamodb", "b")).status_code == 303
    assert "you chose <strong>B</strong>" in (await client.get("/")).text

    logout = await client.post("/logout")
    assert logout.status_code == 303
    assert settings.oidc is not None
    assert logout.headers["location"].startswith(settings.oidc.metadata_url.split("/.well")[0])
    assert "post_logout_redirect_uri=https%3A%2F%2Ftestserver%2F" in logout.headers["location"]
    assert "id_token_hint=" in logout.headers["location"]
    assert re.search(r"max-age=0|expires=thu, 01 jan 1970", logout.headers["set-cookie"], re.I)
    # The local provider sends the browser straight back to the app, not to a page of its own.
    back = await provider.get(logout.headers["location"])
    assert back.status_code == 302
    assert back.headers["location"] == "https://testserver/"
    page = await client.get("/")
    assert 'id="signed-out"' in page.text
    # The old cookie no longer signs anyone in, even if a client kept it.
    replay = client_for(app)
    old_cookie = {"cookie": f"session={callback.cookies['session']}"}
    assert 'id="signed-out"' in (await replay.get("/", headers=old_cookie)).text


async def test_callback_from_another_browser_is_rejected(
    settings: Settings, client_for: ClientFactory, provider: httpx.AsyncClient
) -> None:
    app = create_app(settings)
    victim, attacker = client_for(app), client_for(app)
    callback_url = await callback_for(attacker, provider, "mallory@example.com")
    await start_login(victim)

    response = await victim.get(path_of(callback_url))

    assert response.status_code == 400
    assert 'id="signed-out"' in (await victim.get("/")).text


async def test_callback_lands_on_another_instance(
    settings: Settings, client_for: ClientFactory, provider: httpx.AsyncClient
) -> None:
    """Two app instances share one table, as Lambda containers do."""
    first = create_app(settings)
    reset_session_store_instance()  # the second "container" builds its own store
    second = create_app(settings)
    assert first.state.session_store is not second.state.session_store
    on_first = client_for(first)
    on_second = client_for(second)

    callback_url = await callback_for(on_first, provider, "bob@example.com")
    on_second.cookies = on_first.cookies
    callback = await on_second.get(path_of(callback_url))

    assert callback.status_code == 303, callback.text
    on_first.cookies = on_second.cookies
    assert "bob@example.com" in (await on_first.get("/")).text
    await vote(on_first, "haiku-dynamodb", "a")
    on_second.cookies = on_first.cookies
    assert "you chose <strong>A</strong>" in (await on_second.get("/")).text


async def test_memory_fallback_loses_logins_across_instances(
    settings: Settings, client_for: ClientFactory, provider: httpx.AsyncClient
) -> None:
    """Why the fallback must be off on Lambda: each container has its own memory."""
    on_first = client_for(create_app(settings, store=MemoryStore()))
    on_second = client_for(create_app(settings, store=MemoryStore()))

    callback_url = await callback_for(on_first, provider, "carol@example.com")
    on_second.cookies = on_first.cookies
    response = await on_second.get(path_of(callback_url))

    assert response.status_code == 400
    assert "This sign-in link has expired" in response.text


async def test_fallback_off_and_no_table_fails_at_start(settings: Settings) -> None:
    with pytest.raises(SessionTableNotFoundError, match="create-table"):
        create_app(replace(settings, table_name="no-such-table"))


async def test_fallback_on_and_no_table_serves_from_memory(
    settings: Settings, client_for: ClientFactory, provider: httpx.AsyncClient
) -> None:
    app = create_app(replace(settings, table_name="no-such-table", fallback_to_memory=True))
    client = client_for(app)

    health = await client.get("/healthz")
    assert health.json()["session_backend"] == "memory"
    assert health.json()["status"] == "degraded"
    assert (await sign_in(client, provider, "dave@example.com")).status_code == 303


async def test_cookie_sessions_sign_in(
    cookie_settings: Settings, client_for: ClientFactory, provider: httpx.AsyncClient
) -> None:
    client = client_for(create_app(cookie_settings))

    assert (await sign_in(client, provider, "erin@example.com")).status_code == 303
    assert "erin@example.com" in (await client.get("/")).text
    assert (await client.get("/healthz")).json() == {"status": "ok", "session_backend": "cookie"}


async def test_healthz_reports_dynamodb(settings: Settings, client_for: ClientFactory) -> None:
    client = client_for(create_app(settings, store=store_for(settings)))

    response = await client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "session_backend": "dynamodb",
        "table": settings.table_name,
    }


class LoadCountingStore(MemoryStore):
    loads = 0

    async def load(self, key: str) -> StoredSession | None:
        self.loads += 1
        return await super().load(key)


async def test_lazy_sessions_load_only_on_the_routes_that_use_them(
    settings: Settings, client_for: ClientFactory, provider: httpx.AsyncClient
) -> None:
    store = LoadCountingStore()
    client = client_for(create_app(settings, store=store))
    assert (await sign_in(client, provider, "fay@example.com")).status_code == 303
    store.loads = 0

    assert (await client.get("/healthz")).status_code == 200
    assert (await client.get("/no-such-page")).status_code == 404
    assert store.loads == 0  # the cookie was sent, the session never loaded
    assert "fay@example.com" in (await client.get("/")).text
    assert store.loads == 1
