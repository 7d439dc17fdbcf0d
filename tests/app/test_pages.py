"""The app's pages for what is not a route (404), counts in words, and the app's own
tests written with `dynamodb_sessions.testing` (no DynamoDB, no sign-in flow)."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI

from app.config import Settings
from app.main import create_app
from app.pages import plural
from dynamodb_sessions import MemoryStore, StoredSession
from dynamodb_sessions.testing import AppSessions

from .servers import SECRET

ROOT = Path(__file__).resolve().parents[2]
BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
ANN = {"sub": "ann-sub", "email": "ann@example.com"}


class LoadCountingStore(MemoryStore):
    loads = 0

    async def load(self, key: str) -> StoredSession | None:
        self.loads += 1
        return await super().load(key)


@pytest.fixture
def store() -> LoadCountingStore:
    return LoadCountingStore()


@pytest.fixture
def app(store: MemoryStore) -> FastAPI:
    return create_app(Settings(secret_keys=[SECRET], use_dynamodb_sessions=True), store=store)


@pytest.fixture
def sessions(app: FastAPI, store: MemoryStore) -> Iterator[AppSessions]:
    # The store the app lists sessions in (app.state) is the one the helper seeds.
    with AppSessions(app, store=store) as sessions:
        yield sessions


@pytest.mark.parametrize("accept", [BROWSER, "*/*", ""])
def test_an_unknown_path_gets_the_html_404_page(
    accept: str, sessions: AppSessions, store: LoadCountingStore
) -> None:
    client = sessions.client({"user": ANN}, user_id=ANN["sub"])
    store.loads = 0
    response = client.get("/no/such/page", headers={"accept": accept} if accept else {})
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")
    assert '<h2 id="message-title">Page not found</h2>' in response.text
    assert "<code>/no/such/page</code>" in response.text
    assert 'href="https://testserver/"' in response.text  # a way back
    assert store.loads == 0  # a typo or a scanner costs no store call


def test_a_client_asking_for_json_gets_json(sessions: AppSessions) -> None:
    response = sessions.client().get("/nope", headers={"accept": "application/json"})
    assert response.status_code == 404
    assert response.json() == {"detail": "Not Found"}


def test_other_http_errors_stay_as_fastapi_answers_them(sessions: AppSessions) -> None:
    response = sessions.client().delete("/healthz", headers={"accept": BROWSER})
    assert response.status_code == 405
    assert response.json() == {"detail": "Method Not Allowed"}


def summary(page: str) -> str:
    match = re.search(r'<p id="session-summary">(.*?)</p>', page, flags=re.DOTALL)
    assert match, page
    return " ".join(re.sub(r"<[^>]+>", "", match.group(1)).split())


def test_the_account_page_reads_naturally_for_one_session(sessions: AppSessions) -> None:
    client = sessions.client({"user": ANN}, user_id=ANN["sub"])
    assert summary(client.get("/account").text) == "You have 1 active session: this one."


def test_the_account_page_reads_naturally_for_several_sessions(sessions: AppSessions) -> None:
    laptop = sessions.client({"user": ANN}, user_id=ANN["sub"])
    sessions.client({"user": ANN}, user_id=ANN["sub"])  # the phone
    assert summary(laptop.get("/account").text) == (
        "You have 2 active sessions, this one included "
        "(one per browser or device you signed in with)."
    )


def test_signing_out_ends_the_seeded_session(sessions: AppSessions) -> None:
    client = sessions.client({"user": ANN}, user_id=ANN["sub"])
    assert "ann@example.com" in client.get("/").text
    response = client.post("/logout", follow_redirects=False)
    assert response.headers["location"] == "https://testserver/"  # no provider configured
    assert sessions.data(client) is None


@pytest.mark.parametrize(
    ("count", "words"), [(0, "0 sessions"), (1, "1 session"), (2, "2 sessions")]
)
def test_plural(count: int, words: str) -> None:
    assert plural(count, "session") == words


def test_the_demo_logs_folder_is_in_the_checkout_and_ignored() -> None:
    script = (ROOT / "scripts" / "demo.sh").read_text()
    assert "\nlogs=.demo-logs " in script  # relative to the checkout: the script cd's there
    ignored = subprocess.run(
        ["git", "check-ignore", "-q", ".demo-logs/app.log"], cwd=ROOT, check=False
    )
    assert ignored.returncode == 0
