"""JSON encoding of session values, one value at a time.

Each top-level key is stored as its own JSON string, so a save can write only the
keys that changed and compare a key with what it held when it was loaded. JSON,
never pickle: a stolen table must not become remote code execution.
"""

from __future__ import annotations

from ._exceptions import SessionDataError, SessionSerializationError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

# DynamoDB's item limit is 400 KB, counting attribute names and values in UTF-8.
# Keep headroom for the key, ttl, version and other bookkeeping attributes.
ITEM_LIMIT = 400 * 1024
DATA_LIMIT = ITEM_LIMIT - 1024
# Per-key overhead of a map entry, as DynamoDB sizes it (type tags, lengths).
_ENTRY_OVERHEAD = 3


def check_key(key: object) -> str:
    """Return `key` if it can name a session entry, else raise SessionDataError."""
    if not isinstance(key, str) or not key:
        raise SessionDataError(
            f"session keys must be non-empty strings, not {key!r}: they become DynamoDB map keys"
        )
    return key


def encode(key: str, value: Any) -> str:
    """Encode one session value, naming the key when JSON can't encode it."""
    import json  # imported on first use, not at cold start

    try:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    except (TypeError, ValueError, RecursionError) as exc:
        raise SessionSerializationError(key, exc) from exc


def decode(text: str) -> Any:
    """Decode one stored value."""
    import json

    return json.loads(text)


def entry_size(key: str, encoded: str) -> int:
    """Bytes that one entry adds to the DynamoDB item."""
    return len(key.encode()) + len(encoded.encode()) + _ENTRY_OVERHEAD
