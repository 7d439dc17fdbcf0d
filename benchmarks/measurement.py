"""Turning a contender's run into figures: percentiles, CPU time, DynamoDB calls.

CPU time is read from ``/proc/<pid>/stat`` rather than asked of the processes, so that
measuring costs the app nothing; DynamoDB calls are counted by the proxy, which sees
every call whatever client the contender uses.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from dataclasses import dataclass
from typing import NamedTuple

import httpx

from benchmarks.harness import App, Meter, Proxy
from benchmarks.loadgen import LoadResult
from benchmarks.scenarios import Scenario
from benchmarks.schema import (
    Capacity,
    EndpointCalls,
    FirstRequest,
    LoadSummary,
    MeterStats,
    OpLatency,
    Percentiles,
    ProbeLatency,
    ProxyStats,
)
from devservers.dynamodb import LocalServer

CLK_TCK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (all its threads), from /proc/<pid>/stat."""
    with open(f"/proc/{pid}/stat") as f:
        # The command name, in parentheses, may hold spaces: count fields after it.
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def percentile(values: list[float], q: float) -> float | None:
    """The nearest-rank `q`th percentile of `values`, None when there are none."""
    if not values:
        return None
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def ms(value: float | None) -> float | None:
    """Seconds to milliseconds, rounded for the report."""
    return None if value is None else round(value * 1000, 2)


def percentiles(values: list[float]) -> Percentiles:
    """p50 and p99 of latencies in seconds, in milliseconds."""
    return {"p50": ms(percentile(values, 50)), "p99": ms(percentile(values, 99))}


def per_request(counts: dict[str, int], n: int) -> dict[str, float]:
    """Counts divided by the number of requests, by name in sorted order."""
    return {name: round(count / n, 3) for name, count in sorted(counts.items())}


@dataclass(frozen=True)
class CpuSample:
    """CPU seconds used so far by the app, and by the processes that share its box."""

    app: float
    others: dict[str, float]

    @classmethod
    def take(cls, app: App, proxy: Proxy, server: LocalServer) -> CpuSample:
        """Read every clock now; the load generator is this very process."""
        return cls(
            cpu_seconds(app.process.pid),
            {
                "harness_loadgen": time.process_time(),
                "proxy": cpu_seconds(proxy.process.pid),
                f"server_{server.kind}": cpu_seconds(server.process.pid),
            },
        )


def other_cpu_ms_per_request(before: CpuSample, after: CpuSample, n: int) -> dict[str, float]:
    """CPU milliseconds per request of each process besides the app."""
    return {
        name: round((after.others[name] - before.others[name]) * 1000 / n, 3)
        for name in before.others
    }


def summarize(result: LoadResult, stats: ProxyStats, cpu_s: float, *, probes: bool) -> LoadSummary:
    """The figures of one timed mix, as results.json records them."""
    n = max(result.requests, 1)
    everything = [v for values in result.latencies.values() for v in values]
    summary: LoadSummary = {
        "requests": result.requests,
        "elapsed_s": round(result.elapsed, 2),
        "rps": round(result.requests / result.elapsed, 1) if result.elapsed else 0.0,
        "latency_ms": {op: _op_latency(v) for op, v in sorted(result.latencies.items())},
        "latency_all_ms": percentiles(everything),
        "dynamodb_calls": stats["calls"],
        "dynamodb_calls_total": stats["total"],
        "calls_per_request": round(stats["total"] / n, 3),
        "calls_per_request_by_op": per_request(stats["calls"], n),
        "faults_injected": stats["faults"],
        "cpu_ms_per_request": round(cpu_s * 1000 / n, 3),
        "cpu_s": round(cpu_s, 2),
        "statuses": dict(result.statuses),
        "server_errors_5xx": result.server_errors,
        "client_errors_4xx": result.client_errors,
        "transport_errors": dict(result.errors),
        "cancelled_tasks": result.cancelled,
        "login_failures": result.login_failures,
        "correctness": result.correctness.counts(),
    }
    if probes:
        summary["probes_ms"] = {
            label: _probe_latency(v) for label, v in sorted(result.probe_latencies.items())
        }
    return summary


def _op_latency(values: list[float]) -> OpLatency:
    return {**percentiles(values), "n": len(values)}


def _probe_latency(values: list[float]) -> ProbeLatency:
    return {**percentiles(values), "max": ms(max(values) if values else None), "n": len(values)}


async def first_request_timing(app: App) -> FirstRequest:
    """Time the first session-creating request after start-up, then a second one.

    The first pays for whatever the contender builds lazily (a boto3 client, say).
    """
    timings = []
    for _ in range(2):
        async with httpx.AsyncClient(base_url=app.url, timeout=30) as client:
            start = time.perf_counter()
            response = await client.post("/login", params={"user": "first"})
            timings.append(time.perf_counter() - start)
            response.raise_for_status()
    return {
        "startup_ms": ms(app.startup_s),
        "first_login_ms": ms(timings[0]),
        "second_login_ms": ms(timings[1]),
    }


class _Call(NamedTuple):
    client: httpx.AsyncClient
    method: str
    path: str
    params: dict[str, str] | None = None


# Endpoints measured with the first logged-in client, `reps` times each.
_COOKIE_ENDPOINTS = (
    ("GET /read", "GET", "/read"),
    ("POST /write", "POST", "/write"),
    ("GET /nosession (cookie)", "GET", "/nosession"),
)


async def endpoint_calls(app: App, proxy: Proxy, reps: int = 5) -> EndpointCalls:
    """DynamoDB calls per request for each endpoint, measured one endpoint at a time."""
    async with contextlib.AsyncExitStack() as stack:
        users = [
            await stack.enter_async_context(httpx.AsyncClient(base_url=app.url, timeout=30))
            for _ in range(reps)
        ]
        anonymous = await stack.enter_async_context(httpx.AsyncClient(base_url=app.url, timeout=30))
        logins = [_Call(c, "POST", "/login", {"user": f"probe{i}"}) for i, c in enumerate(users)]
        out = {"POST /login (no cookie)": await _calls_per_request(proxy, logins)}
        for label, method, path in _COOKIE_ENDPOINTS:
            out[label] = await _calls_per_request(proxy, [_Call(users[0], method, path)] * reps)
        no_cookie = [_Call(anonymous, "GET", "/nosession"), _Call(anonymous, "GET", "/read")]
        out["GET /nosession + GET /read (no cookie)"] = await _calls_per_request(
            proxy, no_cookie * reps
        )
        logouts = [_Call(c, "POST", "/logout") for c in users]
        out["POST /logout"] = await _calls_per_request(proxy, logouts)
    return out


async def _calls_per_request(proxy: Proxy, calls: list[_Call]) -> dict[str, float]:
    await proxy.reset()
    for call in calls:
        response = await call.client.request(call.method, call.path, params=call.params)
        response.raise_for_status()
    stats = await proxy.stats()
    return {
        **per_request(stats["calls"], len(calls)),
        "total": round(stats["total"] / len(calls), 3),
    }


class CapacityWindow:
    """The capacity units the timed mix consumed: the meter's, for every contender, and
    for dynamodb-sessions also the total of its own events (``GET /__units__``)."""

    stats: MeterStats

    def __init__(self, meter: Meter, app: App, *, session_bytes: int, library: bool) -> None:
        self._meter, self._app = meter, app
        self._session_bytes = session_bytes
        self._library = library
        self._library_units: list[dict[str, float]] = []

    async def start(self) -> None:
        """Zero the meter and read the library's totals so far."""
        await self._meter.reset()
        await self._read_library_units()

    async def end(self) -> None:
        """Read the meter and the library's totals."""
        # The middleware hands its last events to the hook as its requests finish; give
        # the hook a moment so the two totals cover the same calls.
        await asyncio.sleep(0.2)
        self.stats = await self._meter.stats()
        await self._read_library_units()

    async def _read_library_units(self) -> None:
        if self._library:
            async with httpx.AsyncClient(base_url=self._app.url, timeout=10) as client:
                response = await client.get("/__units__")
            response.raise_for_status()
            self._library_units.append(response.json())

    def capacity(self, requests: int) -> Capacity:
        """The units of the mix, per 1,000 requests too; failed conditions count 1 WRU each."""
        stats, n = self.stats, max(requests, 1)
        writes = stats["write_units"] + stats["conditional_failures"]
        capacity: Capacity = {
            "session_bytes": self._session_bytes,
            "read_units": stats["read_units"],
            "write_units": stats["write_units"],
            "units_by_op": stats["units"],
            "conditional_failures": stats["conditional_failures"],
            "unmetered": stats["unmetered"],
            "rru_per_1k": round(stats["read_units"] * 1000 / n, 2),
            "wru_per_1k": round(writes * 1000 / n, 2),
        }
        if self._library:
            before, after = self._library_units
            capacity["library_read_units"] = after["read_units"] - before["read_units"]
            capacity["library_write_units"] = after["write_units"] - before["write_units"]
        return capacity


def check_capacity(capacity: Capacity) -> None:
    """The self-check: the meter's units equal the library's own, when it reported them."""
    if "library_read_units" not in capacity:
        return
    meter = (capacity["read_units"], capacity["write_units"])
    library = (capacity["library_read_units"], capacity.get("library_write_units", 0.0))
    if any(abs(m - lib) > 1e-6 for m, lib in zip(meter, library, strict=True)):
        raise RuntimeError(
            f"capacity self-check failed: the meter counted {meter[0]:g} RRU / {meter[1]:g} WRU,"
            f" the library's events {library[0]:g} RRU / {library[1]:g} WRU"
        )
    if capacity["unmetered"]:
        raise RuntimeError(f"{capacity['unmetered']} item operations reported no capacity")


class MixWindow:
    """The bounds of the timed mix, as ``run_load``'s ``on_start`` and ``on_end`` hooks.

    At the start the proxy takes on the scenario's latency and faults and zeroes its
    counters, so that logins before and the verification after count for nothing; so does
    the capacity meter, if the scenario has one.
    """

    before: CpuSample
    after: CpuSample
    stats: ProxyStats

    def __init__(
        self,
        app: App,
        proxy: Proxy,
        server: LocalServer,
        scenario: Scenario,
        *,
        seed: int,
        capacity: CapacityWindow | None = None,
    ) -> None:
        self._app, self._proxy, self._server = app, proxy, server
        self._scenario = scenario
        self._seed = seed
        self.capacity = capacity

    async def start(self) -> None:
        """Turn the scenario on, zero the counters and read the CPU clocks."""
        scenario = self._scenario
        await self._proxy.configure(
            latency_ms=scenario.latency_ms, faults=scenario.faults, seed=self._seed
        )
        await self._proxy.reset()
        if self.capacity is not None:
            await self.capacity.start()
        self.before = CpuSample.take(self._app, self._proxy, self._server)

    async def end(self) -> None:
        """Read the CPU clocks and the counters, then turn latency and faults off."""
        self.after = CpuSample.take(self._app, self._proxy, self._server)
        if self.capacity is not None:
            await self.capacity.end()
        self.stats = await self._proxy.stats()
        await self._proxy.configure(latency_ms=0, faults={})

    def summary(self, result: LoadResult) -> LoadSummary:
        """The figures of the mix."""
        cpu_s = self.after.app - self.before.app
        return summarize(result, self.stats, cpu_s, probes=self._scenario.probes)

    def other_cpu(self, result: LoadResult) -> dict[str, float]:
        """CPU milliseconds per request of the processes besides the app."""
        return other_cpu_ms_per_request(self.before, self.after, max(result.requests, 1))
