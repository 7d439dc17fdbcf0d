"""Contender 3: starsessions with a DynamoDB store, boto3 run in a worker thread.

What a careful user builds today: the store implements starsessions' ``SessionStore``
interface (read/write/remove), every boto3 call goes through ``anyio.to_thread``, and the
session is autoloaded only on the routes that use it (not on ``/nosession``).
"""

from __future__ import annotations

import time

import anyio.to_thread
import boto3
from starlette.types import ASGIApp
from starsessions import SessionAutoloadMiddleware, SessionMiddleware, SessionStore

from benchmarks._app import build_app, endpoint_url, table_name

NAME = "starsessions"
USES_DYNAMODB = True
LIFETIME = 14 * 24 * 3600


class DynamoDBStore(SessionStore):
    """A starsessions store keeping each session as one item: session_id, data, ttl."""

    def __init__(self, table: str, *, endpoint_url: str, region_name: str) -> None:
        self.table = table
        self.client = boto3.client("dynamodb", endpoint_url=endpoint_url, region_name=region_name)

    async def read(self, session_id: str, lifetime: int) -> bytes:
        """The session's bytes, or empty when it is missing or expired."""

        def get() -> bytes:
            item = self.client.get_item(
                TableName=self.table, Key={"session_id": {"S": session_id}}
            ).get("Item")
            if item is None or int(item.get("ttl", {"N": "0"})["N"]) < time.time():
                return b""
            return bytes(item["data"]["B"])

        return await anyio.to_thread.run_sync(get)

    async def write(self, session_id: str, data: bytes, lifetime: int, ttl: int) -> str:
        """Put the whole session, expiring `ttl` seconds from now (else after LIFETIME)."""
        expires = int(time.time()) + (ttl if ttl > 0 else LIFETIME)

        def put() -> None:
            self.client.put_item(
                TableName=self.table,
                Item={
                    "session_id": {"S": session_id},
                    "data": {"B": data},
                    "ttl": {"N": str(expires)},
                },
            )

        await anyio.to_thread.run_sync(put)
        return session_id

    async def remove(self, session_id: str) -> None:
        """Delete the session's item."""

        def delete() -> None:
            self.client.delete_item(TableName=self.table, Key={"session_id": {"S": session_id}})

        await anyio.to_thread.run_sync(delete)


store = DynamoDBStore(table_name(), endpoint_url=endpoint_url(), region_name="us-east-1")
app: ASGIApp = SessionMiddleware(
    SessionAutoloadMiddleware(
        build_app(nested_mutation=False), paths=["/login", "/read", "/write", "/logout"]
    ),
    store=store,
    lifetime=LIFETIME,
    rolling=True,
    cookie_https_only=False,
)
