"""The account page: the signed-in user's devices (one per session), "Sign out" per
device, "Sign out all other devices", and "Sign out everywhere".

Sessions are bound to the user's OIDC `sub` at login (`bind_user`, in
app/routers/auth.py); the table's `user_id-index` lets the store find them all.
Only DynamoDB sessions can do this: a cookie session lives in the browser, and the
server has no list of them to end. On cookie sessions the feature is hidden, and
its POSTs are refused. The forms are POSTs and the session cookie is SameSite=Lax,
so another site can't submit them with the user's cookie (the app has no CSRF
tokens of its own).
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import APIRouter, Depends, Form
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from app.pages import current_user, message_page, plural, render, session_loaded
from app.routers.auth import signed_out_redirect
from app.services.session_store import SessionBackend
from dynamodb_sessions import DynamoDBSessionDict, SessionStoreError, UserSession

logger = logging.getLogger(__name__)
router = APIRouter(dependencies=[Depends(session_loaded)])  # the session, loaded first


def _user_store(request: Request) -> SessionBackend | None:
    """The store behind the DynamoDB middleware, or None on cookie sessions."""
    store: SessionBackend | None = request.app.state.session_store
    if store is None or not isinstance(request.session, DynamoDBSessionDict):
        return None
    return store


def _user_id(request: Request, user: dict[str, Any]) -> str | None:
    session = request.session
    if isinstance(session, DynamoDBSessionDict) and session.user_id:
        return session.user_id
    sub = user.get("sub")
    return sub if isinstance(sub, str) and sub else None


def _please_sign_in(request: Request) -> Response:
    return message_page(request, "Please sign in", "Sign in to see your account.", status_code=401)


def _not_available(request: Request, what: str) -> Response:
    return message_page(
        request,
        "Not available",
        f"{what} needs server-side sessions (USE_DYNAMODB_SESSIONS=true). "
        "With cookie sessions, sign out in each browser.",
        status_code=404,
        retry_login=False,
    )


def _handle(request: Request) -> str | None:
    session = request.session
    return session.handle if isinstance(session, DynamoDBSessionDict) else None


@router.get("/account", name="account")
async def account(request: Request) -> Response:
    """Who is signed in, on which devices, and the buttons that sign them out."""
    user = current_user(request)
    if user is None:
        return _please_sign_in(request)
    store = _user_store(request)
    user_id = _user_id(request, user)
    devices: list[UserSession] | None = None
    count_error = False
    if store is not None and user_id is not None:
        try:
            devices = await store.list_user_sessions(user_id, current=_handle(request))
        except SessionStoreError as exc:
            logger.warning("listing the sessions of sub=%s failed: %s", user_id, exc)
            count_error = True
    return render(
        request,
        "account.html",
        sign_out_everywhere=store is not None and user_id is not None,
        # This session is live, even if the index hasn't caught up with it yet (a
        # GSI is eventually consistent on AWS): count it at least.
        session_count=None if devices is None else max(len(devices), 1),
        devices=devices,
        count_error=count_error,
    )


@router.post("/account/devices/sign-out", name="sign_out_device")
async def sign_out_device(request: Request, handle: str = Form(default="")) -> Response:
    """End one session of this user (another device) by its handle."""
    return await _end_sessions(request, handle=handle)


@router.post("/account/devices/sign-out-others", name="sign_out_other_devices")
async def sign_out_other_devices(request: Request) -> Response:
    """End every session of this user but this one."""
    return await _end_sessions(request, handle=None)


async def _end_sessions(request: Request, *, handle: str | None) -> Response:
    store = _user_store(request)
    if store is None:
        return _not_available(request, "Signing out other devices")
    user = current_user(request)
    user_id = None if user is None else _user_id(request, user)
    if user is None or user_id is None:
        return _please_sign_in(request)
    current = _handle(request)
    try:
        if handle is None:
            ended = await store.revoke_user_sessions(user_id, keep=current)
        elif handle and handle != current:  # this device signs out with /logout
            ended = int(await store.revoke_session(user_id, handle))
        else:
            ended = 0
    except SessionStoreError as exc:
        logger.error("signing out devices failed for sub=%s: %s", user_id, exc)
        return message_page(
            request,
            "Sign out did not complete",
            "Your other sessions could not all be ended. Please try again in a moment.",
            status_code=503,
            retry_login=False,
        )
    logger.info("signed out %d other session(s) of sub=%s", ended, user_id)
    return RedirectResponse(request.url_for("account"), status_code=303)


@router.post("/account/sign-out-everywhere", name="sign_out_everywhere")
async def sign_out_everywhere(request: Request) -> Response:
    """End every session of this user (this one included), then sign out as /logout does."""
    store = _user_store(request)
    if store is None:
        return _not_available(request, "Signing out everywhere")
    user = current_user(request)
    user_id = None if user is None else _user_id(request, user)
    if user is None or user_id is None:
        return _please_sign_in(request)
    id_token = request.session.get("id_token")
    try:
        ended = await store.revoke_user_sessions(user_id)
    except SessionStoreError as exc:
        logger.error("sign out everywhere failed for sub=%s: %s", user_id, exc)
        # A 5xx answer saves nothing (the middleware's rule), so this session is
        # left as it was: signed in, unless the revoke had reached it already.
        return message_page(
            request,
            "Sign out everywhere did not complete",
            "Your sessions could not all be ended: some may still be signed in. "
            "Please try again in a moment.",
            status_code=503,
            retry_login=False,
        )
    logger.info("signed out everywhere sub=%s: %s ended", user_id, plural(ended, "session"))
    # This session's item is gone with the others: clear it, or its save (even the
    # sliding-expiry refresh) would answer 409 instead of signing out.
    request.session.clear()
    return await signed_out_redirect(request, id_token)
