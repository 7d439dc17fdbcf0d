"""Choose the session store: DynamoDB, or an in-memory fallback when the table can't be reached.

The fallback keeps a local run usable without AWS, as the seed asked, but it is a
degraded mode: sessions then live in one process only. On Lambda every container
is a process of its own, so a login made in one container is unknown to the next
one and users are signed out at random. Set SESSION_FALLBACK_TO_MEMORY=false in
production so a missing table fails the start instead.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import threading
from concurrent.futures import ThreadPoolExecutor

from app.config import Settings
from dynamodb_sessions import DynamoDBStore, MemoryStore, SessionStoreError, UserSessionStore

logger = logging.getLogger(__name__)

SessionBackend = UserSessionStore  # what the app needs of a store: sessions and the user index

_instance: SessionBackend | None = None
_lock = threading.Lock()


def backend_name(store: SessionBackend) -> str:
    """Name the backend for logs and /healthz: "dynamodb" or "memory"."""
    return "dynamodb" if isinstance(store, DynamoDBStore) else "memory"


def build_dynamodb_store(settings: Settings) -> DynamoDBStore:
    """Build the DynamoDB store from the settings; no network call happens here."""
    keys = settings.encryption_keys
    if settings.encryption_keys_secret is not None:
        keys = encryption_keys_from_secret(settings.encryption_keys_secret)
    return DynamoDBStore(
        settings.table_name,
        region_name=settings.region_name,
        endpoint_url=settings.endpoint_url,
        encryption_keys=keys,
    )


@functools.cache  # once per container: every request reuses the store built with them
def encryption_keys_from_secret(secret_id: str) -> list[str]:
    """The encryption keys in a Secrets Manager secret: its text, comma-separated."""
    import boto3

    secret = boto3.client("secretsmanager").get_secret_value(SecretId=secret_id)
    return [key.strip() for key in secret["SecretString"].split(",") if key.strip()]


async def get_session_store(settings: Settings) -> SessionBackend:
    """Return a DynamoDB store if its table answers, else a MemoryStore (if allowed).

    Raises the store's `SessionStoreError` when the table can't be reached and
    SESSION_FALLBACK_TO_MEMORY is false.
    """
    store = build_dynamodb_store(settings)
    try:
        await store.ping()
    except SessionStoreError as exc:
        if not settings.fallback_to_memory:
            logger.error("DynamoDB sessions table unreachable and fallback is off: %s", exc)
            raise
        logger.warning(
            "\n%s\nSESSIONS ARE IN MEMORY: DynamoDB table %r can't be reached (%s).\n"
            "Logins will not survive a restart and are not shared between processes or\n"
            "Lambda containers. Set SESSION_FALLBACK_TO_MEMORY=false to fail instead.\n%s",
            "!" * 78,
            settings.table_name,
            exc,
            "!" * 78,
        )
        return MemoryStore()
    logger.info("Sessions are stored in DynamoDB table %r", settings.table_name)
    return store


def get_session_store_instance(settings: Settings) -> SessionBackend:
    """Return this process's store, choosing it on the first call (once per Lambda container)."""
    global _instance
    with _lock:
        if _instance is None:
            _instance = _run_sync(settings)
        return _instance


def reset_session_store_instance() -> None:
    """Forget the cached store, so the next call chooses again (for tests)."""
    global _instance
    with _lock:
        _instance = None


def _run_sync(settings: Settings) -> SessionBackend:
    # The app is built at import time, which may already be inside an event loop
    # (uvicorn imports the app from within its loop), so the ping runs in a loop of
    # its own on a short-lived thread.
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="session-store") as pool:
        return pool.submit(asyncio.run, get_session_store(settings)).result()
