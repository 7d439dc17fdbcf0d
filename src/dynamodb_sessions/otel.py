"""OpenTelemetry for dynamodb-sessions: metrics from lifecycle events, and the
one tracing option. Needs `pip install 'dynamodb-sessions[otel]'`.

Traces need no code: once an OpenTelemetry SDK is set up, each DynamoDB call of a
`DynamoDBStore` is a CLIENT span ("DynamoDB.GetItem", ...) under the current span.
Metrics come from the middleware's events:

    from dynamodb_sessions.otel import metrics_hook

    app.add_middleware(DynamoDBSessionMiddleware, ..., on_event=metrics_hook())

Every instrument's name starts with "dynamodb_sessions."; none of their attributes,
and no span, names a session. Importing this module does not import opentelemetry.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._events import SessionEvent
from .stores import _tracing

if TYPE_CHECKING:
    from collections.abc import Awaitable

    from opentelemetry.metrics import Histogram, Meter, MeterProvider

    from ._events import EventHook

__all__ = ["metrics_hook", "trace_session_keys"]

# Store waits are milliseconds to a few seconds (`store_timeout`): the default
# buckets (0, 5, 10, 25 ... 10,000) suit milliseconds, not seconds.
_SECONDS_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


def trace_session_keys(enabled: bool = True) -> None:
    """Put on each DynamoDB span the session it touches, as `dynamodb_sessions.session`:
    the name logs and events use (12 characters of the hashed id, never the id).
    Off by default: a trace backend may keep spans longer than you keep logs."""
    _tracing.trace_keys = enabled


def metrics_hook(
    *, meter_provider: MeterProvider | None = None, then: EventHook | None = None
) -> EventHook:
    """An `on_event` hook that counts each `SessionEvent` in OpenTelemetry metrics.

    Instruments, each with `dynamodb_sessions.event` (the event's name) as attribute:

    - `dynamodb_sessions.events` ({event}): also `dynamodb_sessions.outcome` ("ok",
      a conflict's kind, an error's class name);
    - `dynamodb_sessions.store.calls` ({call}): DynamoDB operations;
    - `dynamodb_sessions.store.read_units`, `dynamodb_sessions.store.write_units`
      ({unit}): the capacity DynamoDB reported as consumed;
    - `dynamodb_sessions.store.duration` (s): time waiting for the store, per step,
      also with `dynamodb_sessions.outcome`;
    - `dynamodb_sessions.session.size` (By): the session's bytes in the item, per write.

    `meter_provider` defaults to the global one. `then`, your own hook, gets each
    event next (what it returns is returned, so an async hook is awaited).
    """
    try:
        from opentelemetry import metrics
    except ImportError as exc:
        raise ImportError(
            "metrics_hook() needs opentelemetry-api: pip install 'dynamodb-sessions[otel]'"
        ) from exc
    from . import __version__

    meter = metrics.get_meter("dynamodb_sessions", __version__, meter_provider=meter_provider)
    events = meter.create_counter(
        "dynamodb_sessions.events", "{event}", "Steps of sessions: created, loaded, ended..."
    )
    calls = meter.create_counter(
        "dynamodb_sessions.store.calls", "{call}", "DynamoDB operations made"
    )
    reads = meter.create_counter(
        "dynamodb_sessions.store.read_units", "{unit}", "Read capacity units consumed"
    )
    writes = meter.create_counter(
        "dynamodb_sessions.store.write_units", "{unit}", "Write capacity units consumed"
    )
    duration = _seconds_histogram(meter)
    sizes = meter.create_histogram(
        "dynamodb_sessions.session.size", "By", "Session data and binding in the item, per write"
    )

    def hook(event: SessionEvent) -> Awaitable[None] | None:
        step = {"dynamodb_sessions.event": event.name}
        outcome = {**step, "dynamodb_sessions.outcome": event.outcome}
        events.add(1, outcome)
        duration.record(event.seconds, outcome)
        if event.calls:
            calls.add(event.calls, step)
            reads.add(event.read_units, step)
            writes.add(event.write_units, step)
        if event.session_bytes is not None:
            sizes.record(event.session_bytes, step)
        return None if then is None else then(event)

    return hook


def _seconds_histogram(meter: Meter) -> Histogram:
    name, description = "dynamodb_sessions.store.duration", "Time waiting for the session store"
    try:
        return meter.create_histogram(
            name, "s", description, explicit_bucket_boundaries_advisory=_SECONDS_BUCKETS
        )
    except TypeError:  # opentelemetry-api < 1.30 takes no advice: a View can set buckets
        return meter.create_histogram(name, "s", description)
