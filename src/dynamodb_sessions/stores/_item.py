"""The table's item format, in one place: the attribute names, the user index, and
the builders of the items and requests that the store and the CLI share.

One item per session; the table's partition key is `session_id`, a string::

    session_id  S  SHA-256 of the session id (the cookie's id never reaches the table)
    data        M  session key -> JSON text of its value (S), or with `encryption_keys`
                   its sealed form (B, see `_cipher.py`)
    ttl         N  epoch second after which the session is dead (DynamoDB TTL attribute)
    created     N  epoch second of creation, for the absolute lifetime
    ver         N  number of writes that changed data or binding: `rotate` is conditioned on it
    rotated     N  set on the tombstone `rotate` leaves: when the id was replaced
    wid         S  a random token of the last write, and wid1..wid5 those of the five
                   writes before it: a write whose answer was lost recognises its own
                   work by its token, even after other writes
    user_id     S  the keyed hash of the user the session is bound to, if any (the key
                   of the user index; `_users.hash_user_id`, never the raw id)
    last_seen   N  epoch second of the last write (every write sets it: no write of its own)
    device      S  the label of the device a bound session was signed in on
"""

from __future__ import annotations

import secrets
from collections.abc import Collection, Mapping
from itertools import pairwise
from typing import Any

from ._stored import StoredSession
from ._users import UNKNOWN_DEVICE, UserSession

PARTITION_KEY = "session_id"
DATA = "data"
TTL = "ttl"  # a DynamoDB reserved word: expressions name it through "#ttl"
CREATED = "created"
VERSION = "ver"
ROTATED = "rotated"
USER_ID = "user_id"
LAST_SEEN = "last_seen"
DEVICE = "device"
#: What the user index projects besides the keys: what listing a user's devices needs,
#: so that it is one Query. Never the session data.
LISTED = (TTL, CREATED, LAST_SEEN, DEVICE)
#: The global secondary index on `user_id` that `create-table --with-user-index` adds.
USER_INDEX = "user_id-index"
# The write tokens an item keeps, newest first. Each update shifts them down one
# place (the right-hand sides read the item as it was); the oldest drops out.
TOKENS = ("wid", "wid1", "wid2", "wid3", "wid4", "wid5")  # about 100 bytes in all
_SHIFT_TOKENS = [f"{new} = if_not_exists({old}, :wid)" for old, new in pairwise(TOKENS)]
# An expired item under the key counts as absent: ids are never reused, but a
# retried write must not trip over an old item that TTL has not deleted yet.
CREATE_CONDITION = f"attribute_not_exists({PARTITION_KEY}) OR #ttl <= :now"
TTL_NAME = {"#ttl": TTL}


def key(session_key: str) -> dict[str, Any]:
    """The DynamoDB key of the item of `session_key` (a hashed session id)."""
    return {PARTITION_KEY: {"S": session_key}}


def write_token() -> str:
    """A fresh token for one write: 72 random bits, never shared by two writes."""
    return secrets.token_urlsafe(9)


def value(content: str | bytes) -> dict[str, Any]:
    """The attribute value of a map entry: JSON text, or its sealed bytes."""
    return {"S": content} if isinstance(content, str) else {"B": content}


def device_attribute(label: str | bytes) -> dict[str, Any]:
    """The attribute value that stores a device label (the one place that writes it):
    its text, or with `encryption_keys` its sealed bytes."""
    return value(label)


def read_device(item: Mapping[str, Any]) -> str | None:
    """The device label an item holds, if any (the one place that reads it); a store
    with `encryption_keys` opens a sealed label before (`_sealed.ItemSealer`)."""
    label: str | None = item.get(DEVICE, {}).get("S")
    return label


def new_item(
    session_key: str,
    data: Mapping[str, str | bytes],
    *,
    expires: int,
    created: int,
    now: int,
    token: str,
    user_id: str | None,
    device: str | bytes | None,
) -> dict[str, Any]:
    """The item of a new session."""
    item: dict[str, Any] = {
        PARTITION_KEY: {"S": session_key},
        DATA: {"M": {k: value(v) for k, v in data.items()}},
        TTL: {"N": str(expires)},
        CREATED: {"N": str(created)},
        LAST_SEEN: {"N": str(now)},
        VERSION: {"N": "1"},
        TOKENS[0]: {"S": token},
    }
    if user_id is not None:
        item[USER_ID] = {"S": user_id}
    if device is not None:
        item[DEVICE] = device_attribute(device)
    return item


def stored_session(item: Mapping[str, Any]) -> StoredSession:
    """The session an item holds."""
    return StoredSession(
        data={k: v["S"] for k, v in item.get(DATA, {}).get("M", {}).items()},
        expires=int(item[TTL]["N"]),
        created=int(item.get(CREATED, {}).get("N", "0")),
        version=int(item.get(VERSION, {}).get("N", "0")),
        user_id=item.get(USER_ID, {}).get("S"),
        rotated=ROTATED in item,
        last_seen=_last_seen(item),
        device=read_device(item),
    )


def _last_seen(item: Mapping[str, Any]) -> int:
    # An item written before `last_seen` existed was last seen, at the latest, created.
    return int(item.get(LAST_SEEN, item.get(CREATED, {})).get("N", "0"))


def user_session(item: Mapping[str, Any], handle: str, current: str | None) -> UserSession:
    """The listing's record of an item (read from the index or the table)."""
    return UserSession(
        handle=handle,
        created=int(item.get(CREATED, {}).get("N", "0")),
        last_seen=_last_seen(item),
        device=read_device(item) or UNKNOWN_DEVICE,
        current=handle == current,
    )


def holds_token(item: Mapping[str, Any] | None, token: str) -> bool:
    """Whether a write tagged `token` is among the item's recent writes."""
    return item is not None and any(item.get(name, {}).get("S") == token for name in TOKENS)


def bound_and_live(item: Mapping[str, Any], user_id: str, now: float) -> bool:
    """Whether an item is a live session of `user_id` (its hashed id)."""
    return item.get(USER_ID, {}).get("S") == user_id and int(item[TTL]["N"]) > now


def retire_request(*, version: int, now: int, tombstone_expires: int, token: str) -> dict[str, Any]:
    """The UpdateItem that turns a session, as loaded at `version`, into a tombstone."""
    # A session loaded from an item without `ver` (written before it existed) has version 0.
    unchanged = f"{VERSION} = :ver" if version else f"attribute_not_exists({VERSION})"
    values: dict[str, Any] = {
        ":now": {"N": str(now)},
        ":ttl": {"N": str(tombstone_expires)},
        ":wid": {"S": token},
    }
    if version:
        values[":ver"] = {"N": str(version)}
    return {
        "UpdateExpression": (
            f"SET {ROTATED} = :now, #ttl = :ttl, {TOKENS[0]} = :wid, "
            + ", ".join(_SHIFT_TOKENS)
            + f" REMOVE #d, {USER_ID}, {DEVICE}"
        ),
        "ConditionExpression": (
            f"attribute_exists({PARTITION_KEY}) AND #ttl > :now AND "
            f"attribute_not_exists({ROTATED}) AND {unchanged}"
        ),
        "ExpressionAttributeNames": {**TTL_NAME, "#d": DATA},
        "ExpressionAttributeValues": values,
    }


class UpdateBuilder:
    """Builds one UpdateItem request: placeholders for every session key, since
    keys may contain dots, spaces or reserved words."""

    def __init__(self, now: int, expires: int, token: str) -> None:
        self.names: dict[str, str] = dict(TTL_NAME)
        self.values: dict[str, Any] = {
            ":now": {"N": str(now)},
            ":ttl": {"N": str(expires)},
            ":wid": {"S": token},
        }
        self._placeholders: dict[str, str] = {}

    def _name(self, session_key: str) -> str:
        if session_key not in self._placeholders:
            placeholder = f"#k{len(self._placeholders)}"
            self._placeholders[session_key] = placeholder
            self.names[placeholder] = session_key
            self.names["#d"] = DATA  # only when used: DynamoDB refuses unused names
        return "#d." + self._placeholders[session_key]

    def _value(self, content: str | bytes) -> str:
        placeholder = f":v{len(self.values)}"
        self.values[placeholder] = value(content)
        return placeholder

    def build(
        self,
        changed: Mapping[str, str | bytes],
        removed: Collection[str],
        expected: Mapping[str, str | bytes | None] | None,
        user_id: str | None = None,
        device: str | bytes | None = None,
    ) -> dict[str, Any]:
        """The request's expressions, names and values."""
        # Every write sets `last_seen`: the sliding expiry's refresh keeps it fresh
        # at no cost of its own.
        sets = ["#ttl = :ttl", f"{LAST_SEEN} = :now", f"{TOKENS[0]} = :wid", *_SHIFT_TOKENS]
        sets += [f"{self._name(k)} = {self._value(v)}" for k, v in changed.items()]
        if user_id is not None:
            sets.append(f"{USER_ID} = {self._value(user_id)}")
        if device is not None:
            self.values[":dev"] = device_attribute(device)
            sets.append(f"{DEVICE} = :dev")
        expression = "SET " + ", ".join(sets)
        if removed:
            expression += " REMOVE " + ", ".join(self._name(k) for k in removed)
        if changed or removed or user_id is not None:
            # A refresh of the expiry alone must not make a concurrent `rotate` fail.
            expression += f" ADD {VERSION} :one"
            self.values[":one"] = {"N": "1"}
        return {
            "UpdateExpression": expression,
            "ConditionExpression": " AND ".join(self._conditions(expected)),
            "ExpressionAttributeNames": self.names,
            "ExpressionAttributeValues": self.values,
        }

    def _conditions(self, expected: Mapping[str, str | bytes | None] | None) -> list[str]:
        # Never resurrect a session that was deleted, has expired or was rotated meanwhile.
        conditions = [
            f"attribute_exists({PARTITION_KEY})",
            "#ttl > :now",
            f"attribute_not_exists({ROTATED})",
        ]
        for k, text in (expected or {}).items():
            if text is None:
                conditions.append(f"attribute_not_exists({self._name(k)})")
            else:
                conditions.append(f"{self._name(k)} = {self._value(text)}")
        return conditions
