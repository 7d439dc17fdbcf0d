"""Table administration for the CLI: create the sessions table, idempotently.

The library never creates tables at run time: that needs broader IAM rights
than serving sessions, and a cold start must not wait for a table to turn ACTIVE.
"""

from __future__ import annotations

import time

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

    from types_boto3_dynamodb.client import DynamoDBClient

PARTITION_KEY = "session_id"
TTL_ATTRIBUTE = "ttl"


def build_client(*, region_name: str | None, endpoint_url: str | None) -> DynamoDBClient:
    """A DynamoDB client for admin commands (standard retries, default timeouts)."""
    import boto3
    from botocore.config import Config

    return boto3.session.Session().client(
        "dynamodb",
        region_name=region_name,
        endpoint_url=endpoint_url,
        config=Config(retries={"mode": "standard", "max_attempts": 5}),
    )


def create_table(
    client: DynamoDBClient,
    table_name: str,
    *,
    say: Callable[[str], None] = print,
    poll_seconds: float = 1.0,
    timeout: float = 300.0,
) -> bool:
    """Create the table (PAY_PER_REQUEST, key `session_id`), wait for ACTIVE, enable TTL.

    Returns True if the table was created, False if it existed already.
    """
    created = not _exists(client, table_name)
    if created:
        client.create_table(
            TableName=table_name,
            KeySchema=[{"AttributeName": PARTITION_KEY, "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": PARTITION_KEY, "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        say(f"creating table {table_name} ...")
    else:
        say(f"table {table_name} exists already")
    _wait_active(client, table_name, say=say, poll_seconds=poll_seconds, timeout=timeout)
    enable_ttl(client, table_name, say=say)
    return created


def _exists(client: DynamoDBClient, table_name: str) -> bool:
    try:
        client.describe_table(TableName=table_name)
    except client.exceptions.ResourceNotFoundException:
        return False
    return True


def _wait_active(
    client: DynamoDBClient,
    table_name: str,
    *,
    say: Callable[[str], None],
    poll_seconds: float,
    timeout: float,
) -> None:
    deadline = time.monotonic() + timeout
    while True:
        status = client.describe_table(TableName=table_name)["Table"].get("TableStatus")
        if status == "ACTIVE":
            say(f"table {table_name} is ACTIVE")
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"table {table_name} is still {status} after {timeout:.0f}s")
        say(f"  waiting: table {table_name} is {status}")
        time.sleep(poll_seconds)


def enable_ttl(client: DynamoDBClient, table_name: str, *, say: Callable[[str], None]) -> None:
    """Turn on TTL for `ttl`, checking first: AWS refuses a second change within an hour."""
    from botocore.exceptions import ClientError

    try:
        _enable_ttl(client, table_name, say=say)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") != "UnknownOperationException":
            raise
        # dynalite and some other local servers lack the TTL API; AWS always has it.
        say("warning: this endpoint has no TTL API; expired items stay (the library ignores them)")


def _enable_ttl(client: DynamoDBClient, table_name: str, *, say: Callable[[str], None]) -> None:
    description = client.describe_time_to_live(TableName=table_name)["TimeToLiveDescription"]
    status = description.get("TimeToLiveStatus", "DISABLED")
    if status in ("ENABLED", "ENABLING") and description.get("AttributeName") == TTL_ATTRIBUTE:
        say(f"TTL on `{TTL_ATTRIBUTE}` is {status}")
        return
    client.update_time_to_live(
        TableName=table_name,
        TimeToLiveSpecification={"Enabled": True, "AttributeName": TTL_ATTRIBUTE},
    )
    say(f"TTL enabled on `{TTL_ATTRIBUTE}`")
