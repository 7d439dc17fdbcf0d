"""`dynamodb-sessions check`: is the sessions table set up the way the library needs?

Each check yields one row: what was checked, its state, what was found, and
the fix. States: "ok", "WRONG" (fails the command), and "unknown" (could not
be checked, such as TTL on dynalite, which has no TTL API; it doesn't fail).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._exceptions import SessionTableNotFoundError
from ..stores._item import LISTED, PARTITION_KEY, TTL, USER_ID, USER_INDEX
from ._table import describe, ttl_status, user_index_of

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping
    from typing import Any

    from types_boto3_dynamodb.client import DynamoDBClient

OK, WRONG, UNKNOWN = "ok", "WRONG", "unknown"


class Row:
    """One line of the report."""

    __slots__ = ("fix", "found", "name", "state")

    def __init__(self, name: str, state: str, found: str, fix: str = "") -> None:
        self.name, self.state, self.found, self.fix = name, state, found, fix


def check_table(
    client: DynamoDBClient, table_name: str, *, with_user_index: bool, create_command: str
) -> list[Row]:
    """Every check on `table_name`; `create_command` is the create-table command
    line to suggest as a fix."""
    table = describe(client, table_name)
    if table is None:  # worded as for every command (cli/_errors.py)
        raise SessionTableNotFoundError(table_name)
    rows = list(_checks(client, table, with_user_index, create_command))
    if any(row.name == "key schema" and row.state == WRONG for row in rows):
        for row in rows:  # the table must be replaced: fixing the rest is moot
            if row.state == WRONG and row.name != "key schema":
                row.fix = "moot: replace the table (see key schema)"
    return rows


def _checks(
    client: DynamoDBClient, table: Mapping[str, Any], with_user_index: bool, create_command: str
) -> Iterator[Row]:
    status = table.get("TableStatus", "?")
    yield Row("table", OK if status == "ACTIVE" else WRONG, f"{table['TableName']}, {status}",
              "" if status == "ACTIVE" else "wait until it is ACTIVE")  # fmt: skip
    yield _key_schema(table)
    yield _billing(table)
    yield _ttl(client, table["TableName"], create_command)
    yield _user_index(table, with_user_index, create_command)


def _key_schema(table: Mapping[str, Any]) -> Row:
    keys = {k["KeyType"]: k["AttributeName"] for k in table["KeySchema"]}
    types = {a["AttributeName"]: a["AttributeType"] for a in table["AttributeDefinitions"]}
    found = ", ".join(f"{name} ({types.get(name, '?')}, {kind})" for kind, name in keys.items())
    if keys == {"HASH": PARTITION_KEY} and types.get(PARTITION_KEY) == "S":
        return Row("key schema", OK, found)
    return Row(
        "key schema",
        WRONG,
        found,
        f"a key can't be changed: create a new table (partition key {PARTITION_KEY}, type S, "
        "no sort key) with create-table and point SESSION_TABLE_NAME at it",
    )


def _billing(table: Mapping[str, Any]) -> Row:
    mode = table.get("BillingModeSummary", {}).get("BillingMode", "PROVISIONED")
    if mode == "PAY_PER_REQUEST":
        return Row("billing mode", OK, mode)
    return Row(
        "billing mode",
        WRONG,
        mode,
        f"aws dynamodb update-table --table-name {table['TableName']} "
        "--billing-mode PAY_PER_REQUEST (provisioned capacity throttles bursts of logins)",
    )


def _ttl(client: DynamoDBClient, table_name: str, create_command: str) -> Row:
    current = ttl_status(client, table_name)
    if current is None:
        return Row(
            "TTL", UNKNOWN, "unknown (endpoint has no TTL API)",
            "none needed locally; `dynamodb-sessions sweep` deletes expired items",
        )  # fmt: skip
    status, attribute = current
    found = f"{status} on `{attribute}`" if attribute else status
    if status in ("ENABLED", "ENABLING") and attribute == TTL:
        return Row("TTL", OK, found)
    if status in ("ENABLED", "ENABLING", "DISABLING"):
        fix = (
            f"TTL must be on `{TTL}`: disable it (aws dynamodb update-time-to-live), "
            f"then run `{create_command}` (AWS allows one TTL change per hour)"
        )
    else:
        fix = f"run `{create_command}` (it turns TTL on)"
    return Row("TTL", WRONG, found, fix)


_OLD_PROJECTION = (
    "works; listing a user's sessions costs a GetItem each until the index is recreated "
    "(docs/DYNAMODB_TABLES_SETUP.md, 'Upgrading the user index')"
)


def _user_index(table: Mapping[str, Any], wanted: bool, create_command: str) -> Row:
    index = user_index_of(table)
    add = f"run `{create_command} --with-user-index`"
    if index is None:
        if wanted:
            return Row("user index", WRONG, "absent", add)
        return Row("user index", OK, "absent (pass --with-user-index if the app binds users)")
    keys = [(k["AttributeName"], k["KeyType"]) for k in index["KeySchema"]]
    types = {a["AttributeName"]: a["AttributeType"] for a in table["AttributeDefinitions"]}
    projection = index["Projection"]["ProjectionType"]
    status = index.get("IndexStatus", "ACTIVE")
    key = f"{USER_ID} ({types.get(USER_ID, '?')})"
    found = f"{USER_INDEX}: {key}, {projection}, {status}"
    if keys != [(USER_ID, "HASH")] or types.get(USER_ID) != "S":
        return Row("user index", WRONG, found,
                   f"delete the index (aws dynamodb update-table), then {add}")  # fmt: skip
    if projection == "KEYS_ONLY":
        return Row("user index", OK, found, _OLD_PROJECTION)
    if projection != "INCLUDE" or set(index["Projection"].get("NonKeyAttributes", [])) != {*LISTED}:
        return Row("user index", WRONG, found,
                   f"it must project {', '.join(LISTED)} only (never session data); delete it "
                   f"and recreate it: {add}")  # fmt: skip
    if status != "ACTIVE":
        return Row("user index", WRONG, found, "wait until it is ACTIVE")
    return Row("user index", OK, found)


def render(rows: list[Row]) -> str:
    """The rows as an aligned text table."""
    header = Row("check", "state", "found", "fix")
    widths = [max(len(getattr(r, f)) for r in [header, *rows]) for f in ("name", "state", "found")]
    return "\n".join(
        "  ".join(
            [r.name.ljust(widths[0]), r.state.ljust(widths[1]), r.found.ljust(widths[2]), r.fix]
        ).rstrip()
        for r in [header, *rows]
    )
