"""The library's logger, and how sessions are named in logs."""

from __future__ import annotations

import logging

#: The "dynamodb_sessions" logger.
logger = logging.getLogger("dynamodb_sessions")


def log_id(key: str | None) -> str:
    """How a session is named in logs: a prefix of its stored hash, never the raw id."""
    return key[:12] if key else "new"
