"""FastAPI dependencies: the session as a route parameter, loaded on demand.

    from dynamodb_sessions.fastapi import Session

    @app.get("/cart")
    async def cart(session: Session) -> list[str]:
        return session.get("cart", [])

`Session` loads the request's session (one store call at most, shared by every
dependency of the request) before the route runs, so with
`DynamoDBSessionMiddleware(..., lazy=True)` only the routes that ask for it pay
for a load. It works the same when `lazy` is off, and on websocket routes.

This module imports FastAPI; `import dynamodb_sessions` does not import it.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends
from starlette.requests import HTTPConnection

from ._loading import load_session
from ._session import DynamoDBSessionDict

__all__ = ["Session", "session"]


async def session(connection: HTTPConnection) -> DynamoDBSessionDict:
    """The request's session, loaded if it wasn't (see `load_session`)."""
    return await load_session(connection)


#: A route parameter typed `Session` receives the loaded session.
Session = Annotated[DynamoDBSessionDict, Depends(session)]
