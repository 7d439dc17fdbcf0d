"""The store's region: `region_name=`, else `AWS_DEFAULT_REGION` (botocore's), else
`AWS_REGION` (Lambda's, which botocore ignores). Without any, the store fails at
its first use with a configuration error naming the fix, and the middleware
answers 500 with that message logged, never a traceback."""

from __future__ import annotations

import logging

import pytest
from starlette.testclient import TestClient

from devservers.dynamodb import LocalServer
from dynamodb_sessions import DynamoDBStore, SessionConfigError
from tests.sessions_app import make_app
from tests.support import sessions_table

both_paths = pytest.mark.parametrize("lean", [True, False], ids=["lean", "boto3"])


@pytest.fixture
def no_region(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    monkeypatch.delenv("AWS_REGION", raising=False)


@pytest.mark.anyio
@both_paths
async def test_aws_region_alone_is_enough(
    moto_server: LocalServer, no_region: None, lean: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    store = DynamoDBStore(
        sessions_table(moto_server), endpoint_url=moto_server.endpoint_url, lean=lean
    )
    await store.ping()
    assert store.client.meta.region_name == "us-east-1"


def test_region_name_and_aws_default_region_come_before_aws_region(
    no_region: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    assert DynamoDBStore("t", region_name="us-east-2").client.meta.region_name == "us-east-2"
    monkeypatch.setenv("AWS_DEFAULT_REGION", "ap-south-1")
    assert DynamoDBStore("t").client.meta.region_name == "ap-south-1"


@pytest.mark.anyio
@both_paths
async def test_a_missing_region_is_a_configuration_error_naming_the_fix(
    moto_server: LocalServer, no_region: None, lean: bool
) -> None:
    store = DynamoDBStore("t", endpoint_url=moto_server.endpoint_url, lean=lean)
    for _ in range(2):  # the same clear error every time, not a 503 "unreachable"
        with pytest.raises(SessionConfigError, match=r"region_name=.*AWS_REGION"):
            await store.ping()


def test_a_missing_region_answers_500_with_the_fix_logged(
    moto_server: LocalServer, no_region: None, caplog: pytest.LogCaptureFixture
) -> None:
    store = DynamoDBStore("t", endpoint_url=moto_server.endpoint_url)
    with (
        caplog.at_level(logging.ERROR, logger="dynamodb_sessions"),
        TestClient(make_app(store), base_url="https://t") as client,
    ):
        response = client.post("/set", json={"a": 1})
        assert client.get("/none").status_code == 200  # requests without a session work
    assert response.status_code == 500
    assert response.text == "Internal Server Error\n"
    assert "retry-after" not in response.headers
    assert "AWS_REGION" in caplog.text
    assert "Traceback" not in caplog.text
