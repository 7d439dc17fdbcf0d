"""A health check of the session store, for an app's /healthz endpoint.

It reports "degraded" when sessions are served from a fallback, so a load balancer
or an alarm can tell "working, but users may be signed out" from "working":

    from dynamodb_sessions.health import session_health

    @app.get("/healthz")
    async def healthz() -> JSONResponse:
        health = await session_health(store, fallback=fallback)
        return JSONResponse(health, status_code=503 if health["status"] == "error" else 200)
"""

from __future__ import annotations

from ._exceptions import SessionStoreError
from .stores import DynamoDBStore, MemoryStore, SessionStore

MEMORY_WARNING = "sessions are in this process's memory only"


async def session_health(
    store: SessionStore, *, fallback: SessionStore | None = None
) -> dict[str, str]:
    """How the session store is doing, as a dict for a health endpoint's JSON.

    `store` and `fallback` are the middleware's `store` and `fallback_store`. A store
    with a `ping()` (DynamoDBStore: one DescribeTable) is asked whether it answers.

    - "status": "ok"; "degraded" when sessions are served, but not from a shared
      store: `store` fails and requests fall back to `fallback`, or `store` is a
      MemoryStore (sessions live in one process; on Lambda, in one container);
      "error" when `store` fails and there is no fallback (answer 503 then).
    - "store": "dynamodb", "memory", or the store's class name; "table" for DynamoDB.
    - "error": why `store` failed; "fallback": what serves sessions meanwhile;
      "warning": for a MemoryStore.
    """
    health = {"status": "ok", "store": _kind(store)}
    if isinstance(store, DynamoDBStore):
        health["table"] = store.table_name
    try:
        await _ping(store)
    except SessionStoreError as exc:
        health["error"] = str(exc)
        if fallback is None:
            return {**health, "status": "error"}
        return {**health, "status": "degraded", "fallback": _kind(fallback)}
    if isinstance(store, MemoryStore):
        return {**health, "status": "degraded", "warning": MEMORY_WARNING}
    return health


async def _ping(store: SessionStore) -> None:
    ping = getattr(store, "ping", None)
    if ping is not None:
        await ping()


def _kind(store: SessionStore) -> str:
    if isinstance(store, DynamoDBStore):
        return "dynamodb"
    if isinstance(store, MemoryStore):
        return "memory"
    return type(store).__name__
