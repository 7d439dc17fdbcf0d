"""The `dynamodb-sessions` command, through its real entry point, on real servers."""

from __future__ import annotations

import pytest

from devservers.dynamodb import LocalServer, free_port
from tests.support import make_client, one_line_error, run_cli, unique_name


def test_help_shows_an_example() -> None:
    result = run_cli("create-table", "--help")
    assert result.returncode == 0
    assert "example:" in result.stdout


def test_create_table_is_idempotent_with_ttl_on_moto(moto_server: LocalServer) -> None:
    name = unique_name("cli")
    args = ("create-table", "--table-name", name, "--endpoint-url", moto_server.endpoint_url)
    first = run_cli(*args, "--region", "us-east-1")
    assert first.returncode == 0, first.stderr
    assert f"creating table {name}" in first.stdout
    assert "TTL enabled on `ttl`" in first.stdout
    second = run_cli(*args, "--region", "us-east-1")
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
    name = unique_name("cli")
    result = run_cli(
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
    name = unique_name("env")
    monkeypatch.setenv("SESSION_TABLE_NAME", name)
    monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", moto_server.endpoint_url)
    result = run_cli("create-table")
    assert result.returncode == 0, result.stderr
    assert name in make_client(moto_server.endpoint_url).list_tables()["TableNames"]


def test_unreachable_endpoint_fails_with_a_one_line_reason() -> None:
    result = run_cli(
        "create-table",
        "--table-name",
        "t-down",
        "--region",
        "us-east-1",
        "--endpoint-url",
        f"http://127.0.0.1:{free_port()}",
    )
    one_line_error(result, "create-table")
