"""The sign-in flow, step by step, as a browser would drive it (without JavaScript)."""

from __future__ import annotations

from urllib.parse import urlsplit

import httpx


def path_of(url: str) -> str:
    """The path and query of an absolute URL, to replay it against an app client."""
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


async def start_login(app: httpx.AsyncClient) -> str:
    """GET /login; return the provider's authorization URL it redirects to."""
    response = await app.get("/login")
    assert response.status_code == 302, response.text
    return response.headers["location"]


async def authorize(provider: httpx.AsyncClient, authorize_url: str, sub: str) -> str:
    """Submit the provider's sign-in form as `sub`; return the app's callback URL."""
    response = await provider.post(authorize_url, data={"sub": sub})
    assert response.status_code == 302, response.text
    return response.headers["location"]


async def sign_in(app: httpx.AsyncClient, provider: httpx.AsyncClient, sub: str) -> httpx.Response:
    """The whole flow: login, the provider's form, the callback. Return the callback's response."""
    callback_url = await authorize(provider, await start_login(app), sub)
    return await app.get(path_of(callback_url))


async def vote(app: httpx.AsyncClient, duel_id: str, choice: str) -> httpx.Response:
    """POST a vote the way the page's form does."""
    return await app.post("/vote", data={"duel_id": duel_id, "choice": choice})
