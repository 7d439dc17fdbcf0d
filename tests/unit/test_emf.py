"""The CloudWatch EMF emitter (`dynamodb_sessions.emf`) and the health helper, on a
MemoryStore: each printed document is checked against the EMF specification
(`check_emf`), one per flush, none when nothing happened. Powertools is not
installed here: its path is checked against a fake that records `add_metric`."""

from __future__ import annotations

import io
import subprocess
import sys
from typing import Any

import pytest
from starlette.testclient import TestClient

from dynamodb_sessions import EVENT_NAMES, MemoryStore, SessionConfigError, SessionEvent
from dynamodb_sessions.emf import METRICS, EMFMetrics, powertools_hook
from dynamodb_sessions.health import session_health
from tests.sessions_app import make_app
from tests.support import CLOUDWATCH_UNITS, check_emf

NOW = 1_700_000_000.25


def emitter(**options: Any) -> tuple[EMFMetrics, io.StringIO]:
    out = io.StringIO()
    options.setdefault("dimensions", {"Service": "test"})
    return EMFMetrics(namespace="Test", out=out, clock=lambda: NOW, **options), out


def printed(out: io.StringIO) -> list[dict[str, Any]]:
    return [check_emf(line) for line in out.getvalue().splitlines()]


def test_a_requests_events_become_one_valid_document() -> None:
    metrics, out = emitter()
    with TestClient(make_app(MemoryStore(), on_event=metrics.on_event), base_url="https://t") as c:
        c.post("/set", json={"a": 1})
        c.get("/read")
        c.post("/login")

    document = metrics.flush()

    [line] = printed(out)
    assert line == document
    assert line["_aws"]["Timestamp"] == 1_700_000_000_250  # milliseconds
    [directive] = line["_aws"]["CloudWatchMetrics"]
    assert (directive["Namespace"], directive["Dimensions"]) == ("Test", [["Service"]])
    assert line["Service"] == "test"
    units = {metric["Name"]: metric["Unit"] for metric in directive["Metrics"]}
    assert units == METRICS  # every metric, each with its documented unit
    counts = {name: line[f"dynamodb_sessions.{name}"] for name in EVENT_NAMES}
    assert counts == {name: 0 for name in EVENT_NAMES} | {"created": 1, "loaded": 2, "rotated": 1}


def test_errors_and_conflicts_are_counted_by_kind_with_what_the_store_cost() -> None:
    metrics, _ = emitter()
    unavailable = SessionEvent("store_error", "new", outcome="SessionStoreUnavailableError")
    metrics.on_event(unavailable)
    metrics.on_event(unavailable)
    metrics.on_event(SessionEvent("conflict", "abc", outcome="rotated", calls=1, seconds=0.5))
    metrics.on_event(
        SessionEvent("saved", "abc", calls=2, seconds=0.25, read_units=1.5, write_units=2.0)
    )

    document = metrics.flush()

    assert document is not None
    assert document["dynamodb_sessions.store_error"] == 2
    assert document["dynamodb_sessions.store_error.SessionStoreUnavailableError"] == 2
    assert document["dynamodb_sessions.conflict.rotated"] == 1
    assert document["dynamodb_sessions.store_calls"] == 3
    assert document["dynamodb_sessions.store_seconds"] == 0.75
    assert document["dynamodb_sessions.read_units"] == 1.5
    assert document["dynamodb_sessions.write_units"] == 2.0


def test_nothing_is_printed_without_events_and_a_flush_starts_afresh() -> None:
    metrics, out = emitter()
    assert metrics.flush() is None
    metrics.on_event(SessionEvent("loaded", "abc"))
    assert metrics.flush() is not None
    assert metrics.flush() is None
    assert len(printed(out)) == 1


def test_over_100_metrics_are_split_into_directives_of_100() -> None:
    metrics, out = emitter(dimensions={f"d{i}": "v" for i in range(30)})
    for i in range(150):
        metrics.on_event(SessionEvent("store_error", "new", outcome=f"Error{i}"))

    metrics.flush()

    [document] = printed(out)  # check_emf: <= 100 per directive, <= 30 dimensions
    directives = document["_aws"]["CloudWatchMetrics"]
    assert [len(d["Metrics"]) for d in directives] == [100, 66]  # 16 fixed + 150
    assert all(d["Dimensions"] == [[f"d{i}" for i in range(30)]] for d in directives)


def test_flush_after_flushes_once_per_invocation_even_when_it_raises() -> None:
    metrics, out = emitter()

    def handler(event: dict[str, str], context: object) -> str:
        metrics.on_event(SessionEvent("loaded", "abc"))
        if event.get("fail"):
            raise RuntimeError("boom")
        return "done"

    handler.app = "kept"  # type: ignore[attr-defined]  # as Mangum's handler has `.app`
    wrapped = metrics.flush_after(handler)

    assert [wrapped({}, None) for _ in range(3)] == ["done"] * 3
    with pytest.raises(RuntimeError, match="boom"):
        wrapped({"fail": "yes"}, None)
    assert [d["dynamodb_sessions.loaded"] for d in printed(out)] == [1, 1, 1, 1]
    assert wrapped.app == "kept"  # type: ignore[attr-defined]


def test_a_flush_that_fails_does_not_fail_the_invocation(caplog: pytest.LogCaptureFixture) -> None:
    metrics, out = emitter()
    out.close()  # writing to it raises ValueError

    def handler(event: object, context: object) -> str:
        metrics.on_event(SessionEvent("loaded", "abc"))
        return "done"

    assert metrics.flush_after(handler)({}, None) == "done"
    assert "EMF metrics not printed" in caplog.text


def test_importing_the_modules_loads_no_aws_sdk() -> None:
    code = (
        "import sys, dynamodb_sessions.emf, dynamodb_sessions.health; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('boto3', 'botocore')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"namespace": ""}, "namespace must be 1 to 255 characters"),
        ({"namespace": "AWS/Lambda"}, "AWS's own"),
        ({"dimensions": {f"d{i}": "v" for i in range(31)}}, "at most 30 dimensions"),
        ({"dimensions": {"Service": ""}}, "non-empty strings"),
        ({"dimensions": {"dynamodb_sessions.loaded": "x"}}, "taken by the metrics"),
    ],
)
def test_bad_configuration_fails_at_construction(options: dict[str, Any], message: str) -> None:
    with pytest.raises(SessionConfigError, match=message):
        EMFMetrics(**options)


class FakePowertoolsMetrics:
    """Records `add_metric` calls as Powertools' `Metrics.add_metric(name, unit, value,
    resolution=60)` receives them (not Powertools itself: it is not installed here)."""

    def __init__(self) -> None:
        self.added: list[tuple[str, str, float]] = []

    def add_metric(self, name: str, unit: str, value: float, resolution: int = 60) -> None:
        assert unit in CLOUDWATCH_UNITS
        assert isinstance(value, float)
        self.added.append((name, unit, value))


def test_powertools_hook_adds_each_events_metrics() -> None:
    fake = FakePowertoolsMetrics()
    app = make_app(MemoryStore(), on_event=powertools_hook(fake))
    with TestClient(app, base_url="https://t") as client:
        client.post("/set", json={"a": 1})
        client.get("/read")
    names = [name for name, _, _ in fake.added]
    assert {"dynamodb_sessions.created", "dynamodb_sessions.loaded"} <= set(names)
    fake.added.clear()
    hook = powertools_hook(fake)

    hook(SessionEvent("store_error", "abc", outcome="SessionStoreUnavailableError", calls=1))

    assert fake.added == [
        ("dynamodb_sessions.store_error", "Count", 1.0),
        ("dynamodb_sessions.store_error.SessionStoreUnavailableError", "Count", 1.0),
        ("dynamodb_sessions.store_calls", "Count", 1.0),
        ("dynamodb_sessions.store_seconds", "Seconds", 0.0),
        ("dynamodb_sessions.read_units", "Count", 0.0),
        ("dynamodb_sessions.write_units", "Count", 0.0),
    ]


def test_a_metrics_hook_that_raises_does_not_fail_the_request() -> None:
    def broken(event: SessionEvent) -> None:
        raise RuntimeError("metrics backend down")

    with TestClient(make_app(MemoryStore(), on_event=broken), base_url="https://t") as client:
        assert client.post("/set", json={"a": 1}).status_code == 200


@pytest.mark.anyio
async def test_health_of_a_memory_store_is_degraded() -> None:
    assert await session_health(MemoryStore()) == {
        "status": "degraded",
        "store": "memory",
        "warning": "sessions are in this process's memory only",
    }
