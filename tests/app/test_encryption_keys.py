"""The reference app's encryption keys: from SESSION_ENCRYPTION_KEYS, or read once per
container from a Secrets Manager secret (moto's server answers for Secrets Manager)."""

from __future__ import annotations

from collections.abc import Iterator

import boto3
import pytest
from starlette.testclient import TestClient

from app.config import ConfigError, Settings
from app.services.session_store import build_dynamodb_store, encryption_keys_from_secret
from devservers.dynamodb import LocalServer
from tests.sessions_app import make_app
from tests.support import OTHER_KEY, REGION, TEST_KEY, session_cookie, sessions_table, stored_item


@pytest.fixture
def secret(moto_server: LocalServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setenv("AWS_ENDPOINT_URL_SECRETS_MANAGER", moto_server.endpoint_url)
    monkeypatch.setenv("AWS_REGION", REGION)
    client = boto3.client("secretsmanager", region_name=REGION)
    arn = client.create_secret(Name="session-keys", SecretString=f"{OTHER_KEY},{TEST_KEY}")["ARN"]
    encryption_keys_from_secret.cache_clear()
    yield arn
    client.delete_secret(SecretId=arn, ForceDeleteWithoutRecovery=True)
    encryption_keys_from_secret.cache_clear()


def test_keys_come_from_the_secret_once_per_container(
    moto_server: LocalServer, secret: str
) -> None:
    settings = Settings.from_env(
        {
            "SESSION_SECRET_KEY": "k",
            "SESSION_TABLE_NAME": sessions_table(moto_server),
            "AWS_ENDPOINT_URL_DYNAMODB": moto_server.endpoint_url,
            "AWS_REGION": REGION,
            "SESSION_ENCRYPTION_KEYS_SECRET": secret,
        }
    )
    store = build_dynamodb_store(settings)
    build_dynamodb_store(settings)
    assert encryption_keys_from_secret.cache_info().misses == 1  # one GetSecretValue
    assert store.cipher is not None
    assert store.cipher.key_id == "test2"
    with TestClient(make_app(store), base_url="https://testserver") as client:
        cookie = session_cookie(client.post("/set", json={"email": "ann@example.com"}))
        assert client.get("/read").json() == {"email": "ann@example.com"}
    item = stored_item(store, cookie)
    assert item is not None
    assert "B" in item["data"]["M"]["email"]


def test_keys_and_a_secret_together_are_refused() -> None:
    env = {
        "SESSION_SECRET_KEY": "k",
        "SESSION_ENCRYPTION_KEYS": TEST_KEY,
        "SESSION_ENCRYPTION_KEYS_SECRET": "session-keys",
    }
    with pytest.raises(ConfigError, match="not both"):
        Settings.from_env(env)
