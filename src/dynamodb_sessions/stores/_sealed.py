"""How DynamoDBStore applies its `Cipher` to items: seal the values of the data map
on write, open them on read, and condition per-key writes on the stored bytes.

The map's keys stay readable; each value is a Binary attribute (see `_cipher.py`).
A String value is plaintext written before encryption was turned on: it is read
as it is and sealed on its next write.
"""

from __future__ import annotations

import base64
from typing import TYPE_CHECKING, Any

from .._logging import log_id, logger
from . import _item as item_format
from ._cipher import UnreadableValue
from ._item import DATA, DEVICE

if TYPE_CHECKING:
    from collections.abc import Mapping

    from ._cipher import Cipher
    from ._stored import StoredSession


class Opened(str):
    """The JSON text of a value as loaded, remembering what the table held for it
    (`stored`: the sealed bytes, or the plaintext): an update conditions on that,
    since sealing the same text again gives other bytes (the nonce is random)."""

    stored: str | bytes

    def __new__(cls, text: str, stored: str | bytes) -> Opened:
        opened = super().__new__(cls, text)
        opened.stored = stored
        return opened


def binary(value: str | bytes) -> bytes:
    """A Binary attribute's bytes: boto3 gives bytes, the lean caller base64 text."""
    return value if isinstance(value, bytes) else base64.b64decode(value)


class PlainItems:
    """Items as they are: a store without `encryption_keys`."""

    cipher: Cipher | None = None
    overhead = 0

    def stored(self, session_key: str, item: Mapping[str, Any]) -> StoredSession | None:
        """The session an item holds, or None (and a warning) if its values are sealed."""
        try:
            return item_format.stored_session(item)
        except KeyError:  # a Binary value: sealed, and this store has no keys
            logger.warning(
                "session %s is encrypted and this store has no encryption_keys: treated as absent",
                log_id(session_key),
            )
            return None

    def seal(self, session_key: str, data: Mapping[str, str]) -> Mapping[str, str | bytes]:
        """The values to write for `data`: its JSON texts."""
        return data

    def seal_device(self, session_key: str, label: str) -> str | bytes:
        """The device label to write: the label itself."""
        return label

    def open_device(self, session_key: str, item: Mapping[str, Any]) -> Mapping[str, Any]:
        """`item` as it is (a sealed label is not read: `_item.read_device` skips it)."""
        return item

    def opened(self, session_key: str, item: Mapping[str, Any]) -> Mapping[str, Any] | None:
        """`item` with its values opened, or None if one can't be."""
        return item

    @staticmethod
    def needs_current(expected: Mapping[str, str | None]) -> bool:
        """Never: the table holds the texts themselves."""
        return False

    @staticmethod
    def expected(
        expected: Mapping[str, str | None], current: Mapping[str, Any] | None
    ) -> Mapping[str, str | bytes | None]:
        """What each key must hold: the text itself."""
        return expected


class ItemSealer(PlainItems):
    """The store's cipher, applied to items and requests."""

    def __init__(self, cipher: Cipher) -> None:
        self.cipher = self._cipher = cipher
        self.overhead = cipher.overhead

    def stored(self, session_key: str, item: Mapping[str, Any]) -> StoredSession | None:
        """The session an item holds, or None (and a warning) if it can't be opened."""
        try:
            opened = self.open_item(session_key, item)
        except UnreadableValue as reason:
            logger.warning(
                "session %s can't be decrypted (%s): treated as absent", log_id(session_key), reason
            )
            return None
        return item_format.stored_session(opened)

    def opened(self, session_key: str, item: Mapping[str, Any]) -> Mapping[str, Any] | None:
        """`item` with its values opened, or None if one can't be."""
        try:
            return self.open_item(session_key, item)
        except UnreadableValue:
            return None

    def open_item(self, session_key: str, item: Mapping[str, Any]) -> dict[str, Any]:
        """`item` with its data opened; raise `UnreadableValue` if a value won't open."""
        data = item.get(DATA, {}).get("M")
        if not data:
            return dict(self.open_device(session_key, item))
        opened = {name: {"S": self._open(session_key, name, v)} for name, v in data.items()}
        return {**self.open_device(session_key, item), DATA: {"M": opened}}

    def seal_device(self, session_key: str, label: str) -> str | bytes:
        """The device label sealed, bound to its session and attribute."""
        return self._cipher.bound(session_key).seal(DEVICE, label)

    def open_device(self, session_key: str, item: Mapping[str, Any]) -> Mapping[str, Any]:
        """`item` with its device label opened. A label that won't open only loses the
        label (listed as an unknown device): it holds no session data."""
        label = item.get(DEVICE)
        if not label or "B" not in label:  # none, or plaintext written before encryption
            return item
        try:
            text = self._cipher.bound(session_key).open(DEVICE, label["B"])
        except UnreadableValue:
            return {name: v for name, v in item.items() if name != DEVICE}
        return {**item, DEVICE: {"S": text}}

    def _open(self, session_key: str, name: str, value: Mapping[str, Any]) -> Opened:
        if "S" in value:  # plaintext, stored before encryption was turned on
            return Opened(value["S"], value["S"])
        if "B" not in value:
            raise UnreadableValue("it is neither a sealed value nor JSON text")
        sealed = binary(value["B"])
        return Opened(self._cipher.open(session_key, name, sealed), sealed)

    def seal(self, session_key: str, data: Mapping[str, str]) -> Mapping[str, str | bytes]:
        """Each value of `data` sealed for its key of session `session_key`."""
        return {name: self._cipher.seal(session_key, name, text) for name, text in data.items()}

    @staticmethod
    def needs_current(expected: Mapping[str, str | None]) -> bool:
        """Whether some expected text was not loaded through this store (a caller's
        own text): its stored bytes are unknown until the item is read."""
        return any(v is not None and not isinstance(v, Opened) for v in expected.values())

    @staticmethod
    def expected(
        expected: Mapping[str, str | None], current: Mapping[str, Any] | None
    ) -> Mapping[str, str | bytes | None]:
        """What each key must hold in the table for the write to go ahead. `current`,
        the opened item if it was read, gives the stored bytes of a caller's text."""
        stored: dict[str, Any] = (current or {}).get(DATA, {}).get("M", {})
        conditions: dict[str, str | bytes | None] = {}
        for name, text in expected.items():
            now = stored.get(name, {}).get("S")
            if isinstance(text, Opened):
                conditions[name] = text.stored
            elif text is not None and isinstance(now, Opened) and now == text:
                conditions[name] = now.stored
            else:  # None (absent), or a text the table doesn't hold: the write is refused
                conditions[name] = text
        return conditions
