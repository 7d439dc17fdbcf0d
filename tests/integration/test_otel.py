"""OpenTelemetry: one CLIENT span per DynamoDB call, under the request's span, on the
lean and boto3 paths; metrics from lifecycle events through `metrics_hook`; never a
raw session id in anything exported; nothing imported, and nothing broken, without
opentelemetry. On moto, as a user's tests would run.

OpenTelemetry's global tracer provider can be set once per process: one provider
for the whole run, whose sampler records only while a test holds `spans`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import anyio
import pytest
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF, ALWAYS_ON, Sampler, SamplingResult
from opentelemetry.trace import Link, SpanKind, StatusCode
from opentelemetry.trace.span import TraceState
from opentelemetry.util.types import Attributes
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route
from starlette.testclient import TestClient
from starlette.types import ASGIApp, Receive, Scope, Send

from devservers.dynamodb import LocalServer
from devservers.proxy import BackgroundProxy
from dynamodb_sessions import (
    DynamoDBSessionDict,
    DynamoDBSessionMiddleware,
    DynamoDBStore,
    SessionEvent,
    SessionStoreError,
    SessionStoreUnavailableError,
)
from dynamodb_sessions.otel import metrics_hook, trace_session_keys
from tests.sessions_app import routes
from tests.support import (
    REGION,
    indexed_table,
    key_of,
    sessions_table,
    store_at_url,
    store_with_client,
)

ROOT = Path(__file__).resolve().parents[2]
tracer = trace.get_tracer("tests")


class Switch(Sampler):
    """Records every span while on, none while off."""

    on = False

    def should_sample(
        self,
        parent_context: Context | None,
        trace_id: int,
        name: str,
        kind: SpanKind | None = None,
        attributes: Attributes = None,
        links: Sequence[Link] | None = None,
        trace_state: TraceState | None = None,
    ) -> SamplingResult:
        sampler = ALWAYS_ON if self.on else ALWAYS_OFF
        return sampler.should_sample(parent_context, trace_id, name, kind, attributes, links)

    def get_description(self) -> str:
        return "Switch"


@pytest.fixture(scope="session")
def tracing() -> tuple[InMemorySpanExporter, Switch]:
    exporter, switch = InMemorySpanExporter(), Switch()
    provider = TracerProvider(sampler=switch)
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    return exporter, switch


@pytest.fixture
def spans(tracing: tuple[InMemorySpanExporter, Switch]) -> Iterator[InMemorySpanExporter]:
    exporter, switch = tracing
    exporter.clear()
    switch.on = True
    yield exporter
    switch.on = False
    exporter.clear()


@pytest.fixture(params=["boto3", "lean"])
def store(request: pytest.FixtureRequest, moto_server: LocalServer) -> DynamoDBStore:
    table = indexed_table(moto_server)
    if request.param == "lean":
        store = store_at_url(moto_server, table=table)
        assert store.client is not None
        assert store.lean is not None
        return store
    return store_with_client(moto_server, table=table)


async def bind(request: Request) -> Response:
    session = request.session
    assert isinstance(session, DynamoDBSessionDict)
    session.bind_user(request.query_params["user"])
    return PlainTextResponse("bound")


def traced(app: ASGIApp) -> ASGIApp:
    """The app as an instrumented one runs: each request in a server span of its own."""

    async def asgi(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        name = f"{scope['method']} {scope['path']}"
        with tracer.start_as_current_span(name, kind=SpanKind.SERVER):
            await app(scope, receive, send)

    return asgi


def client_for(store: DynamoDBStore, **options: Any) -> TestClient:
    app = Starlette(routes=[*routes, Route("/bind", bind, methods=["POST"])])
    app.add_middleware(DynamoDBSessionMiddleware, store=store, secret_key="test-secret", **options)
    return TestClient(traced(app), base_url="https://t")


def calls_by_parent(exported: Sequence[ReadableSpan]) -> list[tuple[str, list[str]]]:
    """Each top span's name, with the names of the spans right under it, in order."""
    tops = [span for span in exported if span.parent is None]
    return [
        (top.name, [s.name for s in exported if s.parent and s.parent.span_id == span_id(top)])
        for top in sorted(tops, key=lambda span: span.start_time or 0)
    ]


def span_id(span: ReadableSpan) -> int:
    assert span.context is not None
    span_id: int = span.context.span_id
    return span_id


def everything_exported(exported: Sequence[ReadableSpan]) -> str:
    """Every name, attribute, event and status of `exported`, as one text to grep."""
    parts: list[str] = []
    for span in exported:
        parts += [span.name, repr(span.attributes), repr(span.status.description)]
        parts += [f"{event.name} {event.attributes!r}" for event in span.events]
    return "\n".join(parts)


def session_ids(client: TestClient, seen: set[str]) -> None:
    """Note the raw session id of the client's cookie (the part before the first dot)."""
    cookie = client.cookies.get("session")
    if cookie:
        seen.add(cookie.split(".")[0])


def test_each_dynamodb_call_is_a_client_span_under_the_request(
    store: DynamoDBStore, spans: InMemorySpanExporter
) -> None:
    user, ids = f"u-{uuid.uuid4().hex[:8]}", set[str]()
    with client_for(store) as client:
        for method, path, body in [
            ("POST", "/set", {"a": 1}), ("POST", "/login", None),
            ("POST", f"/bind?user={user}", None), ("GET", "/read", None),
            ("POST", "/set", {"a": 2}), ("POST", "/logout", None),
        ]:  # fmt: skip
            assert client.request(method, path, json=body).status_code == 200
            session_ids(client, ids)
        client.post("/set", json={"b": 2})
        client.post(f"/bind?user={user}")
        session_ids(client, ids)
    with tracer.start_as_current_span("revoke"):
        assert anyio.run(store.revoke_user_sessions, user) == 1

    get, put, update, delete = (f"DynamoDB.{op}Item" for op in ("Get", "Put", "Update", "Delete"))
    exported = spans.get_finished_spans()
    assert calls_by_parent(exported) == [
        ("POST /set", [put]),
        ("POST /login", [get, put, update]),  # the new item, then the old one retired
        ("POST /bind", [get, update]),
        ("GET /read", [get]),
        ("POST /set", [get, update]),
        ("POST /logout", [get, delete]),
        ("POST /set", [put]),
        ("POST /bind", [get, update]),
        ("revoke", ["DynamoDB.Query", delete]),
    ]
    calls = [span for span in exported if span.name.startswith("DynamoDB.")]
    for span in calls:
        assert span.kind == SpanKind.CLIENT
        assert span.status.status_code == StatusCode.UNSET
        attributes = dict(span.attributes or {})
        method = span.name.removeprefix("DynamoDB.")
        assert attributes.pop("db.system.name") == "aws.dynamodb"
        assert attributes.pop("rpc.system") == "aws-api"
        assert attributes.pop("rpc.service") == "DynamoDB"
        assert attributes.pop("rpc.method") == method
        assert attributes.pop("aws.dynamodb.table_names") == (store.table_name,)
        assert attributes.pop("dynamodb_sessions.retry_attempts") == 0
        if store.lean is None:
            assert attributes.pop("aws.request_id")  # boto3 parses it; the lean caller doesn't
        if method == "GetItem":
            assert attributes.pop("aws.dynamodb.consistent_read") is True
        if method == "Query":
            assert attributes.pop("aws.dynamodb.index_name") == "user_id-index"
            assert attributes.pop("aws.dynamodb.count") == 1
            assert attributes.pop("aws.dynamodb.scanned_count") == 1
        consumed = attributes.pop("aws.dynamodb.consumed_capacity")  # JSON, one per table
        assert isinstance(consumed, tuple)
        assert [json.loads(one)["TableName"] for one in consumed] == [store.table_name]
        assert attributes == {}, span.name  # never a key, unless asked for
    assert len(ids) == 3  # the first, the one after login, the other client's
    text = everything_exported(exported)
    assert not [session_id for session_id in ids if session_id in text]
    assert user not in text


def test_a_refused_call_is_an_error_span_with_dynamodb_s_code(
    moto_server: LocalServer, spans: InMemorySpanExporter
) -> None:
    store = store_with_client(moto_server, table=sessions_table(moto_server))  # no user index
    with tracer.start_as_current_span("list"), pytest.raises(SessionStoreError, match="index"):
        anyio.run(store.list_user_sessions, "ann")
    query, describe = [s for s in spans.get_finished_spans() if s.name.startswith("DynamoDB.")]
    assert query.name == "DynamoDB.Query"
    assert query.status.status_code == StatusCode.ERROR
    assert query.status.description is not None
    assert query.status.description.startswith("SessionTableNotFoundError")
    assert query.attributes is not None
    assert query.attributes["error.type"] == "ResourceNotFoundException"  # moto's word for it
    assert query.attributes["dynamodb_sessions.retry_attempts"] == 0
    assert describe.name == "DynamoDB.DescribeTable"  # the store checks the table is there
    assert describe.status.status_code == StatusCode.UNSET


def test_an_unreachable_store_is_an_error_span_without_an_answer(
    spans: InMemorySpanExporter,
) -> None:
    down = DynamoDBStore("t", endpoint_url="http://127.0.0.1:9", region_name=REGION, max_attempts=1)
    with pytest.raises(SessionStoreError):
        anyio.run(down.load, "0" * 64)
    (span,) = spans.get_finished_spans()
    assert span.name == "DynamoDB.GetItem"
    assert span.status.status_code == StatusCode.ERROR
    assert span.attributes is not None
    assert span.attributes["error.type"] == "EndpointConnectionError"
    assert "dynamodb_sessions.retry_attempts" not in span.attributes  # no answer told


@pytest.mark.parametrize("lean", [True, False], ids=["lean", "boto3"])
def test_a_span_counts_the_retries_of_its_call(
    moto_server: LocalServer, spans: InMemorySpanExporter, lean: bool
) -> None:
    proxy = BackgroundProxy(moto_server.endpoint_url)
    try:
        proxy.configure(faults={"throttle": 1.0})
        store = store_at_url(moto_server, proxy.url, lean=lean, max_attempts=3)
        with pytest.raises(SessionStoreUnavailableError):
            anyio.run(store.load, "0" * 64)
        assert (store.lean is not None) == lean
    finally:
        proxy.close()
    (span,) = spans.get_finished_spans()
    assert span.attributes is not None
    assert span.attributes["error.type"] == "ThrottlingException"
    assert span.attributes["dynamodb_sessions.retry_attempts"] == 2


def test_session_keys_are_on_spans_only_when_asked_for(
    moto_server: LocalServer, spans: InMemorySpanExporter
) -> None:
    store = store_at_url(moto_server)
    trace_session_keys()
    try:
        with client_for(store) as client:
            client.post("/set", json={"a": 1})
            client.get("/read")
    finally:
        trace_session_keys(False)
    key = key_of(client.cookies["session"])
    calls = [s for s in spans.get_finished_spans() if s.name.startswith("DynamoDB.")]
    assert [s.name for s in calls] == ["DynamoDB.PutItem", "DynamoDB.GetItem"]
    assert {(s.attributes or {})["dynamodb_sessions.session"] for s in calls} == {key[:12]}


def data_points(reader: InMemoryMetricReader) -> dict[str, list[tuple[dict[str, Any], Any]]]:
    """Each metric's name, with its data points' attributes and values (sums, or
    histograms as (count, sum))."""
    data = reader.get_metrics_data()
    assert data is not None
    found: dict[str, list[tuple[dict[str, Any], Any]]] = {}
    for resource in data.resource_metrics:
        for scope in resource.scope_metrics:
            assert scope.scope.name == "dynamodb_sessions"
            for metric in scope.metrics:
                points = found.setdefault(f"{metric.name} {metric.unit}", [])
                for point in metric.data.data_points:
                    value = getattr(point, "value", None)
                    if value is None:
                        value = (getattr(point, "count", None), getattr(point, "sum", None))
                    points.append((dict(point.attributes or {}), value))
    return found


def test_metrics_count_each_step_and_its_calls(
    store: DynamoDBStore, spans: InMemorySpanExporter
) -> None:
    reader = InMemoryMetricReader()
    events: list[SessionEvent] = []
    hook = metrics_hook(meter_provider=MeterProvider(metric_readers=[reader]), then=events.append)
    ids: set[str] = set()
    with client_for(store, on_event=hook) as client:
        client.post("/set", json={"a": 1})
        client.post("/login")
        client.get("/read")
        client.post("/set", json={"a": 2})
        session_ids(client, ids)
        client.post("/logout")
    assert [e.name for e in events] == [
        "created",
        "loaded",
        "rotated",
        "loaded",
        "loaded",
        "saved",
        "loaded",
        "ended",
    ]  # fmt: skip; `then` got every event
    found = data_points(reader)
    assert sorted(found) == [
        "dynamodb_sessions.events {event}",
        "dynamodb_sessions.session.size By",
        "dynamodb_sessions.store.calls {call}",
        "dynamodb_sessions.store.duration s",
        "dynamodb_sessions.store.read_units {unit}",
        "dynamodb_sessions.store.write_units {unit}",
    ]
    counts = {
        (a["dynamodb_sessions.event"], a["dynamodb_sessions.outcome"]): v
        for a, v in found["dynamodb_sessions.events {event}"]
    }
    assert counts == {
        ("created", "ok"): 1, ("loaded", "ok"): 4, ("rotated", "ok"): 1, ("saved", "ok"): 1,
        ("ended", "ok"): 1,
    }  # fmt: skip
    calls = {
        a["dynamodb_sessions.event"]: v for a, v in found["dynamodb_sessions.store.calls {call}"]
    }
    assert calls == {"created": 1, "loaded": 4, "rotated": 2, "saved": 1, "ended": 1}
    dynamodb_spans = [s for s in spans.get_finished_spans() if s.name.startswith("DynamoDB.")]
    assert sum(calls.values()) == len(dynamodb_spans)  # every call a span, and counted
    waits = dict(
        (a["dynamodb_sessions.event"], v) for a, v in found["dynamodb_sessions.store.duration s"]
    )
    assert waits["loaded"][0] == 4
    assert waits["loaded"][1] > 0
    text = repr(found)
    assert ids
    assert not [session_id for session_id in ids if session_id in text]


def test_metrics_hook_returns_what_the_next_hook_returns() -> None:
    async def audit(event: SessionEvent) -> None:
        return None

    hook = metrics_hook(meter_provider=MeterProvider(), then=audit)
    awaitable = hook(SessionEvent("created", "abc"))
    assert awaitable is not None
    anyio.run(lambda: awaitable)
    assert metrics_hook(meter_provider=MeterProvider())(SessionEvent("ended", "abc")) is None


def run_python(code: str, *args: str) -> str:
    """Run `code` in a fresh interpreter with this checkout first on the path."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)])}
    result = subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, env=env, timeout=120
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


LOADED = "sorted({m.split('.')[0] for m in sys.modules} & {'opentelemetry'})"


def test_opentelemetry_is_imported_at_the_first_store_call_not_before(
    moto_server: LocalServer,
) -> None:
    code = f"""
import sys, anyio
import dynamodb_sessions, dynamodb_sessions.otel
from dynamodb_sessions import DynamoDBStore
store = DynamoDBStore(sys.argv[2], endpoint_url=sys.argv[1], region_name="{REGION}")
print({LOADED})
anyio.run(store.load, "0" * 64)
print({LOADED})
"""
    out = run_python(code, moto_server.endpoint_url, sessions_table(moto_server))
    assert out.splitlines() == ["[]", "['opentelemetry']"]


def test_without_opentelemetry_requests_work_and_nothing_is_traced(
    moto_server: LocalServer,
) -> None:
    code = f"""
import sys

class NoOpenTelemetry:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] == "opentelemetry":
            raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
        return None

sys.meta_path.insert(0, NoOpenTelemetry())
from starlette.testclient import TestClient
from dynamodb_sessions.otel import metrics_hook
from tests.sessions_app import make_app
from tests.support import store_at_url

class Server:
    endpoint_url = sys.argv[1]

store = store_at_url(Server(), table=sys.argv[2])
with TestClient(make_app(store), base_url="https://t") as client:
    client.post("/set", json={{"a": 1}})
    print(client.get("/read").json())
print({LOADED})
try:
    metrics_hook()
except ImportError as exc:
    print(exc)
"""
    out = run_python(code, moto_server.endpoint_url, sessions_table(moto_server))
    assert out.splitlines() == [
        "{'a': 1}",
        "[]",
        "metrics_hook() needs opentelemetry-api: pip install 'dynamodb-sessions[otel]'",
    ]
