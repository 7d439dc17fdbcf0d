"""The `dynamodb-sessions` command, through its real entry point, on real servers."""

from __future__ import annotations

import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from devservers.dynamodb import LocalServer, free_port
from tests.conftest import make_client

CLI = str(Path(sys.executable).with_name("dynamodb-sessions"))


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([CLI, *args], capture_output=True, text=True, timeout=120)


def test_help_shows_an_example() -> None:
    result = run("create-table", "--help")
    assert result.returncode == 0
    assert "example:" in result.stdout


def test_create_table_is_idempotent_with_ttl_on_moto(moto_server: LocalServer) -> None:
    name = f"cli-{uuid.uuid4().hex[:8]}"
    args = ("create-table", "--table-name", name, "--endpoint-url", moto_server.endpoint_url)
    first = run(*args, "--region", "us-east-1")
    assert first.returncode == 0, first.stderr
    assert f"creating table {name}" in first.stdout
    assert "TTL enabled on `ttl`" in first.stdout
    second = run(*args, "--region", "us-east-1")
    assert second.returncode == 0, second.stderr
    assert f"table {name} exists already" in second.stdout
    assert "TTL on `ttl` is ENABLED" in second.stdout

    client = make_client(moto_server.endpoint_url)
    table = client.describe_table(TableName=name)["Table"]
    assert table["KeySchema"] == [{"AttributeName": "session_id", "KeyType": "HASH"}]
    assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    assert table["TableStatus"] == "ACTIVE"
    ttl = client.describe_time_to_live(TableName=name)["TimeToLiveDescription"]
    assert ttl == {"TimeToLiveStatus": "ENABLED", "AttributeName": "ttl"}


def test_create_table_on_dynalite_warns_about_its_missing_ttl_api(
    dynalite_server: LocalServer,
) -> None:
    name = f"cli-{uuid.uuid4().hex[:8]}"
    result = run(
        "create-table",
        "--table-name",
        name,
        "--endpoint-url",
        dynalite_server.endpoint_url,
        "--region",
        "us-east-1",
    )
    assert result.returncode == 0, result.stderr
    assert "waiting: table" in result.stdout  # dynalite keeps new tables CREATING a while
    assert "no TTL API" in result.stdout


def test_table_name_comes_from_the_environment(
    moto_server: LocalServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    name = f"env-{uuid.uuid4().hex[:8]}"
    monkeypatch.setenv("SESSION_TABLE_NAME", name)
    monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", moto_server.endpoint_url)
    result = run("create-table")
    assert result.returncode == 0, result.stderr
    assert name in make_client(moto_server.endpoint_url).list_tables()["TableNames"]


def test_unreachable_endpoint_fails_with_a_one_line_reason() -> None:
    result = run(
        "create-table",
        "--table-name",
        "t-down",
        "--region",
        "us-east-1",
        "--endpoint-url",
        f"http://127.0.0.1:{free_port()}",
    )
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith("dynamodb-sessions create-table: error: ")
