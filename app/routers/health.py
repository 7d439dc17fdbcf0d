"""GET /healthz: which session backend is live, and whether it answers."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import JSONResponse

from app.pages import settings_of
from app.services.session_store import backend_name
from dynamodb_sessions import DynamoDBStore, SessionStoreError

router = APIRouter()


@router.get("/healthz", name="healthz")
async def healthz(request: Request) -> JSONResponse:
    """200 with the backend's name; "degraded" on the memory fallback; 503 if DynamoDB fails."""
    store = request.app.state.session_store
    if store is None:
        return JSONResponse({"status": "ok", "session_backend": "cookie"})
    body = {"status": "ok", "session_backend": backend_name(store)}
    if isinstance(store, DynamoDBStore):
        body["table"] = settings_of(request).table_name
        try:
            await store.ping()
        except SessionStoreError as exc:
            return JSONResponse({**body, "status": "error", "error": str(exc)}, status_code=503)
    else:
        body["status"] = "degraded"
        body["warning"] = "sessions are in this process's memory only"
    return JSONResponse(body)
