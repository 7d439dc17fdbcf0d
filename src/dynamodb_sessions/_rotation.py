"""A session's move to a new id (`regenerate_id()`, or `clear()` with new data), and
what a save writes about the user and the device: the request path's helpers of
`_lifecycle.SessionHandle`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._cookies import new_session_id, store_key
from ._exceptions import SessionConflictError
from ._logging import log_id, logger
from .stores._users import is_user_key, session_handle

if TYPE_CHECKING:
    from collections.abc import Mapping

    from ._lifecycle import SessionHandle
    from ._policy import Policy
    from ._session import DynamoDBSessionDict
    from .stores._base import SessionStore
    from .stores._stored import StoredSession

_ROTATE_ATTEMPTS = 3  # a rotation's tries while other requests keep writing other keys


def loaded_session(
    stored: StoredSession, store: SessionStore, key: str, policy: Policy
) -> DynamoDBSessionDict:
    """The `request.session` of a stored session."""
    user_key, raw = stored.user_id, None
    if user_key is not None and not is_user_key(user_key):
        # Bound before user ids were hashed: the item names the user. This save
        # rewrites the binding as a hash (one UpdateItem, once per such session).
        raw, user_key = user_key, None
    session = policy.new_session(
        stored.data, user_id=raw, user_key=user_key, hash_user_id=store.hash_user_id
    )
    session.user_changed = raw is not None
    session.handle = session_handle(_key_bytes(store), key)
    return session


def _key_bytes(store: SessionStore) -> bytes | None:
    key = store.user_id_key
    return key.encode() if isinstance(key, str) else key


def user_to_store(session: DynamoDBSessionDict, store: SessionStore) -> str | None:
    """The binding a write stores: the hash of the user bound in this request, else
    the loaded one."""
    if session.user_id is not None:
        return store.hash_user_id(session.user_id)
    return session.user_key


def _stored_form(store: SessionStore, user_id: str | None) -> str | None:
    # A binding loaded from an item written before user ids were hashed is hashed now.
    if user_id is None or is_user_key(user_id):
        return user_id
    return store.hash_user_id(user_id)


async def rotate(handle: SessionHandle, stored: StoredSession) -> str:
    """Move the session to a new id; return that id."""
    old_key = handle.key
    assert old_key is not None
    session, policy = handle.session, handle.policy
    data, user_id = session.encoded(), user_to_store(session, handle.store)
    for _ in range(_ROTATE_ATTEMPTS):
        session_id = new_session_id()
        try:
            await handle.budget.run(
                handle.store.rotate(
                    old_key,
                    store_key(session_id),
                    version=stored.version,
                    data=data,
                    created=stored.created,  # an absolute lifetime survives the new id
                    expires=handle.expires(stored.created),
                    user_id=user_id,
                    tombstone_expires=handle.now() + policy.rotation_grace,
                    device=handle.device_for(user_id, None),
                ),
                whole=True,  # cut after the new item but before the old one's end,
                # the session would be lost: the new id's cookie never sent
            )
        except SessionConflictError as exc:
            if exc.gone:
                raise
            # Another request wrote since the load: rebase on what it wrote.
            stored, data, user_id = await _rebase(handle, old_key, data)
            continue
        logger.info("session %s got a new id %s", log_id(old_key), log_id(store_key(session_id)))
        return session_id
    raise SessionConflictError(())


async def _rebase(
    handle: SessionHandle, key: str, data: Mapping[str, str]
) -> tuple[StoredSession, dict[str, str], str | None]:
    """The data to rotate with, now that another request changed the session."""
    current = await handle.budget.run(handle.store.load(key))
    if current is None or current.rotated:
        raise SessionConflictError((), gone=True, rotated=current is not None)
    session = handle.session
    if session.user_changed or session.cleared:
        user_id = user_to_store(session, handle.store)
    else:
        user_id = _stored_form(handle.store, current.user_id)
    if session.cleared:
        return current, dict(data), user_id  # a fresh start drops what others wrote
    changes = session.changes()
    clashes = [k for k, v in changes.expected.items() if current.data.get(k) != v]
    if clashes and handle.policy.on_conflict == "raise":
        raise SessionConflictError(clashes)
    merged = {k: v for k, v in current.data.items() if k not in changes.removed}
    merged.update(changes.changed)
    return current, merged, user_id
