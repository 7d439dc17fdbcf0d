"""`sweep` and `stats`: commands that Scan the sessions table in bounded pages.

A Scan reads the whole table, so these are for local servers (which never
delete expired items), tables without TTL, and occasional inspection; the
library itself never scans.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from ..stores._item import PARTITION_KEY, ROTATED, TTL, TTL_NAME, USER_ID

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Mapping
    from typing import Any

    from types_boto3_dynamodb.client import DynamoDBClient

    Item = Mapping[str, Any]

# Upper bounds (bytes) of the size histogram's buckets; DynamoDB's item limit is 400 KB.
SIZE_BUCKETS = (1024, 4096, 16384, 65536, 262144, 409600)


def scan_pages(
    client: DynamoDBClient, table_name: str, *, page_size: int, **options: Any
) -> Iterator[list[dict[str, Any]]]:
    """The table's items, `page_size` items read per request at most."""
    request: dict[str, Any] = {"TableName": table_name, "Limit": page_size, **options}
    while True:
        page = client.scan(**request)
        yield page.get("Items", [])
        if "LastEvaluatedKey" not in page:
            return
        request["ExclusiveStartKey"] = page["LastEvaluatedKey"]


class SweepResult:
    """What a sweep saw and did."""

    def __init__(self) -> None:
        self.scanned = self.expired = self.deleted = self.refreshed = 0


def sweep(
    client: DynamoDBClient,
    table_name: str,
    *,
    dry_run: bool,
    page_size: int = 100,
    workers: int = 8,
    now: Callable[[], float] = time.time,
    progress: Callable[[SweepResult], None] = lambda _: None,
) -> SweepResult:
    """Delete the items whose `ttl` is at or before now, one page at a time, with
    up to `workers` deletes in flight (boto3 clients are thread-safe).

    Each delete is conditioned on the item still being expired, so a session
    that a request refreshed meanwhile stays (it counts as `refreshed`).
    """
    from concurrent.futures import ThreadPoolExecutor

    result = SweepResult()
    pages = scan_pages(
        client, table_name, page_size=page_size,
        ProjectionExpression=f"{PARTITION_KEY}, #ttl", ExpressionAttributeNames=TTL_NAME,
    )  # fmt: skip
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for page in pages:
            cutoff = int(now())
            expired = [i for i in page if TTL in i and int(i[TTL]["N"]) <= cutoff]
            result.scanned += len(page)
            result.expired += len(expired)
            if not dry_run:
                delete = _ExpiredDelete(client, table_name, cutoff)
                deleted = sum(pool.map(delete, expired))
                result.deleted += deleted
                result.refreshed += len(expired) - deleted
            progress(result)
    return result


class _ExpiredDelete:
    """Deletes one item if it is still expired; returns whether it did."""

    def __init__(self, client: DynamoDBClient, table_name: str, cutoff: int) -> None:
        self.client, self.table_name, self.cutoff = client, table_name, str(cutoff)

    def __call__(self, item: Item) -> bool:
        from botocore.exceptions import ClientError

        try:
            self.client.delete_item(
                TableName=self.table_name,
                Key={PARTITION_KEY: item[PARTITION_KEY]},
                ConditionExpression="#ttl <= :now",
                ExpressionAttributeNames=TTL_NAME,
                ExpressionAttributeValues={":now": {"N": self.cutoff}},
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                raise
            return False
        return True


def hash_user_ids(
    client: DynamoDBClient,
    table_name: str,
    *,
    hash_user_id: Callable[[str], str],
    dry_run: bool,
    page_size: int = 100,
) -> tuple[int, int]:
    """Rewrite every binding that names its user (an item written before user ids
    were hashed) as `hash_user_id` of it; return (found, rewritten). Each write is
    conditioned on the binding still being that raw id, so a session rebound or
    ended meanwhile is left alone."""
    from botocore.exceptions import ClientError

    from ..stores._users import is_user_key

    found = rewritten = 0
    pages = scan_pages(
        client, table_name, page_size=page_size, ProjectionExpression=f"{PARTITION_KEY}, {USER_ID}"
    )
    for page in pages:
        raw = [i for i in page if USER_ID in i and not is_user_key(i[USER_ID]["S"])]
        found += len(raw)
        for item in [] if dry_run else raw:
            user_id = item[USER_ID]["S"]
            try:
                client.update_item(
                    TableName=table_name,
                    Key={PARTITION_KEY: item[PARTITION_KEY]},
                    UpdateExpression=f"SET {USER_ID} = :hashed",
                    ConditionExpression=f"{USER_ID} = :raw",
                    ExpressionAttributeValues={
                        ":hashed": {"S": hash_user_id(user_id)},
                        ":raw": {"S": user_id},
                    },
                )
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                    raise
                continue
            rewritten += 1
    return found, rewritten


class Stats:
    """What a full Scan of the table found."""

    def __init__(self) -> None:
        self.scanned = self.live = self.expired = self.bound = 0
        #: Tombstones of ids replaced at sign-in (`regenerate_id()`), gone within a minute.
        self.replaced = 0
        self.sizes = [0] * len(SIZE_BUCKETS)
        self.largest = 0


def stats(
    client: DynamoDBClient,
    table_name: str,
    *,
    page_size: int = 500,
    now: Callable[[], float] = time.time,
    progress: Callable[[Stats], None] = lambda _: None,
) -> Stats:
    """Scan the table: live, expired-but-present and user-bound counts, and item sizes."""
    result = Stats()
    for page in scan_pages(client, table_name, page_size=page_size):
        cutoff = now()
        for item in page:
            result.scanned += 1
            if TTL in item and int(item[TTL]["N"]) <= cutoff:
                result.expired += 1
            elif ROTATED in item:
                result.replaced += 1
            else:
                result.live += 1
            result.bound += USER_ID in item
            size = item_size(item)
            result.largest = max(result.largest, size)
            bucket = next((i for i, top in enumerate(SIZE_BUCKETS) if size <= top), -1)
            result.sizes[bucket] += 1
        progress(result)
    return result


def item_size(item: Mapping[str, Any]) -> int:
    """An item's approximate size in bytes, by DynamoDB's rules (names count too)."""
    return sum(len(name.encode()) + _value_size(value) for name, value in item.items())


def _value_size(value: Mapping[str, Any]) -> int:
    (kind, content), *_ = value.items()
    if kind == "S":
        return len(content.encode())
    if kind == "N":
        return len(content.strip("-").lstrip("0").replace(".", "")) // 2 + 1
    if kind == "M":
        return 3 + sum(len(k.encode()) + _value_size(v) + 1 for k, v in content.items())
    if kind == "L":
        return 3 + sum(_value_size(v) + 1 for v in content)
    if kind == "B":
        return len(content)
    return 1  # BOOL, NULL


def human_size(size: int) -> str:
    """1536 -> '1.5 KB'."""
    if size < 1024:
        return f"{size} B"
    return f"{size / 1024:.1f} KB".replace(".0 KB", " KB")
