"""JSON encoding of session values, one value at a time.

Each top-level key is stored as its own JSON string, so a save can write only the
keys that changed and compare a key with what it held when it was loaded. JSON,
never pickle: a stolen table must not become remote code execution.

A value is accepted only if it reads back equal to what was set: standard JSON
(no NaN or Infinity), dict keys that are str (JSON turns 1, 1.5, True and None
into strings, and `{1: "a", "1": "b"}` into one key), text that UTF-8 can encode
(no lone surrogates), and at most `MAX_DEPTH` levels of nesting. Tuples are the
one exception: JSON has only lists, so they read back as lists.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._exceptions import SessionDataError, SessionSerializationError

if TYPE_CHECKING:
    from typing import Any

# DynamoDB's item limit is 400 KB, counting attribute names and values in UTF-8.
ITEM_LIMIT = 400 * 1024
# Room for the item's bookkeeping: session_id (74 bytes with its name), the data
# map's name and overhead (7), ttl, created and ver (at most 24 each), wid (19): about
# 170 bytes; the rest is headroom. A bound user_id is counted on top (`user_id_size`).
HOUSEKEEPING = 1024
DATA_LIMIT = ITEM_LIMIT - HOUSEKEEPING
# Per-key overhead of a map entry, as DynamoDB sizes it (type tags, lengths).
_ENTRY_OVERHEAD = 3
#: Levels of nested lists and dicts one value may have. json fails only near
#: Python's recursion limit, a point that moves with the depth of the caller's
#: stack: far below it, setting, saving and loading a value all agree.
MAX_DEPTH = 100


def check_key(key: object) -> str:
    """Return `key` if it can name a session entry, else raise SessionDataError."""
    if not isinstance(key, str) or not key:
        raise SessionDataError(
            f"session keys must be non-empty strings, not {key!r}: they become DynamoDB map keys"
        )
    if not key.isascii():
        try:
            key.encode()
        except UnicodeEncodeError:
            raise SessionDataError(
                f"session key {key!r} is not valid Unicode (UTF-8 can't encode its lone "
                "surrogate); check or clean client input before using it as a key"
            ) from None
    return key


def encode(key: str, value: Any, *, loaded: str | None = None) -> str:
    """Encode one session value, naming the key when it can't be stored faithfully.

    A value whose text is `loaded`, what the key held when the session was loaded,
    was checked when it was stored: the walk over its structure is skipped.
    """
    import json  # imported on first use, not at cold start

    try:
        text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    except RecursionError:
        raise SessionSerializationError(key, _too_deep()) from None
    except (TypeError, ValueError) as exc:
        raise SessionSerializationError(key, exc) from exc
    if not text.isascii():
        _check_utf8(key, text)
    if text != loaded and ("{" in text or text.count("[") > MAX_DEPTH):
        _check_shape(key, value)  # else no dict in it, and too few lists to be too deep
    return text


def _check_utf8(key: str, text: str) -> None:
    # json.dumps passes a lone surrogate (a JSON body may carry one as "\ud800")
    # through, but no UTF-8 store or response can hold it.
    try:
        text.encode()
    except UnicodeEncodeError as exc:
        cause = ValueError(
            f"it holds text that is not valid Unicode ({exc.reason}: {exc.object[exc.start]!r}, "
            "for example from a JSON \\ud800 escape); check or clean client input first"
        )
        raise SessionSerializationError(key, cause) from exc


def _check_shape(key: str, value: Any) -> None:
    # Iterative, so that the check itself can't hit the recursion limit.
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            if not all(isinstance(k, str) for k in item):
                raise SessionSerializationError(key, _non_str_key(item))
            children: Any = item.values()
        elif isinstance(item, (list, tuple)):
            children = item
        else:
            continue
        if depth > MAX_DEPTH:
            raise SessionSerializationError(key, _too_deep())
        stack.extend((child, depth + 1) for child in children)


def _too_deep() -> ValueError:
    return ValueError(f"it is nested deeper than {MAX_DEPTH} levels of lists and dicts")


def _non_str_key(item: dict[Any, Any]) -> ValueError:
    bad = next(k for k in item if not isinstance(k, str))
    return ValueError(
        f"a dict in it has the key {bad!r}, not a str: JSON would turn it into a string "
        "(merging it with an equal string key); use str keys"
    )


def decode(text: str) -> Any:
    """Decode one stored value."""
    import json

    return json.loads(text)


def entry_size(key: str, encoded: str) -> int:
    """Bytes that one entry adds to the DynamoDB item."""
    return len(key.encode()) + len(encoded.encode()) + _ENTRY_OVERHEAD


def user_id_size(user_id: str | None) -> int:
    """Bytes that binding `user_id` adds to the item (its attribute name and value)."""
    # "user_id" is the attribute's name (stores/_item.py USER_ID, not imported here:
    # the request path's codec stays free of the store package).
    return 0 if user_id is None else len("user_id") + len(user_id.encode())
