"""DynamoDBSessionDict: what `request.session` is.

A `dict` that follows Starlette's session protocol (`accessed`, `modified`,
`mark_accessed()`, `mark_modified()`), remembers the JSON of every key as it was
loaded, and so can tell at save time exactly which keys changed, nested changes
included (`session["cart"].append(x)` needs no `mark_modified()`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from . import _serialization as json_codec
from ._exceptions import SessionDataError, SessionError, SessionTooLargeError

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

# A DynamoDB index partition key may hold up to 2048 bytes; stay well inside it.
MAX_USER_ID_BYTES = 1024


@dataclass(frozen=True, slots=True)
class Changes:
    """What a save must write: new JSON per key, removed keys, and what each held."""

    changed: dict[str, str]
    removed: frozenset[str]
    expected: dict[str, str | None]

    def __bool__(self) -> bool:
        return bool(self.changed or self.removed)


class DynamoDBSessionDict(dict[str, Any]):
    """The session of one request: a dict of JSON-serializable values.

    Values are checked when set: a value JSON can't encode raises
    `SessionSerializationError`, and a session over DynamoDB's item limit raises
    `SessionTooLargeError`, at the line that did it.
    """

    accessed: bool = False
    modified: bool = False
    #: True when this request runs on the fallback store because the primary failed.
    degraded: bool = False
    #: The last library error this session raised into the app, if any: the
    #: middleware holds back a 5xx that follows it until the app returns, to tell
    #: an error handler's answer (replaced by its own) from the app's (kept).
    raised: SessionError | None = None

    #: The opaque handle of this session in `store.list_user_sessions` (see
    #: `UserSession.handle`); None for a session not stored yet: a new session gets
    #: its handle when the response stores it, and a `regenerate_id()` a new one.
    handle: str | None = None

    def __init__(
        self,
        stored: Mapping[str, str] | None = None,
        *,
        user_id: str | None = None,
        user_key: str | None = None,
        hash_user_id: Callable[[str], str] | None = None,
        entry_overhead: int = 0,
    ) -> None:
        super().__init__({k: json_codec.decode(v) for k, v in (stored or {}).items()})
        #: The user id given to `bind_user` in this request, or None: the store
        #: keeps only its keyed hash (`user_key`), so a loaded session can't tell it.
        self.user_id = user_id
        #: The binding as the store keeps it (`store.hash_user_id(user_id)`), as loaded.
        self.user_key = user_key
        self._hash_user_id = hash_user_id
        self.user_changed = False
        self._loaded: dict[str, str] = dict(stored or {})
        #: Bytes the store adds to each value beyond its JSON (encryption's seal).
        self.entry_overhead = entry_overhead
        self._sizes = {k: self._entry_size(k, v) for k, v in self._loaded.items()}
        self._unavailable: SessionError | None = None
        self.regenerate_requested = False
        self.cleared = False

    @classmethod
    def unavailable(cls, error: SessionError) -> DynamoDBSessionDict:
        """A session that raises `error` as soon as the app uses it."""
        session = cls()
        session._unavailable = error
        return session

    @property
    def is_empty(self) -> bool:
        """No data and no user binding: nothing to store (a bound session with no
        data is a signed-in user, not an empty session)."""
        return not self and not self.bound

    @property
    def bound(self) -> bool:
        """Whether the session is bound to a user (in this request, or when loaded)."""
        return self.user_id is not None or self.user_key is not None

    @property
    def is_available(self) -> bool:
        """False when the session could not be loaded (or was skipped)."""
        return self._unavailable is None

    def mark_accessed(self) -> None:
        """Called by `request.session`; raises if the session could not be loaded."""
        if self._unavailable is not None:
            self.raised = self._unavailable
            raise self._unavailable
        self.accessed = True

    def mark_modified(self) -> None:
        """Flag the session as changed (never needed for nested changes)."""
        self.mark_accessed()
        self.modified = True

    def regenerate_id(self) -> None:
        """Keep the data under a new session id and end the old one (call it at login)."""
        self.mark_modified()
        self.regenerate_requested = True

    def bind_user(self, user_id: str) -> None:
        """Bind this session to `user_id` (call it at login), so that
        `store.revoke_user_sessions(user_id)` can end it. Saved with the session;
        `regenerate_id()` keeps the binding, `clear()` drops it."""
        if not isinstance(user_id, str) or not 0 < len(user_id.encode()) <= MAX_USER_ID_BYTES:
            raise SessionDataError(
                f"user_id must be a non-empty string of at most {MAX_USER_ID_BYTES} bytes "
                "(the table keeps its keyed hash, in the user index)"
            )
        self.mark_accessed()
        if user_id != self.user_id and not self._bound_to(user_id):
            self._check_total(sum(self._sizes.values()), user_id, None)
            self.mark_modified()
            self.user_changed = True
        self.user_id = user_id

    def _bound_to(self, user_id: str) -> bool:
        """Whether the loaded binding is `user_id` already (no write needed)."""
        hashed = self._hash_user_id
        return self.user_key is not None and hashed is not None and hashed(user_id) == self.user_key

    def __setitem__(self, key: str, value: Any) -> None:
        self._check(key, value)
        self.mark_modified()
        super().__setitem__(key, value)

    def __delitem__(self, key: str) -> None:
        self.mark_modified()
        super().__delitem__(key)
        self._sizes.pop(key, None)

    def clear(self) -> None:
        """Empty the session; at save, its stored item is deleted (logout)."""
        self.mark_modified()
        self.cleared = True
        self.user_id, self.user_key, self.user_changed = None, None, False
        super().clear()
        self._sizes.clear()

    def pop(self, key: str, *default: Any) -> Any:
        if key in self:
            self.mark_modified()
            self._sizes.pop(key, None)
        return super().pop(key, *default)

    def popitem(self) -> tuple[str, Any]:
        item = super().popitem()
        self.mark_modified()
        self._sizes.pop(item[0], None)
        return item

    def setdefault(self, key: str, default: Any = None) -> Any:
        if key not in self:
            self[key] = default
        return super().__getitem__(key)

    def update(self, *args: Any, **kwargs: Any) -> None:
        self.mark_modified()
        for key, value in dict(*args, **kwargs).items():
            self[key] = value

    def __ior__(self, other: Any) -> DynamoDBSessionDict:  # type: ignore[override,misc]
        self.update(other)
        return self

    def _check(self, key: str, value: Any) -> None:
        try:
            json_codec.check_key(key)
            size = self._entry_size(key, json_codec.encode(key, value))
            total = sum(self._sizes.values()) - self._sizes.get(key, 0) + size
        except SessionError as exc:
            self.raised = exc
            raise
        self._check_total(total, self.user_id, key)
        self._sizes[key] = size

    def _entry_size(self, key: str, encoded: str) -> int:
        return json_codec.entry_size(key, encoded) + self.entry_overhead

    def _check_total(self, data_size: int, user_id: str | None, largest_key: str | None) -> None:
        # The data shares DynamoDB's item limit with the bookkeeping and the user id.
        limit = json_codec.DATA_LIMIT - json_codec.user_id_size(user_id)
        if data_size > limit:
            self.raised = SessionTooLargeError(data_size, limit, largest_key)
            raise self.raised

    def encoded(self) -> dict[str, str]:
        """Every value as JSON text; raises `SessionDataError` if the session can't be stored."""
        encoded = {
            json_codec.check_key(k): json_codec.encode(k, v, loaded=self._loaded.get(k))
            for k, v in self.items()
        }
        sizes = {k: self._entry_size(k, v) for k, v in encoded.items()}
        largest = max(sizes, key=sizes.__getitem__) if sizes else None
        self._check_total(sum(sizes.values()), self.user_id, largest)
        self._sizes = sizes  # exact now, nested changes included
        return encoded

    @property
    def size(self) -> int:
        """Bytes the session's data and user binding take in the item, as of the
        last save (or set, for values set since)."""
        return sum(self._sizes.values()) + json_codec.user_id_size(self.user_id)

    def changes(self) -> Changes:
        """The keys to write since load: re-encoding finds nested changes too."""
        if not self.accessed:
            return Changes({}, frozenset(), {})
        encoded = self.encoded()
        changed = {k: v for k, v in encoded.items() if self._loaded.get(k) != v}
        removed = frozenset(self._loaded.keys() - encoded.keys())
        expected = {k: self._loaded.get(k) for k in [*changed, *removed]}
        return Changes(changed, removed, expected)
