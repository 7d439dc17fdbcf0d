"""Bad input gives a clear page, never a 500: broken callbacks, expired sessions, odd forms."""

from __future__ import annotations

from dataclasses import replace

import httpx
import pytest

from app.config import OIDCSettings, Settings
from app.main import create_app
from devservers.dynamodb import free_port
from dynamodb_sessions import DynamoDBStore, MemoryStore
from tests.support import Clock

from .flows import ClientFactory, callback_for, path_of, sign_in, start_login, vote

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize(
    "query",
    [
        "",
        "code=abc",
        "state=abc",
        "code=%00%ff&state=%zz",
        "error=access_denied&error_description=The+user+said+no",
        "code=" + "x" * 5000 + "&state=" + "y" * 5000,
    ],
    ids=["missing", "no-state", "no-code", "garbled", "denied", "huge"],
)
async def test_broken_callback_without_login_gives_a_clear_page(
    settings: Settings, client_for: ClientFactory, query: str
) -> None:
    client = client_for(create_app(settings))

    response = await client.get(f"/auth/callback?{query}")

    assert response.status_code == 400
    assert response.headers["content-type"].startswith("text/html")
    assert "Sign in again" in response.text


@pytest.mark.parametrize(
    ("field", "tampered", "reason"),
    [
        ("code=", "code=garbled", "invalid_grant"),  # with the right state
        ("state=", "state=forged", "This sign-in link has expired"),
    ],
    ids=["garbled-code", "state-mismatch"],
)
async def test_a_tampered_callback_gives_a_clear_page_and_signs_no_one_in(
    settings: Settings,
    client_for: ClientFactory,
    provider: httpx.AsyncClient,
    field: str,
    tampered: str,
    reason: str,
) -> None:
    client = client_for(create_app(settings))
    callback_url = await callback_for(client, provider, "mallory@example.com")

    response = await client.get(path_of(callback_url.replace(field, tampered)))

    assert response.status_code == 400
    assert reason in response.text
    assert 'id="signed-out"' in (await client.get("/")).text


async def test_replayed_callback_when_signed_in_goes_home(
    settings: Settings, client_for: ClientFactory, provider: httpx.AsyncClient
) -> None:
    client = client_for(create_app(settings))
    callback_url = await callback_for(client, provider, "twice@example.com")
    assert (await client.get(path_of(callback_url))).status_code == 303

    replay = await client.get(path_of(callback_url))

    assert replay.status_code == 303
    assert "twice@example.com" in (await client.get("/")).text


async def test_user_denies_at_the_provider(
    settings: Settings, client_for: ClientFactory, provider: httpx.AsyncClient
) -> None:
    client = client_for(create_app(settings))
    denied = await provider.post(await start_login(client), data={"action": "deny"})

    response = await client.get(path_of(denied.headers["location"]))

    assert response.status_code == 400
    assert "access_denied" in response.text


@pytest.fixture
def short_lived(settings: Settings, client_for: ClientFactory) -> tuple[httpx.AsyncClient, Clock]:
    """A client of the app whose sessions (in a MemoryStore) last 600 s; the store's clock."""
    clock = Clock()
    app = create_app(replace(settings, max_age=600), store=MemoryStore(clock=clock))
    return client_for(app), clock


async def test_session_expired_mid_flow(
    short_lived: tuple[httpx.AsyncClient, Clock], provider: httpx.AsyncClient
) -> None:
    client, clock = short_lived
    callback_url = await callback_for(client, provider, "slow@example.com")
    clock.advance(601)  # the user left the provider's page open too long

    response = await client.get(path_of(callback_url))

    assert response.status_code == 400
    assert "This sign-in link has expired" in response.text


async def test_session_deleted_from_the_table_mid_flow(
    settings: Settings, client_for: ClientFactory, provider: httpx.AsyncClient
) -> None:
    import boto3

    app = create_app(settings)
    client = client_for(app)
    callback_url = await callback_for(client, provider, "gone@example.com")
    table = boto3.resource(
        "dynamodb", endpoint_url=settings.endpoint_url, region_name=settings.region_name
    ).Table(settings.table_name)
    for item in table.scan()["Items"]:
        table.delete_item(Key={"session_id": item["session_id"]})

    response = await client.get(path_of(callback_url))

    assert response.status_code == 400
    assert "This sign-in link has expired" in response.text


async def test_signed_in_session_expires_then_vote(
    short_lived: tuple[httpx.AsyncClient, Clock], provider: httpx.AsyncClient
) -> None:
    client, clock = short_lived
    assert (await sign_in(client, provider, "late@example.com")).status_code == 303
    clock.advance(601)

    response = await vote(client, "haiku-dynamodb", "a")

    assert response.status_code == 401
    assert "Sign in to vote" in response.text


@pytest.mark.parametrize(
    "form",
    [{}, {"duel_id": "haiku-dynamodb", "choice": "c"}, {"duel_id": "nope", "choice": "a"}],
    ids=["empty", "bad-choice", "bad-duel"],
)
async def test_bad_vote_gives_a_clear_page(
    settings: Settings,
    client_for: ClientFactory,
    provider: httpx.AsyncClient,
    form: dict[str, str],
) -> None:
    client = client_for(create_app(settings))
    await sign_in(client, provider, "odd@example.com")

    response = await client.post("/vote", data=form)

    assert response.status_code == 400
    assert "That vote was not understood" in response.text


async def test_garbled_session_cookie_is_a_fresh_session(
    settings: Settings, client_for: ClientFactory
) -> None:
    client = client_for(create_app(settings))

    response = await client.get("/", headers={"cookie": "session=%%%garbage.not.signed"})

    assert response.status_code == 200
    assert 'id="signed-out"' in response.text


async def test_provider_down_gives_a_clear_page(
    settings: Settings, client_for: ClientFactory
) -> None:
    dead = f"http://127.0.0.1:{free_port()}/.well-known/openid-configuration"
    oidc = OIDCSettings(metadata_url=dead, client_id="llm-duel", client_secret=None)
    client = client_for(create_app(replace(settings, oidc=oidc)))

    response = await client.get("/login")

    assert response.status_code == 502
    assert "could not talk to the sign-in provider" in response.text


async def test_healthz_says_503_when_the_table_goes_away(
    settings: Settings, client_for: ClientFactory
) -> None:
    gone = DynamoDBStore(
        "deleted-table", region_name=settings.region_name, endpoint_url=settings.endpoint_url
    )
    client = client_for(create_app(settings, store=gone))

    response = await client.get("/healthz")

    assert response.status_code == 503
    assert response.json()["status"] == "error"
    assert "create-table" in response.json()["error"]


async def test_sign_in_not_configured_gives_a_clear_page(
    settings: Settings, client_for: ClientFactory
) -> None:
    client = client_for(create_app(replace(settings, oidc=None)))

    for path in ("/login", "/auth/callback?code=a&state=b"):
        response = await client.get(path)
        assert response.status_code == 503
        assert "OIDC_METADATA_URL" in response.text
