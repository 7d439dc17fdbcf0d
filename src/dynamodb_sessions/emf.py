"""CloudWatch metrics from session events, in the Embedded Metric Format (EMF).

On Lambda, a line of JSON printed to stdout in EMF becomes CloudWatch metrics: no
API call, no agent, nothing added to a request's latency. `EMFMetrics` adds up the
`SessionEvent`s of one invocation and prints one EMF document when flushed:

    from dynamodb_sessions.emf import EMFMetrics

    metrics = EMFMetrics(namespace="DynamoDBSessions", dimensions={"Service": "shop"})
    app.add_middleware(DynamoDBSessionMiddleware, ..., on_event=metrics.on_event)
    handler = metrics.flush_after(Mangum(app))

With Powertools for AWS Lambda, `powertools_hook(metrics)` hands the same metrics
to its `Metrics` object instead, which its `log_metrics` decorator flushes.

Metric names (see `METRICS`): `dynamodb_sessions.<event>` counts each event name
(`loaded`, `saved`, ...); `dynamodb_sessions.<event>.<outcome>` counts the events
that are not "ok" by kind (`store_error.SessionStoreUnavailableError`,
`conflict.rotated`, ...); `store_calls`, `store_seconds`, `read_units` and
`write_units` add up what the store calls cost.
"""

from __future__ import annotations

import functools
import json
import sys
import time
from collections.abc import Callable, Mapping
from typing import Any, Literal, ParamSpec, Protocol, TextIO, TypeVar

from ._events import EVENT_NAMES, SessionEvent
from ._exceptions import SessionConfigError
from ._logging import logger

Unit = Literal["Count", "Seconds", "Bytes"]

PREFIX = "dynamodb_sessions."
#: The metrics every flushed document holds (0 when nothing added to them), with
#: their units; `<event>.<outcome>` counts come on top, when they happened.
METRICS: dict[str, Unit] = {
    **{PREFIX + name: "Count" for name in EVENT_NAMES},
    PREFIX + "store_calls": "Count",
    PREFIX + "store_seconds": "Seconds",
    # Count, as DynamoDB's own ConsumedReadCapacityUnits: CloudWatch has no capacity unit.
    PREFIX + "read_units": "Count",
    PREFIX + "write_units": "Count",
    # The largest session written since the last flush (its data and user binding).
    PREFIX + "session_bytes_max": "Bytes",
}
# The EMF specification's limits: metrics per directive, keys per dimension set.
MAX_METRICS = 100
MAX_DIMENSIONS = 30

_P = ParamSpec("_P")
_R = TypeVar("_R")


def event_metrics(event: SessionEvent) -> list[tuple[str, Unit, float]]:
    """The (name, unit, value) of each metric that `event` adds to."""
    metrics: list[tuple[str, Unit, float]] = [(PREFIX + event.name, "Count", 1.0)]
    if event.outcome != "ok":
        metrics.append((f"{PREFIX}{event.name}.{event.outcome}", "Count", 1.0))
    if event.calls or event.seconds:
        metrics += [
            (PREFIX + "store_calls", "Count", float(event.calls)),
            (PREFIX + "store_seconds", "Seconds", event.seconds),
            (PREFIX + "read_units", "Count", event.read_units),
            (PREFIX + "write_units", "Count", event.write_units),
        ]
    if event.session_bytes is not None:
        metrics.append((PREFIX + "session_bytes_max", "Bytes", float(event.session_bytes)))
    return metrics


class EMFMetrics:
    """Adds up session events and prints them as one EMF document per `flush()`.

    - `namespace`: the CloudWatch namespace (not one starting with "AWS/").
    - `dimensions`: names and values (strings) every metric is filed under, at most 30.
    - `out`: where documents go; default `sys.stdout` (on Lambda, CloudWatch Logs).

    Meant for one invocation at a time, as Lambda runs them: `on_event` adds to the
    totals, `flush()` prints and clears them. Elsewhere, call `flush()` on a timer.
    """

    def __init__(
        self,
        *,
        namespace: str = "DynamoDBSessions",
        dimensions: Mapping[str, str] | None = None,
        out: TextIO | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.namespace = _namespace(namespace)
        self.dimensions = _dimensions(dimensions or {})
        self.out = out
        self.clock = clock
        self._totals: dict[str, tuple[Unit, float]] = {}

    def on_event(self, event: SessionEvent) -> None:
        """Add `event` to the totals: pass as the middleware's `on_event`."""
        for name, unit, value in event_metrics(event):
            before = self._totals.get(name, (unit, 0.0))[1]
            total = max(before, value) if name.endswith("_max") else before + value
            self._totals[name] = (unit, total)

    def document(self) -> dict[str, Any] | None:
        """The EMF document of the totals so far, or None if there was no event."""
        if not self._totals:
            return None
        totals = {name: (unit, 0.0) for name, unit in METRICS.items()} | self._totals
        definitions = [{"Name": name, "Unit": unit} for name, (unit, _) in totals.items()]
        directives = [
            {
                "Namespace": self.namespace,
                "Dimensions": [list(self.dimensions)],
                "Metrics": definitions[start : start + MAX_METRICS],
            }
            for start in range(0, len(definitions), MAX_METRICS)
        ]
        values = {name: value for name, (_, value) in totals.items()}
        metadata = {"Timestamp": int(self.clock() * 1000), "CloudWatchMetrics": directives}
        return {"_aws": metadata, **self.dimensions, **values}

    def flush(self) -> dict[str, Any] | None:
        """Print the document as one line, clear the totals, and return it (None: no event)."""
        document = self.document()
        if document is None:
            return None
        self._totals.clear()
        out = self.out or sys.stdout
        out.write(json.dumps(document, separators=(",", ":")) + "\n")
        out.flush()
        return document

    def flush_after(self, handler: Callable[_P, _R]) -> Callable[_P, _R]:
        """Wrap a Lambda handler (Mangum's) so that each invocation ends with `flush()`;
        a flush that fails is logged, never the invocation's failure."""

        @functools.wraps(handler)  # keeps the handler's attributes (Mangum's `.app`)
        def flushing(*args: _P.args, **kwargs: _P.kwargs) -> _R:
            try:
                return handler(*args, **kwargs)
            finally:
                try:
                    self.flush()
                except Exception:
                    logger.exception("EMF metrics not printed; the invocation goes on")

        return flushing


class PowertoolsMetrics(Protocol):
    """What `powertools_hook` needs: Powertools' `Metrics` (aws_lambda_powertools) has it."""

    def add_metric(self, name: str, unit: str, value: float) -> object:
        """Add `value` to metric `name`."""
        ...


def powertools_hook(metrics: PowertoolsMetrics) -> Callable[[SessionEvent], None]:
    """An `on_event` hook that adds each event's metrics to a Powertools `Metrics`.

    Powertools prints them, with its own namespace and dimensions, when its
    `log_metrics` decorator ends the invocation.
    """

    def on_event(event: SessionEvent) -> None:
        for name, unit, value in event_metrics(event):
            metrics.add_metric(name=name, unit=unit, value=value)

    return on_event


def _namespace(namespace: str) -> str:
    if not isinstance(namespace, str) or not 0 < len(namespace) <= 255:
        raise SessionConfigError(f"namespace must be 1 to 255 characters, not {namespace!r}")
    if namespace.startswith("AWS/"):
        raise SessionConfigError(f"namespace {namespace!r}: names starting AWS/ are AWS's own")
    return namespace


def _dimensions(dimensions: Mapping[str, str]) -> dict[str, str]:
    if len(dimensions) > MAX_DIMENSIONS:
        raise SessionConfigError(f"at most {MAX_DIMENSIONS} dimensions, not {len(dimensions)}")
    for name, value in dimensions.items():
        if not (isinstance(name, str) and name and isinstance(value, str) and value.strip()):
            raise SessionConfigError(
                f"dimension {name!r}={value!r}: names and values must be non-empty strings"
            )
        if name == "_aws" or name.startswith(PREFIX):
            raise SessionConfigError(f"dimension name {name!r} is taken by the metrics")
    return dict(dimensions)
