"""Encryption at rest of session values: AES-256-GCM, one value at a time.

A key is given as `"<key id>:<base64 of 32 random bytes>"` (`dynamodb-sessions
generate-key` prints one). The first key of the list seals, every key opens: add a
new key in front to rotate, keep the old ones until no value uses them.

A sealed value is one DynamoDB Binary attribute value::

    version (1 byte, 1) | key id length (1 byte) | key id (ASCII) | nonce (12 bytes)
    | ciphertext and GCM tag (text length + 16 bytes)

30 bytes plus the key id on top of the value's JSON text. The associated data is
the header (version and key id), the hashed session id and the field the value
belongs to (a map key of the session's data, or a top-level attribute's name), so
a value moved to another session, another key or another attribute fails to open.
The nonce is random: 2**32 seals under one key stay far inside GCM's bounds.

`cryptography` is imported only when a `Cipher` is built: importing the package
never loads it.
"""

from __future__ import annotations

import base64
import binascii
import os
from typing import TYPE_CHECKING

from .._exceptions import SessionConfigError

if TYPE_CHECKING:
    from collections.abc import Sequence

    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

__all__ = ["Cipher", "SessionCipher", "UnreadableValue", "generate_key", "parse_keys"]

VERSION = 1
KEY_BYTES = 32
NONCE_BYTES = 12
TAG_BYTES = 16
MAX_KEY_ID = 32
_KEY_ID_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.")
_GENERATE = "make one with `dynamodb-sessions generate-key`"
_ID_RULE = f"1 to {MAX_KEY_ID} ASCII letters, digits, '_', '-' or '.'"
# The field a value belongs to: a map key of the data ("d") or a top-level attribute ("a").
_DATA, _ATTRIBUTE = b"d", b"a"


class UnreadableValue(Exception):
    """A sealed value that no configured key opens: its key was removed, or the
    value was tampered with or moved to another session, key or attribute."""


def parse_keys(keys: Sequence[str]) -> list[tuple[str, bytes]]:
    """Each key's id and secret; raise `SessionConfigError` naming the fix, never the key."""
    if isinstance(keys, str):
        raise SessionConfigError(
            "encryption_keys must be a list of keys, not one string: pass [key], or "
            "key_text.split(',') for comma-separated keys (`dynamodb-sessions generate-key` "
            "prints one key)"
        )
    if not keys:
        raise SessionConfigError(
            f"encryption_keys is empty: give at least one key ({_GENERATE}), or leave "
            "encryption_keys out to store sessions unencrypted"
        )
    parsed = [_parse_key(position, key) for position, key in enumerate(keys, 1)]
    ids = [key_id for key_id, _ in parsed]
    duplicate = next((key_id for key_id in ids if ids.count(key_id) > 1), None)
    if duplicate is not None:
        raise SessionConfigError(
            f"encryption_keys has the key id {duplicate!r} twice: each key needs its own id "
            "(make one with `dynamodb-sessions generate-key --key-id NEW_ID`)"
        )
    return parsed


def _parse_key(position: int, key: object) -> tuple[str, bytes]:
    where = f"encryption key #{position}"
    if not isinstance(key, str) or ":" not in key:
        raise SessionConfigError(
            f'{where} is not in the form "<key id>:<base64 of 32 bytes>" ({_GENERATE})'
        )
    key_id, _, encoded = key.partition(":")
    if not _valid_id(key_id):
        raise SessionConfigError(f"{where}: its id must be {_ID_RULE} ({_GENERATE})")
    try:
        secret = base64.b64decode(
            encoded.strip().replace("-", "+").replace("_", "/"), validate=True
        )
    except (binascii.Error, ValueError):
        secret = b""
    if len(secret) != KEY_BYTES:
        raise SessionConfigError(
            f"{where} (id {key_id!r}) is not base64 of exactly {KEY_BYTES} bytes ({_GENERATE})"
        )
    return key_id, secret


def _valid_id(key_id: str) -> bool:
    return 0 < len(key_id) <= MAX_KEY_ID and set(key_id) <= _KEY_ID_CHARS


def generate_key(key_id: str | None = None) -> str:
    """A new key, `"<key id>:<base64>"`: 32 bytes from the OS's random source. The
    default id is `k` and the UTC date and time (e.g. `k20261202T1810`)."""
    if key_id is None:
        import datetime

        key_id = "k" + datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M")
    if not _valid_id(key_id):
        raise SessionConfigError(f"the key id {key_id!r} must be {_ID_RULE}")
    return f"{key_id}:{base64.b64encode(os.urandom(KEY_BYTES)).decode()}"


def _aesgcm() -> type[AESGCM]:
    try:
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM
    except ImportError:
        raise SessionConfigError(
            "encryption_keys needs the `cryptography` package: "
            "pip install 'dynamodb-sessions[encryption]'"
        ) from None
    return AESGCM


class Cipher:
    """Seals and opens session values with the configured keys (see the module)."""

    def __init__(self, keys: Sequence[str]) -> None:
        parsed = parse_keys(keys)
        aesgcm = _aesgcm()
        self.key_id = parsed[0][0]
        self._headers = {kid: bytes([VERSION, len(kid)]) + kid.encode() for kid, _ in parsed}
        self._keys = {kid: aesgcm(secret) for kid, secret in parsed}
        #: Bytes a sealed value takes beyond its text (with the longest key id).
        self.overhead = max(len(h) for h in self._headers.values()) + NONCE_BYTES + TAG_BYTES

    def seal(self, session_key: str, name: str, text: str) -> bytes:
        """The sealed form of `text`, the value of map key `name` of session `session_key`."""
        return self._seal(session_key, _DATA, name, text)

    def open(self, session_key: str, name: str, sealed: bytes) -> str:
        """The text that `seal` sealed; raise `UnreadableValue` if no key opens it."""
        return self._open(session_key, _DATA, name, sealed)

    def bound(self, session_key: str) -> SessionCipher:
        """This cipher for the top-level attributes of one session's item."""
        return SessionCipher(self, session_key)

    def sealed_with(self, sealed: bytes) -> str | None:
        """The id of the key a sealed value was sealed with, or None if it isn't one."""
        if len(sealed) < 2 or sealed[0] != VERSION:
            return None
        return sealed[2 : 2 + sealed[1]].decode("ascii", "replace")

    def _seal(self, session_key: str, kind: bytes, name: str, text: str) -> bytes:
        header = self._headers[self.key_id]
        nonce = os.urandom(NONCE_BYTES)
        aad = _associated(header, session_key, kind, name)
        return header + nonce + self._keys[self.key_id].encrypt(nonce, text.encode(), aad)

    def _open(self, session_key: str, kind: bytes, name: str, sealed: bytes) -> str:
        from cryptography.exceptions import InvalidTag

        key_id = self.sealed_with(sealed)
        aead = self._keys.get(key_id) if key_id is not None else None
        if aead is None or key_id is None:
            raise UnreadableValue(f"sealed with key id {key_id!r}, which is not configured")
        header = self._headers[key_id]
        if len(sealed) < len(header) + NONCE_BYTES + TAG_BYTES:
            raise UnreadableValue("it is too short to be a sealed value")
        nonce, ciphertext = sealed[len(header) :][:NONCE_BYTES], sealed[len(header) :][NONCE_BYTES:]
        try:
            plain = aead.decrypt(nonce, ciphertext, _associated(header, session_key, kind, name))
        except InvalidTag:
            raise UnreadableValue(f"its tag does not verify under key id {key_id!r}") from None
        return plain.decode()


class SessionCipher:
    """A `Cipher` bound to one session: seals and opens top-level attributes of its
    item (e.g. a device label), each bound to its attribute's name."""

    def __init__(self, cipher: Cipher, session_key: str) -> None:
        self.cipher, self.session_key = cipher, session_key

    def seal(self, name: str, value: str) -> bytes:
        """The sealed form of `value`, stored in attribute `name` of this session's item."""
        return self.cipher._seal(self.session_key, _ATTRIBUTE, name, value)

    def open(self, name: str, sealed: bytes | str) -> str:
        """The value `seal` sealed (bytes, or the base64 text the lean caller reads);
        raise `UnreadableValue` if no key opens it."""
        if isinstance(sealed, str):
            sealed = base64.b64decode(sealed)
        return self.cipher._open(self.session_key, _ATTRIBUTE, name, sealed)


def _associated(header: bytes, session_key: str, kind: bytes, name: str) -> bytes:
    # Length-prefixed session key, one byte of kind, then the name: no two
    # (session, field) pairs give the same bytes.
    key = session_key.encode()
    return header + len(key).to_bytes(4, "big") + key + kind + name.encode()
