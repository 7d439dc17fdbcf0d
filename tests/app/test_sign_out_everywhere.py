"""The account page's "Sign out everywhere", against the real OIDC provider and moto.

Sessions are bound to the OIDC `sub` at login; the table's user index finds them.
Each user gets an opaque `sub` of their own and a different email, so the tests
can tell which of the two the sessions are bound to.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import replace

import boto3
import httpx
import pytest

from app.config import Settings
from app.main import create_app
from app.services.session_store import reset_session_store_instance
from devservers.dynamodb import LocalServer
from dynamodb_sessions import MemoryStore

from .flows import ClientFactory, sign_in, vote
from .servers import create_table, store_for

pytestmark = pytest.mark.anyio

SIGN_OUT_EVERYWHERE = "/account/sign-out-everywhere"


async def _new_user(provider: httpx.AsyncClient, issuer: str, name: str) -> tuple[str, str]:
    """Register a user at the provider with an opaque sub and an email; return both."""
    sub = f"{uuid.uuid4()}"
    email = f"{name}-{sub[:8]}@example.com"
    response = await provider.put(f"{issuer}/users/{sub}", json={"email": email, "name": name})
    assert response.status_code == 204, response.text
    return sub, email


def _session_count(page: httpx.Response) -> int:
    match = re.search(r'id="session-count">(\d+)<', page.text)
    assert match, page.text
    return int(match.group(1))


def _signed_out(page: httpx.Response) -> bool:
    return page.status_code == 200 and 'id="signed-out"' in page.text


async def test_sign_out_everywhere_ends_every_session_of_the_user(
    settings: Settings, client_for: ClientFactory, provider: httpx.AsyncClient, issuer: str
) -> None:
    # Two instances on one table, as two Lambda containers: Ann's phone talks to the
    # second one, so the revocation has to go through the table, not process memory.
    first = create_app(settings)
    reset_session_store_instance()
    second = create_app(settings)
    ann_laptop, ann_phone, bob = client_for(first), client_for(second), client_for(first)
    ann, ann_email = await _new_user(provider, issuer, "ann")
    bob_sub, bob_email = await _new_user(provider, issuer, "bob")
    for client, sub in ((ann_laptop, ann), (ann_phone, ann), (bob, bob_sub)):
        assert (await sign_in(client, provider, sub)).status_code == 303
    assert ann_laptop.cookies["session"] != ann_phone.cookies["session"]
    store = store_for(settings)
    # Bound to the opaque sub, not to the email.
    assert len(await store.list_user_sessions(ann)) == 2
    assert await store.list_user_sessions(ann_email) == []
    assert ann_email in (await ann_phone.get("/")).text
    assert await vote(ann_phone, "haiku-dynamodb", "a")

    account = await ann_laptop.get("/account")
    assert account.status_code == 200
    assert _session_count(account) == 2
    assert f'id="account-sub">{ann}<' in account.text
    assert 'id="sign-out-everywhere"' in account.text
    assert f'action="https://testserver{SIGN_OUT_EVERYWHERE}"' in account.text
    laptop_cookie = ann_laptop.cookies["session"]

    response = await ann_laptop.post(SIGN_OUT_EVERYWHERE)

    # Then out through the provider, as /logout does.
    assert response.status_code == 303, response.text
    assert response.headers["location"].startswith(issuer)
    assert "id_token_hint=" in response.headers["location"]
    assert re.search(r"max-age=0|expires=thu, 01 jan 1970", response.headers["set-cookie"], re.I)
    assert await store.list_user_sessions(ann) == []
    # The phone's very next request has no session: signed out, votes gone, and a
    # vote is refused as from anyone signed out (not a 409 on a revoked session).
    assert _signed_out(await ann_phone.get("/"))
    assert (await vote(ann_phone, "haiku-dynamodb", "b")).status_code == 401
    assert _signed_out(await ann_laptop.get("/"))
    replay = client_for(second)
    assert _signed_out(await replay.get("/", headers={"cookie": f"session={laptop_cookie}"}))
    # Bob is untouched.
    assert bob_email in (await bob.get("/")).text
    assert _session_count(await bob.get("/account")) == 1
    assert len(await store.list_user_sessions(bob_sub)) == 1


async def test_the_account_page_counts_and_links(
    settings: Settings, client_for: ClientFactory, provider: httpx.AsyncClient, issuer: str
) -> None:
    client = client_for(create_app(settings))
    sub, email = await _new_user(provider, issuer, "cleo")
    await sign_in(client, provider, sub)

    home = await client.get("/")
    account = await client.get("/account")

    assert 'id="account-link"' in home.text
    assert 'href="https://testserver/account"' in home.text
    assert _session_count(account) == 1
    assert re.search(r"<strong[^>]*>1</strong>\s*active session:\s*this one\.", account.text)
    assert email in account.text


async def test_signed_out_users_get_a_sign_in_page(
    settings: Settings, client_for: ClientFactory
) -> None:
    client = client_for(create_app(settings))

    assert (await client.get("/account")).status_code == 401
    response = await client.post(SIGN_OUT_EVERYWHERE)
    assert response.status_code == 401
    assert "Please sign in" in response.text


async def test_cookie_sessions_hide_and_refuse_it(
    cookie_settings: Settings, client_for: ClientFactory, provider: httpx.AsyncClient, issuer: str
) -> None:
    client = client_for(create_app(cookie_settings))
    sub, email = await _new_user(provider, issuer, "dan")
    assert (await sign_in(client, provider, sub)).status_code == 303

    account = await client.get("/account")
    response = await client.post(SIGN_OUT_EVERYWHERE)

    assert account.status_code == 200
    assert email in account.text
    assert "sign-out-everywhere" not in account.text
    assert "session-count" not in account.text
    assert response.status_code == 404
    assert "needs server-side sessions" in response.text
    assert email in (await client.get("/")).text  # refused: nothing happened


async def test_memory_store_signs_out_everywhere_too(
    settings: Settings, client_for: ClientFactory, provider: httpx.AsyncClient, issuer: str
) -> None:
    """The in-memory fallback has the same calls (within its one process)."""
    app = create_app(replace(settings, fallback_to_memory=True), store=MemoryStore())
    one, two, other = client_for(app), client_for(app), client_for(app)
    ann, _ = await _new_user(provider, issuer, "ann")
    bob, bob_email = await _new_user(provider, issuer, "bob")
    for client, sub in ((one, ann), (two, ann), (other, bob)):
        await sign_in(client, provider, sub)
    assert _session_count(await one.get("/account")) == 2

    assert (await one.post(SIGN_OUT_EVERYWHERE)).status_code == 303

    assert _signed_out(await two.get("/"))
    assert bob_email in (await other.get("/")).text


async def test_sessions_from_before_binding_are_bound_on_their_next_request(
    settings: Settings, client_for: ClientFactory, provider: httpx.AsyncClient, issuer: str
) -> None:
    app = create_app(settings)
    old, new = client_for(app), client_for(app)
    ann, _ = await _new_user(provider, issuer, "ann")
    await sign_in(old, provider, ann)
    store = store_for(settings)
    # What an item written by a release without bind_user looks like: no user_id.
    dynamodb = boto3.client(
        "dynamodb", region_name=settings.region_name, endpoint_url=settings.endpoint_url
    )
    bound = dynamodb.scan(
        TableName=settings.table_name,
        FilterExpression="user_id = :u",
        ExpressionAttributeValues={":u": {"S": store.hash_user_id(ann)}},
    )["Items"]
    assert len(bound) == 1
    for item in bound:
        dynamodb.update_item(
            TableName=settings.table_name,
            Key={"session_id": item["session_id"]},
            UpdateExpression="REMOVE user_id",
        )
    assert await store.list_user_sessions(ann) == []

    await old.get("/")  # any page of the signed-in user binds it
    await sign_in(new, provider, ann)
    assert len(await store.list_user_sessions(ann)) == 2
    assert (await new.post(SIGN_OUT_EVERYWHERE)).status_code == 303

    assert _signed_out(await old.get("/"))


async def test_table_without_the_user_index(
    settings: Settings,
    moto_server: LocalServer,
    client_for: ClientFactory,
    provider: httpx.AsyncClient,
    issuer: str,
) -> None:
    """Sign-in still works; the count is unknown; the POST says it failed and changes nothing."""
    table = create_table(moto_server.endpoint_url, user_index=False)
    client = client_for(create_app(replace(settings, table_name=table)))
    sub, email = await _new_user(provider, issuer, "eve")
    assert (await sign_in(client, provider, sub)).status_code == 303
    assert email in (await client.get("/")).text

    account = await client.get("/account")
    response = await client.post(SIGN_OUT_EVERYWHERE)

    assert account.status_code == 200
    assert 'id="session-count-unknown"' in account.text
    assert response.status_code == 503
    assert "could not all be ended" in response.text
    assert email in (await client.get("/")).text  # still signed in: try again later


SIGN_OUT_DEVICE = "/account/devices/sign-out"
SIGN_OUT_OTHERS = "/account/devices/sign-out-others"


def _handles(page: httpx.Response) -> list[tuple[str, bool]]:
    """(handle, is this device) per device row of the account page."""
    rows = re.findall(r'<tr class="device( current)?" data-handle="([^"]+)"', page.text)
    return [(handle, bool(current)) for current, handle in rows]


async def test_the_account_page_lists_devices_and_ends_one_or_the_others(
    settings: Settings, client_for: ClientFactory, provider: httpx.AsyncClient, issuer: str
) -> None:
    app = create_app(settings)
    laptop, phone, tablet, bob = (client_for(app) for _ in range(4))
    ann, _ = await _new_user(provider, issuer, "ann")
    bob_sub, bob_email = await _new_user(provider, issuer, "bob")
    for client, sub in ((laptop, ann), (phone, ann), (tablet, ann), (bob, bob_sub)):
        await sign_in(client, provider, sub)
    listed = _handles(await laptop.get("/account"))
    assert len(listed) == 3
    (mine,) = [handle for handle, current in listed if current]
    (phones,) = [h for h, current in _handles(await phone.get("/account")) if current]
    bobs = _handles(await bob.get("/account"))[0][0]

    # Bob's handle, a forged one and an empty one end nothing.
    for handle in (bobs, "forged", ""):
        response = await laptop.post(SIGN_OUT_DEVICE, data={"handle": handle})
        assert response.status_code == 303
    assert len(_handles(await laptop.get("/account"))) == 3
    assert bob_email in (await bob.get("/")).text

    response = await laptop.post(SIGN_OUT_DEVICE, data={"handle": phones})
    assert response.status_code == 303
    assert response.headers["location"] == "https://testserver/account"
    assert _signed_out(await phone.get("/"))
    assert len(_handles(await laptop.get("/account"))) == 2

    assert (await laptop.post(SIGN_OUT_OTHERS)).status_code == 303
    assert _handles(await laptop.get("/account")) == [(mine, True)]
    assert _signed_out(await tablet.get("/"))
    assert bob_email in (await bob.get("/")).text


async def test_device_sign_out_is_refused_without_a_user_or_on_cookie_sessions(
    settings: Settings,
    cookie_settings: Settings,
    client_for: ClientFactory,
    provider: httpx.AsyncClient,
    issuer: str,
) -> None:
    anonymous = client_for(create_app(settings))
    assert (await anonymous.post(SIGN_OUT_OTHERS)).status_code == 401
    cookies = client_for(create_app(cookie_settings))
    sub, _ = await _new_user(provider, issuer, "dan")
    await sign_in(cookies, provider, sub)
    assert 'id="devices"' not in (await cookies.get("/account")).text
    response = await cookies.post(SIGN_OUT_DEVICE, data={"handle": "x"})
    assert response.status_code == 404
    assert "needs server-side sessions" in response.text
