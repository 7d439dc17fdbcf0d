"""A whole run: cold start, then every scenario with every contender, into one Results.

One server of each kind (and its proxy) serves every scenario that uses it; each
contender gets a fresh table and a fresh app process. A contender that fails is recorded
with its error and the run goes on.
"""

from __future__ import annotations

import os
import re
import time
import traceback
from dataclasses import dataclass
from pathlib import Path

from benchmarks.clients import ClientKind
from benchmarks.coldstart import cold_start
from benchmarks.environment import machine, versions
from benchmarks.harness import (
    App,
    Meter,
    Processes,
    Proxy,
    create_table,
    harness_processes,
    start_app,
    start_meter,
    start_proxy,
    stop_process,
)
from benchmarks.library import LibrarySnapshot, snapshot_library
from benchmarks.loadgen import LoadConfig, run_load
from benchmarks.measurement import (
    CapacityWindow,
    MixWindow,
    check_capacity,
    endpoint_calls,
    first_request_timing,
)
from benchmarks.scenarios import Contender, Scenario
from benchmarks.schema import LoadAverage, Meta, Results, Run, RunExtras, RunResult, ScenarioResult
from devservers.dynamodb import LocalServer, ServerKind


@dataclass(frozen=True)
class Options:
    """What the command line asked for."""

    command: str
    quick: bool
    users: int
    duration: float
    seed: int
    client: ClientKind
    contenders: tuple[Contender, ...]
    scenarios: tuple[Scenario, ...]
    out: Path
    docs: bool
    merge: bool = False

    @property
    def log_dir(self) -> Path:
        """Where each app's uvicorn log goes."""
        return self.out / "logs"


async def run_all(options: Options) -> Results:
    """Measure import times, then run every scenario; return what results.json holds."""
    started = time.monotonic()
    loadavg: LoadAverage = {"start": list(os.getloadavg())}
    results: Results = {
        "meta": _meta(options, loadavg),
        "contenders": [c.info() for c in options.contenders],
        "scenarios": [],
    }
    with snapshot_library() as library:
        # Imports first, while nothing of the harness runs yet: they are the most sensitive
        # to other load on the machine.
        print("cold start (import times)", flush=True)
        results["cold_start"] = cold_start(library)
        with harness_processes() as procs:
            bench = _Bench(options, procs, library)
            for scenario in options.scenarios:
                results["scenarios"].append(await bench.run_scenario(scenario))
        results["meta"]["wall_s"] = round(time.monotonic() - started, 1)
        results["meta"]["library"] = library.fingerprint
    loadavg["end"] = list(os.getloadavg())
    return results


def _meta(options: Options, loadavg: LoadAverage) -> Meta:
    return {
        "command": options.command,
        "started_utc": time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime()),
        "quick": options.quick,
        "users": options.users,
        "duration_s": options.duration,
        "client": options.client,
        "machine": machine(),
        "versions": versions(),
        "loadavg": loadavg,
    }


class _Bench:
    """The servers, proxies and tables of one run, shared by its scenarios."""

    def __init__(self, options: Options, procs: Processes, library: LibrarySnapshot) -> None:
        self._options = options
        self._procs = procs
        self._library = library
        self._servers: dict[ServerKind, tuple[LocalServer, Proxy]] = {}
        self._metered: dict[ServerKind, tuple[Proxy, Meter]] = {}
        self._tables = 0

    async def run_scenario(self, scenario: Scenario) -> ScenarioResult:
        """Every contender that takes part in `scenario`, one after the other."""
        server, proxy = self._server(scenario.server)
        meter = None
        if scenario.metered:
            proxy, meter = self._metered_proxy(server)
        entry = scenario.entry()
        for contender in self._options.contenders:
            if contender.runs_in(scenario):
                run = await self._run_reported(contender, scenario, server, proxy, meter)
                entry["runs"].append(run)
        return entry

    def _server(self, kind: ServerKind) -> tuple[LocalServer, Proxy]:
        if kind not in self._servers:
            print(f"starting {kind} and its proxy", flush=True)
            server = self._procs.start_server(kind)
            self._servers[kind] = (server, start_proxy(server.endpoint_url, self._procs))
        return self._servers[kind]

    def _metered_proxy(self, server: LocalServer) -> tuple[Proxy, Meter]:
        """A counting proxy in front of the capacity meter in front of `server`."""
        if server.kind not in self._metered:
            print(f"starting the capacity meter in front of {server.kind}", flush=True)
            meter = start_meter(server.endpoint_url, self._procs)
            self._metered[server.kind] = (start_proxy(meter.url, self._procs), meter)
        return self._metered[server.kind]

    async def _run_reported(
        self,
        contender: Contender,
        scenario: Scenario,
        server: LocalServer,
        proxy: Proxy,
        meter: Meter | None,
    ) -> Run:
        """Run one contender, print a line about it, and record a failure as such."""
        t0 = time.monotonic()
        print(f"[{scenario.key}] {contender.label} ...", end=" ", flush=True)
        try:
            run = await self._run(contender, scenario, server, proxy, meter)
        except Exception as exc:
            print(f"FAILED: {exc}", flush=True)
            return {
                "contender": contender.label,
                "error": f"{type(exc).__name__}: {exc}",
                "traceback": traceback.format_exc()[-4000:],
            }
        print(
            f"{run['rps']} req/s, {run['calls_per_request']} calls/req, "
            f"{run['cpu_ms_per_request']} CPU ms/req, "
            f"ok={run['correctness']['ok']} ({time.monotonic() - t0:.0f}s) "
            f"other CPU ms/req {run['other_cpu_ms_per_request']}" + _capacity_note(run),
            flush=True,
        )
        return run

    async def _run(
        self,
        contender: Contender,
        scenario: Scenario,
        server: LocalServer,
        proxy: Proxy,
        meter: Meter | None,
    ) -> RunResult:
        table = self._new_table(contender, scenario)
        if contender.uses_dynamodb:
            create_table(server.endpoint_url, table, server.kind)
        await proxy.configure(latency_ms=0, faults={}, seed=self._options.seed)
        app = start_app(
            contender,
            endpoint_url=proxy.url,
            table=table,
            library=self._library,
            procs=self._procs,
            log_dir=self._options.log_dir,
            extra_env=scenario.app_env(),
        )
        try:
            return await self._measure(contender, scenario, app, server, proxy, meter)
        finally:
            stop_process(app.process)

    async def _measure(
        self,
        contender: Contender,
        scenario: Scenario,
        app: App,
        server: LocalServer,
        proxy: Proxy,
        meter: Meter | None,
    ) -> RunResult:
        extras: RunExtras = {"library": self._library.fingerprint} if contender.is_library else {}
        if scenario.first_request:
            extras["first_request"] = await first_request_timing(app)
        if scenario.endpoint_probe:
            extras["endpoint_calls"] = await endpoint_calls(app, proxy)
        config = self._load_config(scenario, app.url)
        capacity = None
        if meter is not None:
            capacity = CapacityWindow(
                meter, app, session_bytes=scenario.session_bytes, library=contender.is_library
            )
        window = MixWindow(app, proxy, server, scenario, seed=self._options.seed, capacity=capacity)
        result = await run_load(config, window.start, window.end)
        if capacity is not None:
            extras["capacity"] = capacity.capacity(result.requests)
            check_capacity(extras["capacity"])
        return {
            "contender": contender.label,
            **extras,
            **window.summary(result),
            "other_cpu_ms_per_request": window.other_cpu(result),
            "users": config.users,
        }

    def _new_table(self, contender: Contender, scenario: Scenario) -> str:
        """A table name of its own for every run, numbered in the order of the run."""
        self._tables += 1
        table = f"bench_{self._tables:02d}_{scenario.key}_{contender.label}".replace("+", "_")
        return re.sub(r"[^A-Za-z0-9_.-]", "_", table)

    def _load_config(self, scenario: Scenario, base_url: str) -> LoadConfig:
        options = self._options
        users = scenario.users or options.users
        if options.quick:
            users = min(users, options.users)
        return LoadConfig(
            base_url=base_url,
            users=users,
            duration=options.duration * scenario.duration_factor,
            seed=options.seed,
            probes=scenario.probes,
            client=options.client,
        )


def _capacity_note(run: RunResult) -> str:
    capacity = run.get("capacity")
    if capacity is None:
        return ""
    checked = ", = its events" if "library_read_units" in capacity else ""
    return f", RRU/WRU per 1k req {capacity['rru_per_1k']} / {capacity['wru_per_1k']}{checked}"
