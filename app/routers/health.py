"""GET /healthz: which session backend is live, and whether it answers."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import JSONResponse

from dynamodb_sessions.health import session_health

router = APIRouter()


@router.get("/healthz", name="healthz")
async def healthz(request: Request) -> JSONResponse:
    """200 with the backend's name; "degraded" on the memory fallback; 503 if DynamoDB fails."""
    store = request.app.state.session_store
    if store is None:
        return JSONResponse({"status": "ok", "session_backend": "cookie"})
    # The library's check; the app names its store "session_backend".
    health = await session_health(store)
    body = {"status": health.pop("status"), "session_backend": health.pop("store"), **health}
    return JSONResponse(body, status_code=503 if body["status"] == "error" else 200)
