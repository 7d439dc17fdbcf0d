"""docs/observability.md's samples run, on dynalite (which reports consumed capacity):
the EMF emitter behind the real Mangum handler prints one valid document per
invocation; the Powertools sample, against a stand-in `Metrics` (Powertools is not
installed here); the health helper says ok, degraded on the fallback, or error."""

from __future__ import annotations

import asyncio
import functools
import re
import sys
import types
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.requests import Request
from starlette.testclient import TestClient

from devservers.dynamodb import LocalServer
from dynamodb_sessions import DynamoDBStore
from dynamodb_sessions.emf import METRICS
from dynamodb_sessions.health import session_health
from tests.app.flows import v2_event
from tests.support import CLOUDWATCH_UNITS, emf_documents, sessions_table

DOC = Path(__file__).resolve().parents[2] / "docs" / "observability.md"
DEAD_ENDPOINT = "http://127.0.0.1:9"  # nothing listens on the discard port


def sample(containing: str) -> dict[str, Any]:
    """Run the doc's Python block that contains `containing`; return its namespace."""
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.DOTALL)
    code = next(block for block in blocks if containing in block)
    namespace: dict[str, Any] = {}
    exec(compile(code, str(DOC), "exec"), namespace)  # noqa: S102 - our own docs
    return namespace


@pytest.fixture
def table_env(dynalite_server: LocalServer, monkeypatch: pytest.MonkeyPatch) -> str:
    table = sessions_table(dynalite_server)
    monkeypatch.setenv("SESSION_TABLE_NAME", table)
    monkeypatch.setenv("SESSION_SECRET_KEY", "observability-secret")
    monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", dynalite_server.endpoint_url)
    return table


@pytest.fixture
def event_loop_for_mangum() -> Iterator[None]:
    loop = asyncio.new_event_loop()  # Mangum runs each invocation on the current loop
    asyncio.set_event_loop(loop)
    yield
    asyncio.set_event_loop(None)
    loop.close()


def invoke(handler: Callable[[Any, Any], Any], path: str, jar: list[str]) -> dict[str, Any]:
    """One API Gateway (HTTP API) invocation, keeping the session cookie in `jar`."""
    result: dict[str, Any] = handler(v2_event("GET", path, cookies=jar), None)
    for cookie in result.get("cookies", []):
        jar[:] = [cookie.split(";")[0]]
    return result


@pytest.mark.usefixtures("table_env", "event_loop_for_mangum")
def test_emf_sample_prints_one_valid_document_per_invocation(
    capsys: pytest.CaptureFixture[str],
) -> None:
    handler = sample("EMFMetrics(")["handler"]
    jar: list[str] = []

    bodies = [invoke(handler, "/visits", jar)["body"] for _ in range(3)]
    assert invoke(handler, "/elsewhere", [])["statusCode"] == 404  # no session, no document

    assert bodies == ['{"visits":1}', '{"visits":2}', '{"visits":3}']
    first, second, third = emf_documents(capsys.readouterr().out)  # each checked by the spec
    assert first["Service"] == "shop"
    assert first["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "DynamoDBSessions"
    assert (first["dynamodb_sessions.created"], first["dynamodb_sessions.loaded"]) == (1, 0)
    assert first["dynamodb_sessions.write_units"] > 0
    for later in (second, third):
        assert (later["dynamodb_sessions.loaded"], later["dynamodb_sessions.saved"]) == (1, 1)
        assert later["dynamodb_sessions.store_calls"] == 2
        assert later["dynamodb_sessions.read_units"] > 0
        assert later["dynamodb_sessions.store_seconds"] > 0


class StandInMetrics:
    """Powertools' `Metrics` as the sample uses it: `add_metric(name, unit, value,
    resolution=60)` and the `log_metrics` decorator that flushes after each call."""

    def __init__(self, *, namespace: str, service: str) -> None:
        self.namespace, self.service = namespace, service
        self.added: list[tuple[str, str, float]] = []
        self.flushed: list[list[tuple[str, str, float]]] = []

    def add_metric(self, name: str, unit: str, value: float, resolution: int = 60) -> None:
        assert unit in CLOUDWATCH_UNITS
        self.added.append((name, unit, value))

    def log_metrics(self, handler: Callable[[Any, Any], Any]) -> Callable[[Any, Any], Any]:
        @functools.wraps(handler)
        def decorate(event: Any, context: Any) -> Any:
            try:
                return handler(event, context)
            finally:
                self.flushed.append(self.added)
                self.added = []

        return decorate


@pytest.mark.usefixtures("table_env", "event_loop_for_mangum")
def test_powertools_sample_adds_the_metrics_and_powertools_flushes_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    stand_in = types.ModuleType("aws_lambda_powertools")
    stand_in.Metrics = StandInMetrics  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "aws_lambda_powertools", stand_in)
    namespace = sample("powertools_hook(")
    handler, metrics = namespace["handler"], namespace["metrics"]

    async def visits(request: Request) -> dict[str, int]:
        request.session["visits"] = request.session.get("visits", 0) + 1
        return {"visits": request.session["visits"]}

    namespace["app"].add_api_route("/visits", visits)
    jar: list[str] = []
    invoke(handler, "/visits", jar)
    invoke(handler, "/visits", jar)

    created, updated = metrics.flushed
    assert ("dynamodb_sessions.created", "Count", 1.0) in created
    assert ("dynamodb_sessions.saved", "Count", 1.0) in updated
    assert all(name in METRICS for name, _, _ in created + updated)


def test_health_sample_is_ok_then_degraded_on_the_fallback(
    table_env: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with TestClient(sample("session_health(")["app"]) as client:
        response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "store": "dynamodb", "table": table_env}

    monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", DEAD_ENDPOINT)
    with TestClient(sample("session_health(")["app"]) as client:
        response = client.get("/healthz")
    assert response.status_code == 200
    health = response.json()
    assert (health["status"], health["store"], health["fallback"]) == (
        "degraded",
        "dynamodb",
        "memory",
    )
    assert health["error"]


@pytest.mark.anyio
async def test_health_is_an_error_when_the_store_fails_without_a_fallback() -> None:
    down = DynamoDBStore("t", endpoint_url=DEAD_ENDPOINT, region_name="us-east-1", max_attempts=1)
    health = await session_health(down)
    assert (health["status"], health["store"], health["table"]) == ("error", "dynamodb", "t")
    assert "fallback" not in health


def test_the_metric_names_in_the_doc_are_the_ones_emitted() -> None:
    # The EMF sections: the OpenTelemetry section names its own instruments.
    emf_part = DOC.read_text().split("## OpenTelemetry")[0]
    found = re.findall(r"dynamodb_sessions\.([a-z_]+)(?:\.([A-Za-z_]+))?", emf_part)
    names = [(name, kind) for name, kind in found if name not in ("emf", "health", "otel")]
    assert {f"dynamodb_sessions.{name}" for name, kind in names if not kind} == set(METRICS)
    assert all(f"dynamodb_sessions.{name}" in METRICS for name, _ in names)


def test_the_docs_opentelemetry_sample_builds_a_working_hook() -> None:
    from dynamodb_sessions import SessionEvent

    hook = sample("metrics_hook")["hook"]
    assert callable(hook)
    assert hook(SessionEvent("loaded", "0123456789ab", calls=1, read_units=1.0)) is None
