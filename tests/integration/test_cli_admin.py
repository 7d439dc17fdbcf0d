"""The `dynamodb-sessions` admin commands through the real entry point, on moto and
dynalite: create-table --with-user-index, check, iam-policy, sweep, stats, and
sessions list/revoke. What dynalite lacks (the TTL API, adding an index to an
on-demand table) is probed, and the tests say what it does instead."""

from __future__ import annotations

import functools
import json
import re
import time
from pathlib import Path
from typing import Any

import anyio
import pytest
from types_boto3_dynamodb.client import DynamoDBClient

from devservers.dynamodb import LocalServer
from dynamodb_sessions import DynamoDBStore
from tests.support import (
    OTHER_KEY,
    TEST_KEY,
    USER_ID_KEY,
    cli_help,
    cli_on,
    handle_of,
    make_client,
    new_key,
    one_line_error,
    run_cli,
    unique_name,
)

COMMANDS = [
    "create-table",
    "check",
    "iam-policy",
    "sweep",
    "stats",
    "sessions",
    "generate-key",
    "rotate-keys",
]


@pytest.mark.parametrize("command", [*COMMANDS, "sessions list", "sessions revoke"])
def test_every_command_has_help_with_an_example(command: str) -> None:
    result = run_cli(*command.split(), "--help")
    assert result.returncode == 0
    assert "example:\n  dynamodb-sessions " in result.stdout
    if command not in ("sessions", "generate-key"):
        assert "--table-name" in result.stdout
        assert "--endpoint-url" in result.stdout
        assert "--region" in result.stdout


# --- create-table --with-user-index -------------------------------------------------------


def test_create_table_with_user_index_is_idempotent(server: LocalServer) -> None:
    name = unique_name("cli")
    first = cli_on(server, "create-table", "--table-name", name, "--with-user-index")
    assert first.returncode == 0, first.stderr
    assert f"creating table {name}" in first.stdout
    assert "index user_id-index is ACTIVE" in first.stdout
    second = cli_on(server, "create-table", "--table-name", name, "--with-user-index")
    assert second.returncode == 0, second.stderr
    assert "index user_id-index exists already" in second.stdout

    table = make_client(server.endpoint_url).describe_table(TableName=name)["Table"]
    (index,) = table["GlobalSecondaryIndexes"]
    assert index["IndexName"] == "user_id-index"
    assert index["KeySchema"] == [{"AttributeName": "user_id", "KeyType": "HASH"}]
    # The hashed ids, and what a device list shows: never session data.
    assert index["Projection"]["ProjectionType"] == "INCLUDE"
    assert sorted(index["Projection"]["NonKeyAttributes"]) == [
        "created",
        "device",
        "last_seen",
        "ttl",
    ]


def test_create_table_adds_the_index_to_an_existing_table(server: LocalServer) -> None:
    name = unique_name("cli")
    assert cli_on(server, "create-table", "--table-name", name).returncode == 0
    result = cli_on(server, "create-table", "--table-name", name, "--with-user-index")
    if server.kind == "dynalite":
        # dynalite can't add an index to an on-demand table; the reason says what to do.
        assert "create a new table with --with-user-index" in one_line_error(result, "create-table")
        return
    assert result.returncode == 0, result.stderr
    assert "adding index user_id-index" in result.stdout
    assert "index user_id-index is ACTIVE" in result.stdout
    assert cli_on(server, "check", "--table-name", name, "--with-user-index").returncode == 0


# --- check --------------------------------------------------------------------------------


def row(output: str, check: str) -> str:
    (line,) = [line for line in output.splitlines() if line.startswith(check + "  ")]
    return line


def test_check_passes_on_a_table_made_by_create_table(server: LocalServer) -> None:
    name = unique_name("cli")
    cli_on(server, "create-table", "--table-name", name, "--with-user-index")
    result = cli_on(server, "check", "--table-name", name, "--with-user-index")
    assert result.returncode == 0, result.stdout + result.stderr
    for check in ("table", "key schema", "billing mode", "user index"):
        assert " ok " in row(result.stdout, check)
    ttl = row(result.stdout, "TTL")
    if server.kind == "dynalite":
        assert "unknown (endpoint has no TTL API)" in ttl  # reported, and not a failure
    else:
        assert "ok" in ttl
        assert "ENABLED on `ttl`" in ttl
    assert f"table {name} is ready" in result.stdout


def table_not_made_by_the_cli(
    server: LocalServer, *, key: str = "session_id", **billing: Any
) -> str:
    """A table made with boto3 alone (no TTL, no index): partition key `key` (S), billed
    on demand unless `billing` says otherwise. Its name."""
    name = unique_name("cli")
    make_client(server.endpoint_url).create_table(
        TableName=name,
        KeySchema=[{"AttributeName": key, "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": key, "AttributeType": "S"}],
        **(billing or {"BillingMode": "PAY_PER_REQUEST"}),
    )
    return name


def test_check_fails_on_a_wrong_key_with_the_fix(server: LocalServer) -> None:
    name = table_not_made_by_the_cli(server, key="id")
    wait_active(make_client(server.endpoint_url), name)
    result = cli_on(server, "check", "--table-name", name)
    wrong = 1 if server.kind == "dynalite" else 2  # TTL is off as well, where it can be on
    checks = "1 check" if wrong == 1 else f"{wrong} checks"
    assert f": {checks} WRONG" in one_line_error(result, "check")
    line = row(result.stdout, "key schema")
    assert "WRONG" in line
    assert "id (S, HASH)" in line
    assert "create a new table (partition key session_id, type S" in line
    if server.kind == "moto":
        assert "moot: replace the table" in row(result.stdout, "TTL")
    # create-table refuses it rather than calling it "exists already".
    refused = cli_on(server, "create-table", "--table-name", name)
    assert "choose another --table-name" in one_line_error(refused, "create-table")


def test_check_fails_when_ttl_is_off(moto_server: LocalServer) -> None:
    name = table_not_made_by_the_cli(moto_server)
    result = cli_on(moto_server, "check", "--table-name", name)
    one_line_error(result, "check")
    line = row(result.stdout, "TTL")
    assert "WRONG" in line
    assert "DISABLED" in line
    assert f"run `dynamodb-sessions create-table --table-name {name}" in line
    # The suggested fix works, and check passes afterwards.
    assert cli_on(moto_server, "create-table", "--table-name", name).returncode == 0
    assert cli_on(moto_server, "check", "--table-name", name).returncode == 0


def test_check_fails_on_provisioned_billing_and_a_missing_index(moto_server: LocalServer) -> None:
    name = table_not_made_by_the_cli(
        moto_server, ProvisionedThroughput={"ReadCapacityUnits": 5, "WriteCapacityUnits": 5}
    )
    result = cli_on(moto_server, "check", "--table-name", name, "--with-user-index")
    assert ": 3 checks WRONG" in one_line_error(result, "check")
    assert "--billing-mode PAY_PER_REQUEST" in row(result.stdout, "billing mode")
    assert "--with-user-index`" in row(result.stdout, "user index")


def test_check_fails_on_a_single_wrong_check_in_the_singular(moto_server: LocalServer) -> None:
    name = unique_name("cli")
    cli_on(moto_server, "create-table", "--table-name", name)
    result = cli_on(moto_server, "check", "--table-name", name, "--with-user-index")
    assert one_line_error(result, "check").endswith(f"table {name}: 1 check WRONG\n")


# --- iam-policy ---------------------------------------------------------------------------


def test_runtime_policy_lists_only_what_the_library_calls() -> None:
    result = run_cli(
        "iam-policy", "--table-name", "Sessions", "--region", "eu-west-1",
        "--account-id", "123456789012", "--with-user-index",
    )  # fmt: skip
    assert result.returncode == 0
    assert result.stderr == ""  # no wildcard note: the ARNs are exact
    table_statement, index_statement = json.loads(result.stdout)["Statement"]
    arn = "arn:aws:dynamodb:eu-west-1:123456789012:table/Sessions"
    assert table_statement["Resource"] == arn
    assert sorted(table_statement["Action"]) == [
        "dynamodb:DeleteItem",
        "dynamodb:DescribeTable",
        "dynamodb:GetItem",
        "dynamodb:PutItem",
        "dynamodb:UpdateItem",
    ]
    assert index_statement["Resource"] == arn + "/index/user_id-index"
    assert index_statement["Action"] == ["dynamodb:Query"]


def test_runtime_policy_without_the_index_has_no_query() -> None:
    result = run_cli("iam-policy", "--table-name", "Sessions")  # region from AWS_DEFAULT_REGION
    assert result.returncode == 0
    (statement,) = json.loads(result.stdout)["Statement"]
    assert statement["Resource"] == "arn:aws:dynamodb:us-east-1:*:table/Sessions"
    assert "note: the ARNs use *" in result.stderr


def test_setup_policy_covers_the_cli_commands() -> None:
    result = run_cli("iam-policy", "--for", "setup", "--table-name", "Sessions", "--region", "x")
    statements = json.loads(result.stdout)["Statement"]
    actions = {action for statement in statements for action in statement["Action"]}
    assert {"dynamodb:CreateTable", "dynamodb:UpdateTimeToLive", "dynamodb:Scan"} <= actions
    assert "dynamodb:PutItem" not in actions  # the commands never write sessions


# --- sweep and stats ----------------------------------------------------------------------


def seed(client: DynamoDBClient, table: str, items: list[dict[str, Any]]) -> None:
    """Put items fast: BatchWriteItem, 25 at a time, retrying what is left unprocessed."""
    for start in range(0, len(items), 25):
        requests: Any = [{"PutRequest": {"Item": item}} for item in items[start : start + 25]]
        while requests:
            response = client.batch_write_item(RequestItems={table: requests})
            requests = response.get("UnprocessedItems", {}).get(table, [])


def session_item(ttl: int, *, size: int = 10, user: str | None = None) -> dict[str, Any]:
    item: dict[str, Any] = {
        "session_id": {"S": new_key()},
        "data": {"M": {"pad": {"S": "x" * size}}},
        "ttl": {"N": str(ttl)},
        "created": {"N": str(ttl - 60)},
        "ver": {"N": "1"},
    }
    if user:
        item["user_id"] = {"S": user}
    return item


def table_keys(client: DynamoDBClient, table: str) -> set[str]:
    keys: set[str] = set()
    for page in client.get_paginator("scan").paginate(TableName=table):
        keys |= {item["session_id"]["S"] for item in page["Items"]}
    return keys


@pytest.fixture
def seeded(server: LocalServer) -> tuple[str, set[str], set[str]]:
    """A fresh table with 500 expired and 500 live sessions: (name, expired, live)."""
    name = unique_name("cli")
    assert cli_on(server, "create-table", "--table-name", name).returncode == 0
    now = int(time.time())
    expired = [session_item(now - 1 - i % 3600) for i in range(500)]
    live = [session_item(now + 3600 + i) for i in range(500)]
    seed(make_client(server.endpoint_url), name, expired + live)
    return name, keys_of(expired), keys_of(live)


def keys_of(items: list[dict[str, Any]]) -> set[str]:
    return {item["session_id"]["S"] for item in items}


def test_sweep_deletes_only_the_expired_sessions(
    server: LocalServer, seeded: tuple[str, set[str], set[str]]
) -> None:
    name, expired, live = seeded
    client = make_client(server.endpoint_url)

    dry = cli_on(server, "sweep", "--table-name", name, "--dry-run", "--page-size", "250")
    assert dry.returncode == 0, dry.stderr
    assert "dry run: 500 of 1000 items are expired; none deleted" in dry.stdout
    assert table_keys(client, name) == expired | live

    result = cli_on(server, "sweep", "--table-name", name, "--page-size", "250")
    assert result.returncode == 0, result.stderr
    # Progress lines when not on a terminal, with a bar when the item count is known.
    progress = [line for line in result.stdout.splitlines() if " scanned, " in line]
    assert progress[-1].endswith("1000 scanned, 500 expired, 500 deleted")
    if server.kind == "moto":  # dynalite reports ItemCount 0
        assert progress[-1].startswith("[" + "#" * 30 + "] 100%  1000 scanned")
    assert "deleted 500 expired of 1000 items" in result.stdout
    assert table_keys(client, name) == live

    again = cli_on(server, "sweep", "--table-name", name)
    assert "deleted 0 expired of 500 items" in again.stdout


def test_sweep_keeps_a_session_refreshed_while_it_runs(moto_server: LocalServer) -> None:
    from dynamodb_sessions.cli._maintenance import sweep

    name = unique_name("cli")
    cli_on(moto_server, "create-table", "--table-name", name)
    client = make_client(moto_server.endpoint_url)
    stale = session_item(int(time.time()) - 10)
    seed(client, name, [stale, session_item(int(time.time()) - 10)])
    refresher = make_client(moto_server.endpoint_url)

    def refresh_first(**_: Any) -> None:
        # A request refreshes this session between the sweep's Scan and its delete.
        refresher.update_item(
            TableName=name,
            Key={"session_id": stale["session_id"]},
            UpdateExpression="SET #ttl = :later",
            ExpressionAttributeNames={"#ttl": "ttl"},
            ExpressionAttributeValues={":later": {"N": str(int(time.time()) + 3600)}},
        )
        client.meta.events.unregister("before-call.dynamodb.DeleteItem", refresh_first)

    client.meta.events.register("before-call.dynamodb.DeleteItem", refresh_first)
    result = sweep(client, name, dry_run=False)
    assert (result.expired, result.deleted, result.refreshed) == (2, 1, 1)
    assert table_keys(client, name) == {stale["session_id"]["S"]}


def test_stats_counts_and_histogram(server: LocalServer) -> None:
    name = unique_name("cli")
    cli_on(server, "create-table", "--table-name", name)
    now = int(time.time())
    items = (
        [session_item(now + 600, size=100, user="ann") for _ in range(6)]
        + [session_item(now + 600, size=3000) for _ in range(3)]
        + [session_item(now - 600, size=20000) for _ in range(2)]
    )
    seed(make_client(server.endpoint_url), name, items)
    result = cli_on(server, "stats", "--table-name", name)
    assert result.returncode == 0, result.stderr
    assert "scanned 11 items: 9 live, 2 expired but present, 6 bound to a user" in result.stdout
    histogram = re.findall(r"^ +[\d.]+ K?B - [\d.]+ KB +(\d+)", result.stdout, re.MULTILINE)
    counts = [int(n) for n in histogram]
    assert counts == [6, 3, 0, 2, 0, 0]


# --- sessions list / revoke ---------------------------------------------------------------


def table_with_user_index(server: LocalServer) -> str:
    """A new table made by `create-table --with-user-index`; its name."""
    name = unique_name("cli")
    if cli_on(server, "create-table", "--table-name", name, "--with-user-index").returncode:
        pytest.fail("create-table failed")
    return name


def test_sessions_list_and_revoke_one_users_sessions(
    server: LocalServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    name = table_with_user_index(server)
    without_key = cli_on(server, "sessions", "list", "--user", "ann", "--table-name", name)
    assert "DYNAMODB_SESSIONS_USER_ID_KEY" in one_line_error(without_key, "sessions list")
    monkeypatch.setenv("DYNAMODB_SESSIONS_USER_ID_KEY", USER_ID_KEY)
    store = DynamoDBStore(name, client=make_client(server.endpoint_url), user_id_key=USER_ID_KEY)
    expires = int(time.time()) + 3600
    keys = {"ann-laptop": "a1" * 32, "ann-phone": "a2" * 32, "bob": "b1" * 32}

    async def create_all() -> None:
        for label, key in keys.items():
            user = label.split("-")[0] + "@example.com"
            hashed = store.hash_user_id(user)
            await store.create(key, data={"n": "1"}, expires=expires, user_id=hashed, device=label)

    anyio.run(create_all)
    listed = cli_on(server, "sessions", "list", "--user", "ann@example.com", "--table-name", name)
    assert listed.returncode == 0, listed.stderr
    assert "2 live sessions of user ann@example.com:" in listed.stdout
    assert f"{handle_of(keys['ann-laptop'])}  created " in listed.stdout
    assert re.search(r"last seen \d{4}-\d\d-\d\d [\d:]+Z  ann-phone$", listed.stdout, re.M)
    assert "bob" not in listed.stdout

    revoked = cli_on(
        server, "sessions", "revoke", "--user", "ann@example.com", "--table-name", name
    )
    assert revoked.returncode == 0, revoked.stderr
    assert "revoked 2 sessions of user ann@example.com" in revoked.stdout
    assert anyio.run(store.load, keys["ann-laptop"]) is None
    assert anyio.run(store.load, keys["ann-phone"]) is None
    assert anyio.run(store.load, keys["bob"]) is not None
    again = cli_on(server, "sessions", "revoke", "--user", "ann@example.com", "--table-name", name)
    assert "revoked 0 sessions of user ann@example.com" in again.stdout
    empty = cli_on(server, "sessions", "list", "--user", "ann@example.com", "--table-name", name)
    assert empty.stdout == "no sessions of user ann@example.com\n"
    bob = cli_on(server, "sessions", "list", "--user", "bob@example.com", "--table-name", name)
    assert "1 live session of user bob@example.com:" in bob.stdout


def test_sessions_list_opens_sealed_device_labels_with_the_apps_keys(
    server: LocalServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    name = table_with_user_index(server)
    monkeypatch.setenv("DYNAMODB_SESSIONS_USER_ID_KEY", USER_ID_KEY)
    store = DynamoDBStore(
        name,
        client=make_client(server.endpoint_url),
        user_id_key=USER_ID_KEY,
        encryption_keys=[TEST_KEY],
    )
    hashed = store.hash_user_id("ann@example.com")
    expires = int(time.time()) + 3600
    anyio.run(
        functools.partial(
            store.create,
            "a1" * 32,
            data={},
            expires=expires,
            user_id=hashed,
            device="Firefox on Linux",
        )
    )
    without_keys = cli_on(
        server, "sessions", "list", "--user", "ann@example.com", "--table-name", name
    )
    assert without_keys.returncode == 0, without_keys.stderr
    assert without_keys.stdout.rstrip().endswith("  Unknown device")  # sealed: can't be read
    monkeypatch.setenv("SESSION_ENCRYPTION_KEYS", f"{OTHER_KEY}, {TEST_KEY}")  # the old one second
    listed = cli_on(server, "sessions", "list", "--user", "ann@example.com", "--table-name", name)
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.rstrip().endswith("  Firefox on Linux")
    monkeypatch.setenv("SESSION_ENCRYPTION_KEYS", "not a key")
    bad = cli_on(server, "sessions", "list", "--user", "ann@example.com", "--table-name", name)
    assert "SESSION_ENCRYPTION_KEYS" in one_line_error(bad, "sessions list")


def test_sweep_hash_user_ids_rewrites_the_bindings_that_name_their_user(
    server: LocalServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    name = table_with_user_index(server)
    client = make_client(server.endpoint_url)
    store = DynamoDBStore(name, client=client, user_id_key=USER_ID_KEY)
    ttl = int(time.time()) + 3600
    legacy, hashed = session_item(ttl, user="ann@example.com"), session_item(ttl)
    hashed["user_id"] = {"S": store.hash_user_id("bob@example.com")}
    for item in (legacy, hashed, session_item(ttl)):
        client.put_item(TableName=name, Item=item)
    sweep = ("sweep", "--hash-user-ids", "--table-name", name)
    without_key = cli_on(server, *sweep)
    assert "DYNAMODB_SESSIONS_USER_ID_KEY" in one_line_error(without_key, "sweep")
    monkeypatch.setenv("DYNAMODB_SESSIONS_USER_ID_KEY", USER_ID_KEY)
    assert "dry run: 1 session with a raw user id" in cli_on(server, *sweep, "--dry-run").stdout
    assert anyio.run(store.list_user_sessions, "ann@example.com") == []

    result = cli_on(server, *sweep)

    assert result.returncode == 0, result.stderr
    assert "hashed the user id of 1 of 1 session with a raw user id" in result.stdout
    (listed,) = anyio.run(store.list_user_sessions, "ann@example.com")
    assert listed.handle == handle_of(legacy["session_id"]["S"])
    assert "ann@example.com" not in json.dumps(client.scan(TableName=name)["Items"])
    assert len(anyio.run(store.list_user_sessions, "bob@example.com")) == 1
    assert "hashed the user id of 0 of 0" in cli_on(server, *sweep).stdout


def test_sessions_on_a_table_without_the_index_says_how_to_add_it(server: LocalServer) -> None:
    name = unique_name("cli")
    cli_on(server, "create-table", "--table-name", name)
    result = cli_on(server, "sessions", "revoke", "--user", "ann", "--table-name", name)
    fix = (
        f"`dynamodb-sessions create-table --table-name {name} --region us-east-1 "
        f"--endpoint-url {server.endpoint_url} --with-user-index`"
    )
    assert fix in one_line_error(result, "sessions revoke")


def wait_active(client: DynamoDBClient, name: str) -> None:
    for _ in range(100):
        if client.describe_table(TableName=name)["Table"]["TableStatus"] == "ACTIVE":
            return
        time.sleep(0.1)
    raise AssertionError(f"{name} never became ACTIVE")


def test_every_command_line_in_the_docs_uses_real_flags() -> None:
    doc = (Path(__file__).resolve().parents[2] / "docs" / "cli.md").read_text()
    found = re.findall(r"^(?:\$ )?dynamodb-sessions ([a-z].*)$", doc, flags=re.MULTILINE)
    # Not the quoted error messages, nor the wrong flag shown on purpose.
    lines = [line for line in found if ": error: " not in line and "--dryrun" not in line]
    assert len(lines) > 15
    for line in lines:
        words = line.split()
        command = " ".join(words[:2] if words[0] == "sessions" else words[:1])
        for flag in re.findall(r"--[a-z-]+", line):
            assert flag in cli_help(command), f"docs/cli.md: {line!r}: {flag}"
