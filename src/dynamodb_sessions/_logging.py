"""The library's logger, and how sessions are named in logs."""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    import logging


def logger() -> logging.Logger:
    """The "dynamodb_sessions" logger; `logging` is imported on first use (cold start)."""
    import logging

    return logging.getLogger("dynamodb_sessions")


def log_id(key: str | None) -> str:
    """How a session is named in logs: a prefix of its stored hash, never the raw id."""
    return key[:12] if key else "new"
