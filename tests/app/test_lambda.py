"""The Lambda handler with API Gateway HTTP API (v2) and REST API (v1) event payloads."""

from __future__ import annotations

import asyncio
import importlib
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest
from starlette.requests import Request
from starlette.responses import PlainTextResponse

from app.config import Settings
from app.services import session_store
from dynamodb_sessions import DynamoDBStore, load_session
from tests.support import emf_documents

from .flows import HOST, Event, v1_event, v2_event
from .servers import SECRET

Handler = Any  # mangum.Mangum, untyped


def set_cookies(result: Event) -> list[str]:
    """Every Set-Cookie of a handler result, wherever the payload format puts them."""
    if "cookies" in result:
        return list(result["cookies"])
    multi = result.get("multiValueHeaders", {}).get("set-cookie", [])
    single = result.get("headers", {}).get("set-cookie")
    return list(multi) + ([single] if single else [])


class Browser:
    """Keeps cookies between invocations, as a browser in front of API Gateway would."""

    def __init__(self, handler: Handler, make_event: Any) -> None:
        self.handler = handler
        self.make_event = make_event
        self.jar: dict[str, str] = {"analytics": "xyz", "theme": "light"}

    def __call__(self, method: str, path: str, *, query: str = "", body: str = "") -> Event:
        cookies = [f"{name}={value}" for name, value in self.jar.items()]
        event = self.make_event(method, path, query=query, cookies=cookies, body=body)
        result: Event = self.handler(event, None)
        for header in set_cookies(result):
            name, _, rest = header.partition("=")
            value = rest.split(";")[0]
            if "max-age=0" in header.lower() or not value or value == '""':
                self.jar.pop(name, None)
            else:
                self.jar[name] = value
        return result


def location(result: Event) -> str:
    location: str = result["headers"]["location"]
    return location


@pytest.fixture
def lambda_env(monkeypatch: pytest.MonkeyPatch, settings: Settings) -> None:
    """The variables template.yaml gives the function, pointed at moto and the provider."""
    assert settings.oidc is not None
    assert settings.endpoint_url is not None
    variables = {
        "USE_DYNAMODB_SESSIONS": "true",
        "SESSION_TABLE_NAME": settings.table_name,
        "SESSION_FALLBACK_TO_MEMORY": "false",
        "SESSION_SECRET_KEY": SECRET,
        "AWS_ENDPOINT_URL_DYNAMODB": settings.endpoint_url,
        "AWS_REGION": "us-east-1",
        "OIDC_METADATA_URL": settings.oidc.metadata_url,
        "OIDC_CLIENT_ID": settings.oidc.client_id,
        "OIDC_CLIENT_SECRET": "llm-duel-secret",
    }
    for name, value in variables.items():
        monkeypatch.setenv(name, value)


@pytest.fixture
def built_stores(monkeypatch: pytest.MonkeyPatch) -> list[DynamoDBStore]:
    """Every DynamoDBStore the app builds, in order."""
    built: list[DynamoDBStore] = []
    original = session_store.build_dynamodb_store

    def counting(settings: Settings) -> DynamoDBStore:
        built.append(original(settings))
        return built[-1]

    monkeypatch.setattr(session_store, "build_dynamodb_store", counting)
    return built


@contextmanager
def cold_start() -> Iterator[Handler]:
    """`app.lambda_handler.handler`, imported afresh: a new container's cold start."""
    sys.modules.pop("app.lambda_handler", None)
    loop = asyncio.new_event_loop()  # Mangum runs each invocation on the current loop
    asyncio.set_event_loop(loop)
    try:
        yield importlib.import_module("app.lambda_handler").handler
    finally:
        sys.modules.pop("app.lambda_handler", None)
        asyncio.set_event_loop(None)
        loop.close()


@pytest.fixture
def handler(lambda_env: None, built_stores: list[DynamoDBStore]) -> Iterator[Handler]:
    with cold_start() as handler:
        yield handler


@pytest.fixture
def provider_browser() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=10) as client:
        yield client


def sign_in(browser: Browser, provider: httpx.Client, sub: str) -> Event:
    login = browser("GET", "/login")
    assert login["statusCode"] == 302
    consent = provider.post(location(login), data={"sub": sub})
    assert consent.status_code == 302
    callback = urlsplit(consent.headers["location"])
    return browser("GET", callback.path, query=callback.query)


@pytest.mark.parametrize("make_event", [v2_event, v1_event], ids=["http-api-v2", "rest-v1"])
def test_sign_in_and_vote_through_lambda(
    handler: Handler, make_event: Any, provider_browser: httpx.Client
) -> None:
    browser = Browser(handler, make_event)

    callback = sign_in(browser, provider_browser, "lambda@example.com")

    assert callback["statusCode"] == 303, callback["body"]
    assert "session" in browser.jar
    vote = browser("POST", "/vote", body=urlencode({"duel_id": "name-a-cat", "choice": "b"}))
    assert vote["statusCode"] == 303
    page = browser("GET", "/")
    assert "lambda@example.com" in page["body"]
    assert "you chose <strong>B</strong>" in page["body"]
    # The unrelated cookies rode along in the same array/header and are untouched.
    assert browser.jar["analytics"] == "xyz"


def test_v2_cookies_array_and_several_set_cookies(handler: Handler) -> None:
    async def two_cookies(request: Request) -> PlainTextResponse:
        session = await load_session(request)  # the app's sessions are lazy
        session["seen"] = request.cookies.get("analytics")
        response = PlainTextResponse("ok")
        response.set_cookie("theme", "dark")
        response.set_cookie("banner", "closed")
        return response

    handler.app.add_route("/two-cookies", two_cookies)

    result = handler(v2_event("GET", "/two-cookies", cookies=["analytics=xyz", "x=1"]), None)

    names = sorted(cookie.split("=")[0] for cookie in result["cookies"])
    assert names == ["banner", "session", "theme"]
    session_cookie = next(c for c in result["cookies"] if c.startswith("session="))
    assert {"httponly", "secure", "samesite=lax", "path=/"} <= {
        part.strip().lower() for part in session_cookie.split(";")
    }
    assert "set-cookie" not in result["headers"]


def test_v1_several_set_cookies_in_multi_value_headers(handler: Handler) -> None:
    async def two_cookies(request: Request) -> PlainTextResponse:
        session = await load_session(request)  # the app's sessions are lazy
        session["seen"] = True
        response = PlainTextResponse("ok")
        response.set_cookie("theme", "dark")
        return response

    handler.app.add_route("/two-cookies", two_cookies)

    result = handler(v1_event("GET", "/two-cookies", cookies=["analytics=xyz"]), None)

    names = sorted(cookie.split("=")[0] for cookie in result["multiValueHeaders"]["set-cookie"])
    assert names == ["session", "theme"]


def test_store_and_client_are_built_once_per_container(
    handler: Handler, built_stores: list[DynamoDBStore]
) -> None:
    store = handler.app.state.session_store
    client = store.client

    for _ in range(5):
        assert handler(v2_event("GET", "/healthz"), None)["statusCode"] == 200

    assert built_stores == [store]
    assert store.client is client


def test_public_base_url_puts_the_stage_in_redirects(
    handler: Handler, monkeypatch: pytest.MonkeyPatch
) -> None:
    del handler  # only its environment is needed: build a second container
    monkeypatch.setenv("PUBLIC_BASE_URL", f"https://{HOST}/Prod")
    sys.modules.pop("app.lambda_handler", None)
    session_store.reset_session_store_instance()
    staged = importlib.import_module("app.lambda_handler").handler

    login = staged(v1_event("GET", "/login"), None)

    assert login["statusCode"] == 302
    redirect_uri = parse_qs(urlsplit(location(login)).query)["redirect_uri"]
    assert redirect_uri == [f"https://{HOST}/Prod/auth/callback"]


@pytest.mark.usefixtures("lambda_env")
def test_session_metrics_emf_prints_one_document_per_invocation(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SESSION_METRICS", "emf")
    with cold_start() as handler:
        browser = Browser(handler, v2_event)
        capsys.readouterr()  # the start-up logs

        for _ in range(3):
            assert browser("GET", "/login")["statusCode"] == 302  # keeps its state in the session
        assert handler(v2_event("GET", "/healthz"), None)["statusCode"] == 200  # no session

    documents = emf_documents(capsys.readouterr().out)  # each checked against the spec
    assert len(documents) == 3
    assert {d["Service"] for d in documents} == {"llm-duel"}
    assert [d["dynamodb_sessions.created"] for d in documents] == [1, 0, 0]
    assert [d["dynamodb_sessions.saved"] for d in documents] == [0, 1, 1]
    assert all(d["dynamodb_sessions.store_calls"] >= 1 for d in documents)
