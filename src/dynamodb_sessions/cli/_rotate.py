"""`rotate-keys`: seal every stored value with the first encryption key.

The store re-seals a value with the first key whenever it writes it; this command
does the rest, so that an old key can be removed without ending the sessions
that still use it. It Scans the table in bounded pages and rewrites, for each
live session, the values (and the device label) sealed with another key, or
plaintext written before encryption was on, each write conditioned on those values still being
the bytes that were read: a session a request changed meanwhile is read again
and retried, never overwritten.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from ..stores._cipher import UnreadableValue
from ..stores._item import DATA, DEVICE, PARTITION_KEY, ROTATED, TTL, TTL_NAME
from ..stores._sealed import binary
from ._maintenance import scan_pages

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from types_boto3_dynamodb.client import DynamoDBClient

    from ..stores._cipher import Cipher

# Values rewritten per UpdateItem: keeps an expression well inside DynamoDB's 4 KB.
VALUES_PER_WRITE = 50
# Reads and writes of one session before it counts as `changed` (busy: run again).
ATTEMPTS = 3


class RotateResult:
    """What a `rotate_keys` run saw and did."""

    def __init__(self) -> None:
        self.scanned = 0
        #: Sessions rewritten, and the values in them sealed again.
        self.sessions = self.values = 0
        #: Sessions with a value no configured key opens (left as they are).
        self.unreadable = 0
        #: Sessions that kept changing under the rewrite (run the command again).
        self.changed = 0


def rotate_keys(
    client: DynamoDBClient,
    table_name: str,
    cipher: Cipher,
    *,
    page_size: int = 100,
    now: Callable[[], float] = time.time,
    progress: Callable[[RotateResult], None] = lambda _: None,
) -> RotateResult:
    """Seal every value of every live session with `cipher`'s first key."""
    result = RotateResult()
    rotation = _Rotation(client, table_name, cipher, now)
    for page in scan_pages(client, table_name, page_size=page_size):
        for item in page:
            result.scanned += 1
            outcome = rotation.session(item)
            if outcome == "unreadable":
                result.unreadable += 1
            elif outcome == "changed":
                result.changed += 1
            elif isinstance(outcome, int) and outcome:
                result.sessions += 1
                result.values += outcome
        progress(result)
    return result


class _Rotation:
    def __init__(
        self, client: DynamoDBClient, table_name: str, cipher: Cipher, now: Callable[[], float]
    ) -> None:
        self.client, self.table_name, self.cipher, self.now = client, table_name, cipher, now

    def session(self, item: Mapping[str, Any]) -> int | str:
        """How many values of this session it sealed again, or "unreadable" or "changed"."""
        from botocore.exceptions import ClientError

        for _ in range(ATTEMPTS):
            stale, device = self._stale(item), self._stale_device(item)
            if not stale and device is None:
                return 0
            key = item[PARTITION_KEY]["S"]
            try:
                for names in _chunks(sorted(stale), VALUES_PER_WRITE):
                    self._reseal(key, {name: stale[name] for name in names})
                if device is not None:
                    self._reseal_device(key, device)
            except UnreadableValue:
                return "unreadable"
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                    raise
                item = self._read(key)  # changed meanwhile: look again
                continue
            return len(stale) + (device is not None)
        return "changed"

    def _stale(self, item: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
        """The values of a live session that are not sealed with the first key."""
        if not item or ROTATED in item or int(item.get(TTL, {}).get("N", "0")) <= self.now():
            return {}
        data: dict[str, dict[str, Any]] = item.get(DATA, {}).get("M", {})
        return {
            name: value
            for name, value in data.items()
            if "B" not in value or self.cipher.sealed_with(binary(value["B"])) != self.cipher.key_id
        }

    def _stale_device(self, item: Mapping[str, Any]) -> Mapping[str, Any] | None:
        """The device label of a live session, if not sealed with the first key."""
        value: Mapping[str, Any] | None = item.get(DEVICE)
        if not value or ROTATED in item or int(item.get(TTL, {}).get("N", "0")) <= self.now():
            return None
        if "B" in value and self.cipher.sealed_with(binary(value["B"])) == self.cipher.key_id:
            return None
        return value

    def _reseal_device(self, key: str, value: Mapping[str, Any]) -> None:
        bound = self.cipher.bound(key)
        text = value["S"] if "S" in value else bound.open(DEVICE, binary(value["B"]))
        self.client.update_item(
            TableName=self.table_name,
            Key={PARTITION_KEY: {"S": key}},
            UpdateExpression=f"SET {DEVICE} = :new",
            ConditionExpression=f"{DEVICE} = :old",  # still the label that was read
            ExpressionAttributeValues={":new": {"B": bound.seal(DEVICE, text)}, ":old": value},
        )

    def _reseal(self, key: str, values: Mapping[str, Mapping[str, Any]]) -> None:
        names: dict[str, str] = {**TTL_NAME, "#d": DATA}
        attributes: dict[str, Any] = {":now": {"N": str(int(self.now()))}}
        sets, conditions = [], [f"attribute_exists({PARTITION_KEY})", "#ttl > :now"]
        conditions.append(f"attribute_not_exists({ROTATED})")
        for i, (name, value) in enumerate(values.items()):
            names[f"#k{i}"] = name
            attributes[f":old{i}"] = value
            sealed = self.cipher.seal(key, name, self._text(key, name, value))
            attributes[f":new{i}"] = {"B": sealed}
            sets.append(f"#d.#k{i} = :new{i}")
            conditions.append(f"#d.#k{i} = :old{i}")  # still the bytes that were read
        self.client.update_item(
            TableName=self.table_name,
            Key={PARTITION_KEY: {"S": key}},
            UpdateExpression="SET " + ", ".join(sets),
            ConditionExpression=" AND ".join(conditions),
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=attributes,
        )

    def _text(self, key: str, name: str, value: Mapping[str, Any]) -> str:
        if "S" in value:  # plaintext, stored before encryption was turned on
            text: str = value["S"]
            return text
        if "B" not in value:
            raise UnreadableValue("it is neither a sealed value nor JSON text")
        return self.cipher.open(key, name, binary(value["B"]))

    def _read(self, key: str) -> dict[str, Any]:
        response = self.client.get_item(
            TableName=self.table_name, Key={PARTITION_KEY: {"S": key}}, ConsistentRead=True
        )
        return response.get("Item", {})


def _chunks(names: list[str], size: int) -> list[list[str]]:
    return [names[i : i + size] for i in range(0, len(names), size)]
