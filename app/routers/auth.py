"""Sign-in through OpenID Connect, the callback, and sign-out."""

from __future__ import annotations

import logging
from typing import Any

from authlib.integrations.base_client.errors import MismatchingStateError, OAuthError
from fastapi import APIRouter, Depends
from joserfc.errors import JoseError
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from app.config import OIDCSettings
from app.pages import absolute_url, current_user, message_page, render, session_loaded, settings_of
from app.services import oidc
from dynamodb_sessions import DynamoDBSessionDict

logger = logging.getLogger(__name__)
router = APIRouter(dependencies=[Depends(session_loaded)])  # the session, loaded first

USER_CLAIMS = ("sub", "email", "name", "preferred_username")


def _oidc(request: Request) -> tuple[Any, OIDCSettings] | None:
    settings = settings_of(request).oidc
    client = request.app.state.oidc_client
    return None if settings is None or client is None else (client, settings)


def _not_configured(request: Request) -> Response:
    return message_page(
        request,
        "Sign-in is not configured",
        "Set OIDC_METADATA_URL and OIDC_CLIENT_ID (see env.example) and restart the app.",
        status_code=503,
        retry_login=False,
    )


def _provider_unreachable(request: Request, exc: Exception) -> Response:
    logger.warning("OIDC provider unreachable: %r", exc)
    return message_page(
        request,
        "The sign-in provider can't be reached",
        "We could not talk to the sign-in provider. Please try again in a moment.",
        status_code=502,
    )


@router.get("/login", name="login")
async def login(request: Request) -> Response:
    """Send the browser to the provider's sign-in page."""
    configured = _oidc(request)
    if configured is None:
        return _not_configured(request)
    client, _ = configured
    try:
        response: Response = await client.authorize_redirect(
            request, absolute_url(request, "auth_callback")
        )
    except oidc.PROVIDER_ERRORS as exc:
        return _provider_unreachable(request, exc)
    return response


@router.get("/auth/callback", name="auth_callback")
async def auth_callback(request: Request) -> Response:
    """Finish sign-in: check the state, exchange the code, start a fresh session."""
    configured = _oidc(request)
    if configured is None:
        return _not_configured(request)
    client, _ = configured
    try:
        token = await client.authorize_access_token(request)
        claims = token.get("userinfo") or await client.userinfo(token=token)
    except MismatchingStateError:
        if current_user(request) is not None:  # a replayed callback (Back, then reload)
            return RedirectResponse(request.url_for("index"), status_code=303)
        return message_page(
            request,
            "This sign-in link has expired",
            "The sign-in was started in another browser or tab, or took too long and "
            "its session expired. Please sign in again.",
            status_code=400,
        )
    except OAuthError as exc:
        logger.info("OIDC callback rejected: %s %s", exc.error, exc.description)
        return message_page(
            request,
            "Sign-in did not complete",
            f"The sign-in provider answered: {exc.error or 'error'}"
            f"{': ' + exc.description if exc.description else ''}. Please sign in again.",
            status_code=400,
        )
    except JoseError as exc:
        logger.warning("OIDC ID token rejected: %r", exc)
        return message_page(
            request,
            "Sign-in did not complete",
            "The sign-in provider's answer could not be verified. Please sign in again.",
            status_code=400,
        )
    except oidc.PROVIDER_ERRORS as exc:
        return _provider_unreachable(request, exc)
    _start_signed_in_session(request, dict(claims), token.get("id_token"))
    return RedirectResponse(request.url_for("index"), status_code=303)


def _start_signed_in_session(
    request: Request, claims: dict[str, Any], id_token: str | None
) -> None:
    # A new session id at login defeats session fixation: an id planted in the
    # browser before sign-in is worth nothing after it.
    if isinstance(request.session, DynamoDBSessionDict):
        request.session.regenerate_id()
        # Bound to the opaque, stable `sub` (not the email, which can change), so
        # that "sign out everywhere" (app/routers/account.py) can end this session.
        sub = claims.get("sub")
        if isinstance(sub, str) and sub:
            request.session.bind_user(sub)
    request.session["user"] = {key: claims[key] for key in USER_CLAIMS if key in claims}
    if id_token:
        request.session["id_token"] = id_token
    logger.info("signed in sub=%s", claims.get("sub"))


@router.get("/logout", name="logout_form")
async def logout_form(request: Request) -> Response:
    """A page with the sign-out button (signing out is a POST, so links can't do it)."""
    return render(request, "logout.html")


@router.post("/logout", name="logout")
async def logout(request: Request) -> Response:
    """End the session here, then at the provider when it has a logout endpoint."""
    id_token = request.session.get("id_token")
    request.session.clear()
    return await signed_out_redirect(request, id_token)


async def signed_out_redirect(request: Request, id_token: object) -> Response:
    """After `request.session.clear()`: go to the provider's logout, else home."""
    target: str = str(request.url_for("index"))
    configured = _oidc(request)
    if configured is not None:
        client, settings = configured
        try:
            provider_url = await oidc.logout_url(
                client,
                settings,
                return_to=absolute_url(request, "index"),
                id_token=id_token if isinstance(id_token, str) else None,
            )
        except oidc.PROVIDER_ERRORS as exc:
            logger.warning("OIDC metadata unreachable at logout: %r", exc)
            provider_url = None
        target = provider_url or target
    return RedirectResponse(target, status_code=303)
