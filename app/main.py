"""The LLM Duel app: picks its session system from USE_DYNAMODB_SESSIONS and mounts the routes.

Run it with `uvicorn app.main:app` (or `--factory app.main:create_app`); on Lambda,
`app.lambda_handler.handler` wraps it with Mangum.
"""

from __future__ import annotations

import logging
import os

from fastapi import FastAPI
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.sessions import SessionMiddleware

from app import pages
from app.config import Settings
from app.routers import account, auth, duel, health
from app.services import oidc
from app.services.session_store import SessionBackend, backend_name, get_session_store_instance
from dynamodb_sessions import DynamoDBSessionMiddleware, DynamoDBStore, EventHook, MemoryStore
from dynamodb_sessions.emf import EMFMetrics
from dynamodb_sessions.otel import metrics_hook

logger = logging.getLogger("app")


def create_app(settings: Settings | None = None, *, store: SessionBackend | None = None) -> FastAPI:
    """Build the app. `store` overrides the per-process store (tests pass their own)."""
    settings = settings or Settings.from_env()
    application = FastAPI(title="LLM Duel", docs_url=None, redoc_url=None, openapi_url=None)
    application.state.settings = settings
    application.state.oidc_client = oidc.build_client(settings.oidc) if settings.oidc else None
    application.state.metrics = None  # an EMFMetrics with SESSION_METRICS=emf
    application.state.session_store = _add_sessions(application, settings, store)
    for router in (auth.router, account.router, duel.router, health.router):
        application.include_router(router)
    application.add_exception_handler(StarletteHTTPException, pages.http_error)
    return application


def _add_sessions(
    application: FastAPI, settings: Settings, store: SessionBackend | None
) -> SessionBackend | None:
    if not settings.use_dynamodb_sessions:
        logger.info(
            "Session system: signed cookies (Starlette SessionMiddleware), because "
            "USE_DYNAMODB_SESSIONS is false or unset"
        )
        application.add_middleware(
            SessionMiddleware,
            secret_key=settings.secret_keys[0],
            max_age=settings.max_age,
            same_site=settings.same_site,
            https_only=settings.https_only,
        )
        return None
    if store is None:  # not `or`: an empty MemoryStore is falsy (it has a __len__)
        store = get_session_store_instance(settings)
    logger.info(
        "Session system: DynamoDBSessionMiddleware with the %s store, because "
        "USE_DYNAMODB_SESSIONS is true",
        backend_name(store),
    )
    hook = _metrics_hook(application, settings)
    if hook is not None and isinstance(store, DynamoDBStore | MemoryStore):
        store.on_event = hook  # "Sign out everywhere" counts as revoked sessions
    application.add_middleware(
        DynamoDBSessionMiddleware,
        store=store,
        secret_key=settings.secret_keys,
        max_age=settings.max_age,
        same_site=settings.same_site,
        https_only=settings.https_only,
        lazy=True,  # /healthz and 404s cost no store call: the routers load (app/pages.py)
        on_event=hook,
    )
    return store


def _metrics_hook(application: FastAPI, settings: Settings) -> EventHook | None:
    if settings.metrics == "none":
        return None
    if settings.metrics == "otel":
        # Through the global MeterProvider the deployment sets up (e.g. the ADOT
        # Lambda layer); store calls are traced as spans without any setting.
        logger.info("Session metrics: OpenTelemetry, because SESSION_METRICS=otel")
        return metrics_hook()
    # One EMF document per Lambda invocation: app.lambda_handler flushes it.
    metrics = EMFMetrics(namespace="DynamoDBSessions", dimensions={"Service": "llm-duel"})
    application.state.metrics = metrics
    logger.info("Session metrics: CloudWatch EMF, because SESSION_METRICS=emf")
    return metrics.on_event


def configure_logging() -> None:
    """Show the app's INFO logs (which session system, which store) unless LOG_LEVEL says less."""
    level = os.environ.get("LOG_LEVEL", "INFO").upper()
    logging.basicConfig(format="%(levelname)s:     %(name)s: %(message)s")
    # On Lambda the runtime's handler is there already and basicConfig does nothing.
    logging.getLogger().setLevel(level)
    logging.getLogger("botocore").setLevel(logging.WARNING)  # "Found credentials in ..."


def __getattr__(name: str) -> FastAPI:
    # `uvicorn app.main:app` works, but the app (and its store) is built only when
    # asked for, so importing this module for `create_app` reads no environment.
    if name == "app":
        configure_logging()
        application = create_app()
        globals()["app"] = application
        return application
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
