"""The app as the demo runs it: uvicorn in its own process, plain http on 127.0.0.1.

One test restarts the app and finds the session still there (the table outlives
the process); the other drives a real headless Chromium through sign-in.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from devservers.dynamodb import LocalServer, free_port

from .flows import sign_in_over_http
from .servers import SECRET, running_app

CHROMIUM = Path(os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"))


@pytest.fixture
def app_env(issuer: str, moto_server: LocalServer, table: str) -> dict[str, str]:
    """What scripts/demo.sh gives the app."""
    return {
        "USE_DYNAMODB_SESSIONS": "true",
        "SESSION_TABLE_NAME": table,
        "SESSION_FALLBACK_TO_MEMORY": "false",
        "SESSION_HTTPS_ONLY": "false",  # plain http on loopback
        "SESSION_SECRET_KEY": SECRET,
        "AWS_ENDPOINT_URL_DYNAMODB": moto_server.endpoint_url,
        "AWS_REGION": "us-east-1",
        "OIDC_METADATA_URL": f"{issuer}/.well-known/openid-configuration",
        "OIDC_CLIENT_ID": "llm-duel",
        "OIDC_CLIENT_SECRET": "llm-duel-secret",
        "OIDC_PROVIDER_NAME": "local test provider",
    }


def test_session_survives_an_app_restart(app_env: dict[str, str]) -> None:
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    with running_app(app_env, port=port), httpx.Client(base_url=base_url, timeout=10) as app:
        sign_in_over_http(app, "restart@example.com")
        assert app.post("/vote", data={"duel_id": "name-a-cat", "choice": "a"}).is_redirect
        cookies = app.cookies

    with (
        running_app(app_env, port=port),
        httpx.Client(base_url=base_url, cookies=cookies, timeout=10) as app,
    ):
        page = app.get("/").text
    assert "restart@example.com" in page
    assert "you chose <strong>A</strong>" in page


@pytest.fixture
def chromium_path() -> Path:
    if not CHROMIUM.exists():
        pytest.fail(
            f"no Chromium at {CHROMIUM}: install Debian's with "
            "`apt-get install -y chromium` (scripts/setup.sh does), or set CHROMIUM_PATH"
        )
    return CHROMIUM


@pytest.fixture
def chromium(chromium_path: Path) -> Iterator[Any]:
    """A headless Chromium (playwright's sync Browser), closed afterwards."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(chromium_path), headless=True)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def base_url(app_env: dict[str, str]) -> Iterator[str]:
    with running_app(app_env) as url:
        yield url


@pytest.mark.browser
def test_browser_signs_in_votes_twice_and_signs_out(chromium: Any, base_url: str) -> None:
    from playwright.sync_api import expect

    page = chromium.new_page()
    _sign_in(page, base_url, "browser@example.com")

    page.click("#vote-a")
    expect(page.locator("li.vote")).to_have_count(1)
    page.click("#vote-b")
    expect(page.locator("li.vote")).to_have_count(2)
    page.reload()
    expect(page.locator("li.vote")).to_have_count(2)
    expect(page.locator("li.vote").first).to_contain_text("you chose B")
    expect(page.locator("li.vote").last).to_contain_text("you chose A")

    _sign_out(page, base_url, "#sign-out")
    page.reload()
    expect(page.locator("#signed-out")).to_be_visible()
    expect(page.locator("#sign-in")).to_be_visible()


@pytest.mark.browser
def test_browser_signs_out_everywhere(chromium: Any, base_url: str) -> None:
    """Two browser profiles (two cookie jars) as one user; the button in one ends both."""
    from playwright.sync_api import expect

    laptop, phone, other = (chromium.new_context().new_page() for _ in range(3))
    for page, sub in (
        (laptop, "everywhere@example.com"),
        (phone, "everywhere@example.com"),
        (other, "other@example.com"),
    ):
        _sign_in(page, base_url, sub)

    laptop.click("#account-link")
    expect(laptop.locator("#session-count")).to_have_text("2")
    _sign_out(laptop, base_url, "#sign-out-everywhere")

    phone.reload()
    expect(phone.locator("#signed-out")).to_be_visible()
    other.reload()
    expect(other.locator("#signed-in-as")).to_have_text("other@example.com")


IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1"
)
EDGE = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0"
)


@pytest.mark.browser
def test_browser_lists_devices_ends_one_then_all_the_others(chromium: Any, base_url: str) -> None:
    """Three browser profiles signed in as one user: the account page lists three
    devices, ends the phone's session, then every session but its own."""
    from playwright.sync_api import expect

    laptop, phone, desktop = (
        chromium.new_context(**agent).new_page()
        for agent in ({}, {"user_agent": IPHONE}, {"user_agent": EDGE})
    )
    for page in (laptop, phone, desktop):
        _sign_in(page, base_url, "devices@example.com")

    laptop.click("#account-link")
    devices = laptop.locator("tr.device")
    expect(devices).to_have_count(3)
    expect(laptop.locator("tr.device.current")).to_have_count(1)
    expect(laptop.locator("tr.device.current .this-device")).to_have_text("(this device)")
    expect(laptop.locator("tr.device.current .device-label")).to_contain_text("Chrome on Linux")
    expect(laptop.locator("#session-count")).to_have_text("3")

    laptop.locator("tr.device", has_text="Safari on iOS").locator("button").click()
    laptop.wait_for_url(base_url + "/account")
    expect(devices).to_have_count(2)
    expect(laptop.locator("tr.device", has_text="Safari on iOS")).to_have_count(0)
    phone.reload()
    expect(phone.locator("#signed-out")).to_be_visible()
    desktop.reload()
    expect(desktop.locator("#signed-in-as")).to_have_text("devices@example.com")

    laptop.click("#sign-out-others")
    laptop.wait_for_url(base_url + "/account")
    expect(devices).to_have_count(1)
    expect(laptop.locator("tr.device.current")).to_have_count(1)
    expect(laptop.locator("#sign-out-others")).to_have_count(0)
    desktop.reload()
    expect(desktop.locator("#signed-out")).to_be_visible()
    laptop.goto(base_url + "/")
    expect(laptop.locator("#signed-in-as")).to_have_text("devices@example.com")


def _sign_in(page: Any, base_url: str, sub: str) -> None:
    """Sign in as `sub` through the pages, in a Chromium page."""
    from playwright.sync_api import expect

    # The provider's pages link a stylesheet from a CDN; stay offline.
    page.route("**/*", lambda route: _only_loopback(route))
    page.goto(base_url + "/")
    page.click("#sign-in")
    page.fill("input[name=sub]", sub)
    page.click("button:text-is('Authorize')")
    page.wait_for_url(base_url + "/")
    expect(page.locator("#signed-in-as")).to_have_text(sub)


def _sign_out(page: Any, base_url: str, button: str) -> None:
    """Click `button`: through the provider's logout and straight back home, signed
    out, never stopping on a page of the provider's."""
    from playwright.sync_api import expect

    visited: list[str] = []
    page.on("framenavigated", lambda frame: visited.append(frame.url))
    page.click(button)
    page.wait_for_url(base_url + "/")
    assert not [url for url in visited if not url.startswith(base_url)], visited
    expect(page.locator("#signed-out")).to_be_visible()


def _only_loopback(route: object) -> None:
    url: str = route.request.url  # type: ignore[attr-defined]
    if urlsplit(url).hostname == "127.0.0.1":
        route.continue_()  # type: ignore[attr-defined]
    else:
        route.abort()  # type: ignore[attr-defined]
