"""Table administration for the CLI: create the sessions table, idempotently,
with its TTL and, optionally, the user index.

The library never creates tables at run time: that needs broader IAM rights
than serving sessions, and a cold start must not wait for a table to turn ACTIVE.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from ..stores._item import LISTED, PARTITION_KEY, TTL, USER_ID, USER_INDEX

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from typing import Any

    from types_boto3_dynamodb.client import DynamoDBClient

# The index holds the table key (the hashed session id), the hashed user id, and what
# a listing of the user's devices shows (so listing is one Query), never session data.
USER_INDEX_PROJECTION: dict[str, Any] = {
    "ProjectionType": "INCLUDE",
    "NonKeyAttributes": list(LISTED),
}
USER_INDEX_SPEC: dict[str, Any] = {
    "IndexName": USER_INDEX,
    "KeySchema": [{"AttributeName": USER_ID, "KeyType": "HASH"}],
    "Projection": USER_INDEX_PROJECTION,
}


def build_client(*, region_name: str | None, endpoint_url: str | None) -> DynamoDBClient:
    """A DynamoDB client for admin commands (standard retries, default timeouts),
    which refuses a 2xx answer that is not JSON rather than read it as empty."""
    import boto3
    from botocore.config import Config

    from ..stores._wire import reject_non_json_answers

    client = boto3.session.Session().client(
        "dynamodb",
        region_name=region_name,
        endpoint_url=endpoint_url,
        config=Config(retries={"mode": "standard", "max_attempts": 5}),
    )
    reject_non_json_answers(client)
    return client


def create_table(
    client: DynamoDBClient,
    table_name: str,
    *,
    with_user_index: bool = False,
    say: Callable[[str], None] = print,
    poll_seconds: float = 1.0,
    timeout: float = 300.0,
) -> bool:
    """Create the table (PAY_PER_REQUEST, key `session_id`), wait for ACTIVE, enable TTL;
    with `with_user_index`, add the `user_id-index` GSI (to an existing table too).

    Returns True if the table was created, False if it existed already.
    """
    table = describe(client, table_name)
    if table is None:
        _create(client, table_name, with_user_index=with_user_index)
        say(f"creating table {table_name} ...")
    else:
        _check_key(table)
        say(f"table {table_name} exists already")
    waiter = _Waiter(client, table_name, say=say, poll_seconds=poll_seconds, timeout=timeout)
    waiter.table_active()
    if with_user_index and table is not None:
        add_user_index(client, table, say=say)
    if with_user_index:
        waiter.index_active(USER_INDEX)
    enable_ttl(client, table_name, say=say)
    return table is None


def describe(client: DynamoDBClient, table_name: str) -> dict[str, Any] | None:
    """DescribeTable's `Table`, or None if there is no such table."""
    try:
        return dict(client.describe_table(TableName=table_name)["Table"])
    except client.exceptions.ResourceNotFoundException:
        return None


def _check_key(table: Mapping[str, Any]) -> None:
    types = {a["AttributeName"]: a["AttributeType"] for a in table["AttributeDefinitions"]}
    keys = [(k["AttributeName"], k["KeyType"]) for k in table["KeySchema"]]
    if keys != [(PARTITION_KEY, "HASH")] or types.get(PARTITION_KEY) != "S":
        raise RuntimeError(
            f"table {table['TableName']} exists with another key ("
            + ", ".join(f"{name} {types.get(name, '?')} {kind}" for name, kind in keys)
            + f"); the "
            f"library needs partition key {PARTITION_KEY} (S) only: choose another --table-name"
        )


def user_index_of(table: Mapping[str, Any]) -> dict[str, Any] | None:
    """The description of the table's `user_id-index`, or None."""
    for index in table.get("GlobalSecondaryIndexes", []):
        if index["IndexName"] == USER_INDEX:
            return dict(index)
    return None


def _create(client: DynamoDBClient, table_name: str, *, with_user_index: bool) -> None:
    attributes = [{"AttributeName": PARTITION_KEY, "AttributeType": "S"}]
    extra: dict[str, Any] = {}
    if with_user_index:
        attributes.append({"AttributeName": USER_ID, "AttributeType": "S"})
        extra["GlobalSecondaryIndexes"] = [USER_INDEX_SPEC]
    client.create_table(
        TableName=table_name,
        KeySchema=[{"AttributeName": PARTITION_KEY, "KeyType": "HASH"}],
        AttributeDefinitions=attributes,  # type: ignore[arg-type]
        BillingMode="PAY_PER_REQUEST",
        **extra,
    )


def add_user_index(
    client: DynamoDBClient, table: Mapping[str, Any], *, say: Callable[[str], None]
) -> None:
    """Add the `user_id-index` GSI to an existing table, unless it has one already."""
    if user_index_of(table) is not None:
        say(f"index {USER_INDEX} exists already")
        return
    create: dict[str, Any] = dict(USER_INDEX_SPEC)
    billing = table.get("BillingModeSummary", {}).get("BillingMode", "PROVISIONED")
    if billing == "PROVISIONED":  # a provisioned table needs capacity for the index too
        capacity = table["ProvisionedThroughput"]
        create["ProvisionedThroughput"] = {
            "ReadCapacityUnits": capacity["ReadCapacityUnits"],
            "WriteCapacityUnits": capacity["WriteCapacityUnits"],
        }
    # Some servers (moto) replace the definitions with these: list the table's own too.
    attributes = [a for a in table["AttributeDefinitions"] if a["AttributeName"] != USER_ID]
    attributes.append({"AttributeName": USER_ID, "AttributeType": "S"})
    try:
        client.update_table(
            TableName=table["TableName"],
            AttributeDefinitions=attributes,
            GlobalSecondaryIndexUpdates=[{"Create": create}],  # type: ignore[typeddict-item]
        )
    except client.exceptions.ClientError as exc:
        if "provisionedThroughput" not in str(exc):
            raise
        raise RuntimeError(
            "this endpoint can't add an index to an on-demand table (dynalite can't); "
            "create a new table with --with-user-index instead"
        ) from exc
    say(f"adding index {USER_INDEX} to table {table['TableName']} ...")


class _Waiter:
    """Polls DescribeTable until the table or an index is ACTIVE, saying each step."""

    def __init__(
        self,
        client: DynamoDBClient,
        table_name: str,
        *,
        say: Callable[[str], None],
        poll_seconds: float,
        timeout: float,
    ) -> None:
        self.client, self.table_name, self.say = client, table_name, say
        self.poll_seconds, self.timeout = poll_seconds, timeout

    def table_active(self) -> None:
        self._wait(f"table {self.table_name}", lambda table: table.get("TableStatus"))

    def index_active(self, index_name: str) -> None:
        def status(table: Mapping[str, Any]) -> str | None:
            index = user_index_of(table)
            return None if index is None else index.get("IndexStatus")

        self._wait(f"index {index_name}", status)

    def _wait(self, what: str, status_of: Callable[[Mapping[str, Any]], str | None]) -> None:
        started = time.monotonic()
        while True:
            table = self.client.describe_table(TableName=self.table_name)["Table"]
            status = status_of(table) or "CREATING"
            elapsed = time.monotonic() - started
            if status == "ACTIVE":
                self.say(f"{what} is ACTIVE")
                return
            if elapsed > self.timeout:
                raise TimeoutError(f"{what} is still {status} after {self.timeout:.0f}s")
            self.say(f"  waiting: {what} is {status} ({elapsed:.0f}s)")
            time.sleep(self.poll_seconds)


def ttl_status(client: DynamoDBClient, table_name: str) -> tuple[str, str | None] | None:
    """(TTL status, attribute name), or None when the endpoint has no TTL API (dynalite)."""
    from botocore.exceptions import ClientError

    try:
        description = client.describe_time_to_live(TableName=table_name)["TimeToLiveDescription"]
    except ClientError as exc:
        if not _unknown_operation(exc):
            raise
        return None
    status = description.get("TimeToLiveStatus", "DISABLED")
    # dynalite answers DescribeTimeToLive with DISABLED, always. AWS is never probed:
    # a refused probe would show up in CloudTrail as a failed call.
    if status == "DISABLED" and not _is_aws(client) and not _can_update_ttl(client, table_name):
        return None
    return status, description.get("AttributeName")


def _is_aws(client: DynamoDBClient) -> bool:
    from urllib.parse import urlsplit

    host = urlsplit(client.meta.endpoint_url).hostname or ""
    return host.endswith((".amazonaws.com", ".amazonaws.com.cn"))


def _can_update_ttl(client: DynamoDBClient, table_name: str) -> bool:
    # Probe UpdateTimeToLive on a table that doesn't exist, so nothing changes: moto
    # answers ResourceNotFound, dynalite UnknownOperation.
    import uuid

    from botocore.exceptions import ClientError

    try:
        client.update_time_to_live(
            TableName=f"dynamodb-sessions-ttl-probe-{uuid.uuid4().hex}",
            TimeToLiveSpecification={"Enabled": True, "AttributeName": TTL},
        )
    except ClientError as exc:
        return not _unknown_operation(exc)
    return True


def _unknown_operation(exc: Exception) -> bool:
    code: str = getattr(exc, "response", {}).get("Error", {}).get("Code", "")
    return code == "UnknownOperationException"


def enable_ttl(client: DynamoDBClient, table_name: str, *, say: Callable[[str], None]) -> None:
    """Turn on TTL for `ttl`, checking first: AWS refuses a second change within an hour."""
    current = ttl_status(client, table_name)
    if current is None:
        # dynalite and some other local servers lack the TTL API; AWS always has it.
        say(
            "warning: this endpoint has no TTL API; expired items stay (the library "
            "ignores them; `dynamodb-sessions sweep` deletes them)"
        )
        return
    status, attribute = current
    if status in ("ENABLED", "ENABLING") and attribute == TTL:
        say(f"TTL on `{TTL}` is {status}")
        return
    if status in ("ENABLED", "ENABLING"):
        raise RuntimeError(
            f"TTL of table {table_name} is on attribute `{attribute}`, not `{TTL}`: "
            "disable it first (aws dynamodb update-time-to-live), then run this again"
        )
    client.update_time_to_live(
        TableName=table_name,
        TimeToLiveSpecification={"Enabled": True, "AttributeName": TTL},
    )
    say(f"TTL enabled on `{TTL}`")
