"""Contender 4: dynamodb-sessions, this project's library.

``BENCH_SKIP_PATHS=1`` turns on its opt-in ``skip_paths`` for ``/nosession``;
``BENCH_LEAN=0`` makes the store call DynamoDB through a boto3 client (``lean=False``)
instead of its lean caller.
"""

from __future__ import annotations

import os

from benchmarks._app import SECRET_KEY, build_app, endpoint_url, skip_paths_enabled, table_name
from dynamodb_sessions import DynamoDBSessionMiddleware, DynamoDBStore

NAME = "dynamodb-sessions"
USES_DYNAMODB = True

store = (
    DynamoDBStore(table_name(), endpoint_url=endpoint_url(), region_name="us-east-1", lean=False)
    if os.environ.get("BENCH_LEAN") == "0"
    else DynamoDBStore(table_name(), endpoint_url=endpoint_url(), region_name="us-east-1")
)
app = DynamoDBSessionMiddleware(
    build_app(nested_mutation=True),
    store=store,
    secret_key=SECRET_KEY,
    https_only=False,
    skip_paths=("/nosession",) if skip_paths_enabled() else (),
)
