"""Contender 4: dynamodb-sessions, this project's library.

``BENCH_SKIP_PATHS=1`` turns on its opt-in ``skip_paths`` for ``/nosession``;
``BENCH_LAZY=1`` runs it with ``lazy=True``, the session routes calling ``load_session``;
``BENCH_LEAN=0`` makes the store call DynamoDB through a boto3 client (``lean=False``)
instead of its lean caller. ``BENCH_COUNT_UNITS=1`` (the cost scenarios) adds up the
capacity units of every session event in an ``on_event`` hook, served as JSON at
``GET /__units__`` outside the middleware: the harness checks them against the meter.
"""

from __future__ import annotations

import os

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from benchmarks._app import (
    SECRET_KEY,
    build_app,
    endpoint_url,
    lazy_enabled,
    skip_paths_enabled,
    table_name,
)
from dynamodb_sessions import DynamoDBSessionMiddleware, DynamoDBStore, SessionEvent, load_session

NAME = "dynamodb-sessions"
USES_DYNAMODB = True
UNITS = {"read_units": 0.0, "write_units": 0.0}


def count_units(event: SessionEvent) -> None:
    """The on_event hook of the cost scenarios: add up what DynamoDB reported."""
    UNITS["read_units"] += event.read_units
    UNITS["write_units"] += event.write_units


store = (
    DynamoDBStore(table_name(), endpoint_url=endpoint_url(), region_name="us-east-1", lean=False)
    if os.environ.get("BENCH_LEAN") == "0"
    else DynamoDBStore(table_name(), endpoint_url=endpoint_url(), region_name="us-east-1")
)
sessions = DynamoDBSessionMiddleware(
    build_app(nested_mutation=True, load=load_session if lazy_enabled() else None),
    store=store,
    secret_key=SECRET_KEY,
    https_only=False,
    skip_paths=("/nosession",) if skip_paths_enabled() else (),
    lazy=lazy_enabled(),
    on_event=count_units if os.environ.get("BENCH_COUNT_UNITS") == "1" else None,
)


async def _with_units(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] == "http" and scope["path"] == "/__units__":
        await JSONResponse(UNITS)(scope, receive, send)
    else:
        await sessions(scope, receive, send)


app: ASGIApp = _with_units if os.environ.get("BENCH_COUNT_UNITS") == "1" else sessions
