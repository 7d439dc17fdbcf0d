"""How the tests drive the app: as a browser does (the sign-in flow step by step,
without JavaScript, over ASGI or over HTTP), and as API Gateway does (Lambda events)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import httpx

# The `client_for` fixture: an https client for an ASGI app (Secure cookies come back).
ClientFactory = Callable[[Any], httpx.AsyncClient]


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


async def callback_for(app: httpx.AsyncClient, provider: httpx.AsyncClient, sub: str) -> str:
    """Login and the provider's form as `sub`: the app's callback URL, not yet visited."""
    return await authorize(provider, await start_login(app), sub)


async def sign_in(app: httpx.AsyncClient, provider: httpx.AsyncClient, sub: str) -> httpx.Response:
    """The whole flow: login, the provider's form, the callback. Return the callback's response."""
    return await app.get(path_of(await callback_for(app, provider, sub)))


async def vote(app: httpx.AsyncClient, duel_id: str, choice: str) -> httpx.Response:
    """POST a vote the way the page's form does."""
    return await app.post("/vote", data={"duel_id": duel_id, "choice": choice})


def sign_in_over_http(app: httpx.Client, sub: str) -> None:
    """The whole flow against an app served over HTTP (uvicorn), the provider likewise."""
    login = app.get("/login")
    assert login.status_code == 302, login.text
    consent = httpx.post(login.headers["location"], data={"sub": sub}, timeout=10)
    assert consent.status_code == 302
    assert app.get(path_of(consent.headers["location"])).status_code == 303


# --- API Gateway's events, for the Lambda handler -----------------------------------------

HOST = "abc123.execute-api.us-east-1.amazonaws.com"
Event = dict[str, Any]


def v2_event(
    method: str, path: str, *, query: str = "", cookies: list[str] | None = None, body: str = ""
) -> Event:
    """An HTTP API (payload format 2.0) event: cookies come in their own array."""
    event: Event = {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": query,
        "headers": {"host": HOST, "x-forwarded-proto": "https", "x-forwarded-port": "443"},
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "abc123",
            "domainName": HOST,
            "http": {"method": method, "path": path, "protocol": "HTTP/1.1"}
            | {"sourceIp": "203.0.113.7", "userAgent": "pytest"},
            "requestId": "request-id",
            "routeKey": "$default",
            "stage": "$default",
        },
        "body": body,
        "isBase64Encoded": False,
    }
    if cookies:
        event["cookies"] = cookies
    if body:
        event["headers"]["content-type"] = "application/x-www-form-urlencoded"
    return event


def v1_event(
    method: str, path: str, *, query: str = "", cookies: list[str] | None = None, body: str = ""
) -> Event:
    """A REST API (payload format 1.0) event: cookies come in the Cookie header."""
    params = dict(pair.split("=", 1) for pair in query.split("&")) if query else None
    headers = {"Host": HOST, "X-Forwarded-Proto": "https", "X-Forwarded-Port": "443"}
    if cookies:
        headers["Cookie"] = "; ".join(cookies)
    if body:
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    return {
        "resource": "/{proxy+}",
        "path": path,
        "httpMethod": method,
        "headers": headers,
        "multiValueHeaders": {name: [value] for name, value in headers.items()},
        "queryStringParameters": params,
        "multiValueQueryStringParameters": {k: [v] for k, v in params.items()} if params else None,
        "pathParameters": {"proxy": path.lstrip("/")},
        "requestContext": {
            "resourcePath": "/{proxy+}",
            "httpMethod": method,
            "path": f"/Prod{path}",
            "stage": "Prod",
            "identity": {"sourceIp": "203.0.113.7"},
        },
        "body": body or None,
        "isBase64Encoded": False,
    }
