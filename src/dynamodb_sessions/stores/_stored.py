"""StoredSession: a session as a store hands it back."""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping


class StoredSession:
    """A session as loaded from a store.

    `data` maps each session key to its JSON text; `expires` is the epoch second
    at which the session stops existing (DynamoDB's `ttl`); `created` is when it
    was first stored, for the absolute lifetime; `version` counts the writes;
    `user_id` is the user the session is bound to, if any. `rotated` marks the
    short-lived tombstone that `rotate` leaves under an old key: no data, no user,
    and no write is accepted on it.
    """

    __slots__ = ("created", "data", "expires", "rotated", "user_id", "version")

    def __init__(
        self,
        data: Mapping[str, str],
        expires: int,
        created: int,
        version: int = 0,
        user_id: str | None = None,
        rotated: bool = False,
    ) -> None:
        self.data = data
        self.expires = expires
        self.created = created
        self.version = version
        self.user_id = user_id
        self.rotated = rotated

    def __repr__(self) -> str:
        return (
            f"StoredSession(keys={sorted(self.data)!r}, expires={self.expires}, "
            f"created={self.created}, version={self.version}, rotated={self.rotated})"
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, StoredSession):
            return NotImplemented
        return all(getattr(self, name) == getattr(other, name) for name in self.__slots__)

    __hash__ = None  # type: ignore[assignment]  # mutable-looking value object
