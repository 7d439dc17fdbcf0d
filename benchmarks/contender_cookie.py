"""Contender 1: Starlette's signed-cookie ``SessionMiddleware``, the lower bound (no database)."""

from __future__ import annotations

from starlette.middleware.sessions import SessionMiddleware
from starlette.types import ASGIApp

from benchmarks._app import SECRET_KEY, build_app

NAME = "cookie"
USES_DYNAMODB = False

app: ASGIApp = SessionMiddleware(
    build_app(nested_mutation=False), secret_key=SECRET_KEY, https_only=False
)
