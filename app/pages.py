"""Rendering helpers shared by the routers: templates, the message and 404 pages,
counts in words, absolute URLs."""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.templating import Jinja2Templates

from app.config import Settings
from dynamodb_sessions import DynamoDBSessionDict, load_session

templates = Jinja2Templates(directory=Path(__file__).resolve().parent / "templates")


def plural(count: int, noun: str, many: str | None = None) -> str:
    """`1 session`, `2 sessions`, `0 sessions`; `many` for irregular plurals."""
    return f"{count} {noun if count == 1 else many or noun + 's'}"


def _utc(epoch: int) -> str:
    """Epoch seconds as an ISO 8601 UTC time, to the minute: "2026-12-02 18:05Z"."""
    moment = datetime.datetime.fromtimestamp(epoch, tz=datetime.timezone.utc)
    return moment.strftime("%Y-%m-%d %H:%MZ")


templates.env.filters["utc"] = _utc


def settings_of(request: Request) -> Settings:
    """The settings the running app was built with."""
    settings: Settings = request.app.state.settings
    return settings


async def session_loaded(request: Request) -> None:
    """The dependency of every router that reads `request.session`: the DynamoDB
    middleware runs with `lazy=True`, so the session is loaded here, before the route
    (and authlib, which reads `request.session` synchronously) uses it. Cookie
    sessions come with the request: nothing to do."""
    if settings_of(request).use_dynamodb_sessions:
        await load_session(request)


def current_user(request: Request) -> dict[str, Any] | None:
    """The signed-in user's claims kept in the session, or None."""
    user = request.session.get("user")
    if not isinstance(user, dict):
        return None
    session = request.session
    if isinstance(session, DynamoDBSessionDict) and not session.bound:
        # Signed in before sessions were bound at login (an older release): bind it
        # now, once, so that "sign out everywhere" reaches it too.
        sub = user.get("sub")
        if isinstance(sub, str) and sub:
            session.bind_user(sub)
    return user


def render(request: Request, name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    """Render a template with the signed-in user in its context (unless given)."""
    if "user" not in context:  # not setdefault: that would read the session anyway
        context["user"] = current_user(request)
    oidc = settings_of(request).oidc
    context.setdefault("provider_name", oidc.provider_name if oidc else None)
    return templates.TemplateResponse(request, name, context, status_code=status_code)


def message_page(
    request: Request, title: str, message: str, *, status_code: int, retry_login: bool = True
) -> HTMLResponse:
    """A plain page that says what went wrong and what to do next."""
    return render(
        request,
        "message.html",
        status_code=status_code,
        title=title,
        message=message,
        retry_login=retry_login,
    )


def absolute_url(request: Request, route_name: str) -> str:
    """A route's public URL: PUBLIC_BASE_URL if set (API Gateway stages), else the request's."""
    base = settings_of(request).public_base_url
    if base:
        return base + str(request.app.url_path_for(route_name))
    return str(request.url_for(route_name))


async def http_error(request: Request, exc: Exception) -> Response:
    """The app's answer to an HTTPException: for a 404, its HTML page (JSON for a
    client that asks for JSON and not HTML); any other status as FastAPI answers it."""
    from fastapi.exception_handlers import http_exception_handler

    assert isinstance(exc, HTTPException)
    if exc.status_code != 404:
        return await http_exception_handler(request, exc)
    accept = request.headers.get("accept", "")
    if "application/json" in accept and "text/html" not in accept:
        return JSONResponse({"detail": "Not Found"}, status_code=404)
    # The page doesn't show who is signed in: an unknown path loads no session
    # (the middleware is lazy), so a typo or a scanner costs no store call.
    return render(request, "not_found.html", status_code=404, user=None, path=request.url.path)
