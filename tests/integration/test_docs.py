"""The code samples in the README run, against a real local DynamoDB."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from devservers.dynamodb import LocalServer
from tests.support import sessions_table

README = Path(__file__).resolve().parents[2] / "README.md"


def python_blocks(text: str) -> list[str]:
    return re.findall(r"```python\n(.*?)```", text, flags=re.DOTALL)


def test_readme_quick_start_serves_a_session(
    moto_server: LocalServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    quick_start = python_blocks(README.read_text())[0]
    assert sum(1 for line in quick_start.splitlines() if line.strip()) <= 15
    monkeypatch.setenv("SESSION_TABLE_NAME", sessions_table(moto_server))
    monkeypatch.setenv("SESSION_SECRET_KEY", "readme-secret")
    monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", moto_server.endpoint_url)
    namespace: dict[str, object] = {}
    exec(compile(quick_start, str(README), "exec"), namespace)  # noqa: S102 - our own README
    with TestClient(namespace["app"], base_url="https://testserver") as client:  # type: ignore[arg-type]
        assert client.get("/visits").json() == {"visits": 1}
        assert client.get("/visits").json() == {"visits": 2}


def test_readme_events_sample_audits_a_sign_in(caplog: pytest.LogCaptureFixture) -> None:
    from dynamodb_sessions import MemoryStore
    from tests.sessions_app import make_app

    sample = next(block for block in python_blocks(README.read_text()) if "def audit" in block)
    namespace: dict[str, object] = {}
    exec(compile(sample, str(README), "exec"), namespace)  # noqa: S102 - our own README
    app = make_app(MemoryStore(), on_event=namespace["audit"])
    with caplog.at_level("INFO", logger="audit"), TestClient(app, base_url="https://t") as client:
        client.post("/set", json={"a": 1})
        client.post("/login")
    assert re.search(r"session [0-9a-f]{12} rotated \(ok\)", caplog.text)


def test_readme_lazy_loading_sample_serves_a_lazy_session() -> None:
    from fastapi import FastAPI
    from starlette.requests import Request
    from starlette.responses import Response

    from dynamodb_sessions import MemoryStore

    sample = next(block for block in python_blocks(README.read_text()) if "lazy=True" in block)
    store = MemoryStore()
    namespace: dict[str, object] = {"app": FastAPI(), "store": store, "secret": "test-secret"}
    namespace |= {"Request": Request, "Response": Response}
    exec(compile(sample, str(README), "exec"), namespace)  # noqa: S102 - our own README
    with TestClient(namespace["app"], base_url="https://t") as client:  # type: ignore[arg-type]
        assert client.get("/cart").json() == []
    assert len(store) == 0  # read, nothing stored


def test_readme_encryption_sample_builds_an_encrypting_store(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import os

    from dynamodb_sessions import DynamoDBStore
    from tests.support import OTHER_KEY, TEST_KEY

    sample = next(b for b in python_blocks(README.read_text()) if "encryption_keys=" in b)
    monkeypatch.setenv("SESSION_ENCRYPTION_KEYS", f"{OTHER_KEY},{TEST_KEY}")
    namespace: dict[str, object] = {"os": os, "DynamoDBStore": DynamoDBStore}
    exec(compile(sample, str(README), "exec"), namespace)  # noqa: S102 - our own README
    store = namespace["store"]
    assert isinstance(store, DynamoDBStore)
    assert store.cipher is not None
    assert store.cipher.key_id == "test2"
