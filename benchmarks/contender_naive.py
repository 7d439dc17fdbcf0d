"""Contender 2: a naive hand-written DynamoDB session middleware, as people write it.

``BaseHTTPMiddleware``, one synchronous boto3 client called directly in the event loop,
a GetItem of the whole session (a JSON blob) on every request that carries a cookie and
a PutItem of the whole session on every request that has a session. The blocking calls
are the point: this is the baseline the library has to beat, not a recommendation.
"""

from __future__ import annotations

import json
import secrets
import time
from typing import Any

import boto3
from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp

from benchmarks._app import build_app, endpoint_url, table_name

NAME = "naive"
USES_DYNAMODB = True
COOKIE = "session_id"
LIFETIME = 14 * 24 * 3600

dynamodb = boto3.client("dynamodb", endpoint_url=endpoint_url(), region_name="us-east-1")
TABLE = table_name()


class NaiveDynamoDBSessionMiddleware(BaseHTTPMiddleware):
    """Load the session before the endpoint, save or delete it after, all blocking."""

    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        """Read the cookie's session, run the endpoint, then write the session back."""
        session_id = request.cookies.get(COOKIE)
        session: dict[str, Any] = {}
        if session_id:
            item = dynamodb.get_item(TableName=TABLE, Key={"session_id": {"S": session_id}})
            if "Item" in item:
                session = json.loads(item["Item"]["data"]["S"])
            else:
                session_id = None
        request.scope["session"] = session
        response = await call_next(request)
        if session:
            if not session_id:
                session_id = secrets.token_urlsafe(32)
            dynamodb.put_item(
                TableName=TABLE,
                Item={
                    "session_id": {"S": session_id},
                    "data": {"S": json.dumps(session)},
                    "ttl": {"N": str(int(time.time()) + LIFETIME)},
                },
            )
            response.set_cookie(COOKIE, session_id, max_age=LIFETIME, httponly=True)
        elif session_id:
            dynamodb.delete_item(TableName=TABLE, Key={"session_id": {"S": session_id}})
            response.delete_cookie(COOKIE)
        return response


app: ASGIApp = NaiveDynamoDBSessionMiddleware(build_app(nested_mutation=True))
