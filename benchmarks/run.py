"""Run the whole session-store comparison and write benchmarks/results/.

Usage (from the repository root)::

    .venv/bin/python -m benchmarks.run            # full run, about 8 minutes
    .venv/bin/python -m benchmarks.run --quick    # short smoke run, about 3 minutes

Everything runs on 127.0.0.1: the harness starts a DynamoDB-compatible server (moto or
dynalite), the counting proxy (``devservers.proxy``) in front of it, and each contender
under uvicorn (one worker, its own process), then drives it with ``benchmarks.loadgen``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import importlib.metadata
import json
import os
import platform
import re
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import httpx

from benchmarks.loadgen import LoadConfig, LoadResult, run_load

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # devservers lives at the repository root
    sys.path.insert(0, str(ROOT))

from devservers import dynamodb as devservers  # noqa: E402

RESULTS_DIR = Path(__file__).resolve().parent / "results"
CLK_TCK = os.sysconf("SC_CLK_TCK")
APP_ENV = {**devservers.DUMMY_CREDENTIALS, "AWS_EC2_METADATA_DISABLED": "true"}


@dataclass(frozen=True)
class Contender:
    label: str
    module: str
    uses_dynamodb: bool
    skip_paths: bool = False
    env: tuple[tuple[str, str], ...] = ()
    only_scenarios: tuple[str, ...] = ()  # empty: every scenario


CONTENDERS: tuple[Contender, ...] = (
    Contender("cookie", "benchmarks.contender_cookie", uses_dynamodb=False),
    Contender("naive", "benchmarks.contender_naive", uses_dynamodb=True),
    Contender("starsessions", "benchmarks.contender_starsessions", uses_dynamodb=True),
    Contender("dynamodb-sessions", "benchmarks.contender_dynamodb_sessions", uses_dynamodb=True),
    Contender(
        "dynamodb-sessions+skip",
        "benchmarks.contender_dynamodb_sessions",
        uses_dynamodb=True,
        skip_paths=True,
    ),
    Contender(
        "dynamodb-sessions boto3",
        "benchmarks.contender_dynamodb_sessions",
        uses_dynamodb=True,
        env=(("BENCH_LEAN", "0"),),
        only_scenarios=("plain-dynalite", "latency5-dynalite"),
    ),
)


@dataclass(frozen=True)
class Scenario:
    key: str
    title: str
    server: devservers.ServerKind
    latency_ms: float = 0.0
    faults: dict[str, float] = field(default_factory=dict)
    probes: bool = False
    users: int | None = None  # None: the --users value
    duration_factor: float = 1.0
    db_only: bool = False
    endpoint_probe: bool = False  # measure DynamoDB calls per endpoint, one by one
    first_request: bool = False  # time the first request after start-up


SCENARIOS: tuple[Scenario, ...] = (
    Scenario("plain-moto", "Plain, moto server", "moto"),
    Scenario(
        "plain-dynalite",
        "Plain, dynalite",
        "dynalite",
        endpoint_probe=True,
        first_request=True,
    ),
    Scenario("latency5-dynalite", "5 ms added per DynamoDB call, dynalite", "dynalite", 5.0),
    Scenario(
        "block200-dynalite",
        "Event-loop block test: 200 ms added per DynamoDB call, dynalite",
        "dynalite",
        200.0,
        probes=True,
        users=16,
        duration_factor=0.7,
    ),
    Scenario(
        "throttle5-dynalite",
        "5% of DynamoDB calls throttled (ThrottlingException), dynalite",
        "dynalite",
        faults={"throttle": 0.05},
        db_only=True,
    ),
    Scenario(
        "faults-mixed-dynalite",
        "5% mixed faults (1% throttled, 1% HTTP 500, 1.5% connections dropped before the"
        " call, 1.5% answers lost after the call was applied), dynalite",
        "dynalite",
        faults={"throttle": 0.01, "500": 0.01, "drop": 0.015, "lost_answer": 0.015},
        db_only=True,
    ),
)


# --------------------------------------------------------------------------- processes


class Processes:
    """Every process the harness starts, so that all of them are stopped at the end."""

    def __init__(self) -> None:
        self._procs: list[subprocess.Popen[bytes]] = []
        self._servers: list[devservers.LocalServer] = []

    def add(self, proc: subprocess.Popen[bytes]) -> subprocess.Popen[bytes]:
        self._procs.append(proc)
        return proc

    def add_server(self, server: devservers.LocalServer) -> devservers.LocalServer:
        self._servers.append(server)
        return server

    @staticmethod
    def stop(proc: subprocess.Popen[bytes]) -> None:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    def stop_all(self) -> None:
        for proc in reversed(self._procs):
            self.stop(proc)
        for server in reversed(self._servers):
            server.stop()


def _list_tables_signed(endpoint_url: str) -> bool:
    client = boto3.client(
        "dynamodb",
        endpoint_url=endpoint_url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=_boto_config(1),
    )
    try:
        client.list_tables()
    except Exception:
        return False
    return True


def _boto_config(timeout: float) -> Any:
    from botocore.config import Config

    return Config(connect_timeout=timeout, read_timeout=timeout, retries={"max_attempts": 1})


def start_server(kind: devservers.ServerKind, procs: Processes) -> devservers.LocalServer:
    """Start moto or dynalite through devservers, with a fallback readiness check.

    Older devservers probed dynalite with a ListTables that had no X-Amz-Date header,
    which dynalite rejects; if devservers cannot start dynalite, we start the same
    command and probe it with a signed call.
    """
    try:
        return procs.add_server(devservers.start(kind, timeout=20))
    except RuntimeError:
        if kind == "moto":
            raise
    port = devservers.free_port()
    env = {**os.environ, **devservers.DUMMY_CREDENTIALS}
    process = subprocess.Popen(
        devservers._command(kind, port),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
        cwd=devservers.ROOT,
    )
    server = procs.add_server(devservers.LocalServer(kind, f"http://127.0.0.1:{port}", process))
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{kind} exited with code {process.returncode}")
        if _list_tables_signed(server.endpoint_url):
            return server
        time.sleep(0.2)
    raise RuntimeError(f"{kind} did not answer ListTables within 30s")


@dataclass
class Proxy:
    url: str
    process: subprocess.Popen[bytes]


def start_proxy(upstream: str, procs: Processes) -> Proxy:
    process = procs.add(
        subprocess.Popen(
            [sys.executable, "-m", "devservers.proxy", "--upstream", upstream],
            stdout=subprocess.PIPE,
            cwd=ROOT,
        )
    )
    assert process.stdout is not None
    line = process.stdout.readline().decode()
    match = re.match(r"READY (\d+)", line)
    if not match:
        raise RuntimeError(f"proxy did not start: {line!r}")
    return Proxy(f"http://127.0.0.1:{match.group(1)}", process)


async def proxy_call(proxy: Proxy, action: str, body: dict[str, Any] | None = None) -> Any:
    async with httpx.AsyncClient(base_url=proxy.url, timeout=10) as client:
        if action == "stats":
            response = await client.get("/__proxy__/stats")
        else:
            response = await client.post(f"/__proxy__/{action}", json=body or {})
        response.raise_for_status()
        return response.json()


def create_table(endpoint_url: str, name: str, kind: devservers.ServerKind) -> None:
    """Create a sessions table directly on the server (not through the proxy)."""
    client = boto3.client(
        "dynamodb",
        endpoint_url=endpoint_url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    client.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "session_id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "session_id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    deadline = time.monotonic() + 20
    while client.describe_table(TableName=name)["Table"]["TableStatus"] != "ACTIVE":
        if time.monotonic() > deadline:
            raise RuntimeError(f"table {name} did not become ACTIVE")
        time.sleep(0.1)
    if kind == "moto":  # dynalite has no TTL API
        client.update_time_to_live(
            TableName=name,
            TimeToLiveSpecification={"Enabled": True, "AttributeName": "ttl"},
        )


SNAPSHOT: dict[str, Path] = {}  # "dir": the copy of the library that this run measures


def snapshot_library() -> Path:
    """Copy src/dynamodb_sessions once per run; every app process imports that copy.

    The library may change while a run is going (others work on it): without the copy,
    contenders started later in the run would measure different code.
    """
    if "dir" not in SNAPSHOT:
        target = Path(tempfile.mkdtemp(prefix="bench-lib-"))
        shutil.copytree(
            ROOT / "src" / "dynamodb_sessions",
            target / "dynamodb_sessions",
            ignore=shutil.ignore_patterns("__pycache__"),
        )
        SNAPSHOT["dir"] = target
    return SNAPSHOT["dir"]


def library_env() -> dict[str, str]:
    """Environment additions that make a subprocess import the snapshot of the library."""
    paths = [str(snapshot_library()), os.environ.get("PYTHONPATH", "")]
    return {"PYTHONPATH": os.pathsep.join(p for p in paths if p)}


_FINGERPRINT: dict[str, str] = {}


def library_fingerprint() -> str:
    """HEAD when the run started plus a hash of the measured copy of the library."""
    if "value" not in _FINGERPRINT:
        _FINGERPRINT["value"] = _compute_fingerprint()
    return _FINGERPRINT["value"]


def _compute_fingerprint() -> str:
    digest = hashlib.sha256()
    root = snapshot_library()
    for path in sorted((root / "dynamodb_sessions").rglob("*.py")):
        digest.update(path.relative_to(root).as_posix().encode())
        digest.update(path.read_bytes())
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    ).stdout.strip()
    return f"{commit or 'unknown'}+src:{digest.hexdigest()[:10]}"


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (all its threads), from /proc/<pid>/stat."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


@dataclass
class App:
    url: str
    process: subprocess.Popen[bytes]
    startup_s: float
    log: Path


def start_app(
    contender: Contender, endpoint_url: str, table: str, procs: Processes, log_dir: Path
) -> App:
    port = devservers.free_port()
    env = {
        **os.environ,
        **APP_ENV,
        **library_env(),
        "BENCH_ENDPOINT_URL": endpoint_url,
        "BENCH_TABLE": table,
        "BENCH_SKIP_PATHS": "1" if contender.skip_paths else "",
        **dict(contender.env),
    }
    log = log_dir / f"{table}.log"
    started = time.perf_counter()
    with log.open("wb") as log_file:
        process = procs.add(
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "uvicorn",
                    f"{contender.module}:app",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(port),
                    "--no-access-log",
                    "--log-level",
                    "warning",
                    "--timeout-graceful-shutdown",
                    "2",
                ],
                stdout=log_file,
                stderr=subprocess.STDOUT,
                env=env,
                cwd=ROOT,
            )
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"{contender.label} exited at start-up:\n{log.read_text()[-3000:]}")
        try:
            if httpx.get(f"{url}/nosession", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"{contender.label} did not answer within 30s")
        time.sleep(0.05)
    return App(url, process, time.perf_counter() - started, log)


# --------------------------------------------------------------------------- measuring


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def ms(value: float | None) -> float | None:
    return None if value is None else round(value * 1000, 2)


async def first_request_timing(app: App) -> dict[str, Any]:
    """Time the first session-creating request after start-up, then a second one."""
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


async def endpoint_calls(app: App, proxy: Proxy, reps: int = 5) -> dict[str, dict[str, float]]:
    """DynamoDB calls per request for each endpoint, measured one endpoint at a time."""
    out: dict[str, dict[str, float]] = {}

    def per_request(stats: dict[str, Any], n: int) -> dict[str, float]:
        calls = {op: round(count / n, 3) for op, count in sorted(stats["calls"].items())}
        calls["total"] = round(stats["total"] / n, 3)
        return calls

    async with contextlib.AsyncExitStack() as stack:
        clients = [
            await stack.enter_async_context(httpx.AsyncClient(base_url=app.url, timeout=30))
            for _ in range(reps)
        ]
        await proxy_call(proxy, "reset")
        for i, client in enumerate(clients):
            (await client.post("/login", params={"user": f"probe{i}"})).raise_for_status()
        out["POST /login (no cookie)"] = per_request(await proxy_call(proxy, "stats"), reps)
        client = clients[0]
        for label, method, path in (
            ("GET /read", "GET", "/read"),
            ("POST /write", "POST", "/write"),
            ("GET /nosession (cookie)", "GET", "/nosession"),
        ):
            await proxy_call(proxy, "reset")
            for _ in range(reps):
                (await client.request(method, path)).raise_for_status()
            out[label] = per_request(await proxy_call(proxy, "stats"), reps)
        anonymous = await stack.enter_async_context(httpx.AsyncClient(base_url=app.url, timeout=30))
        await proxy_call(proxy, "reset")
        for _ in range(reps):
            (await anonymous.get("/nosession")).raise_for_status()
            (await anonymous.get("/read")).raise_for_status()
        stats = await proxy_call(proxy, "stats")
        out["GET /nosession + GET /read (no cookie)"] = per_request(stats, 2 * reps)
        await proxy_call(proxy, "reset")
        for client in clients:
            (await client.post("/logout")).raise_for_status()
        out["POST /logout"] = per_request(await proxy_call(proxy, "stats"), reps)
    return out


def summarize(
    result: LoadResult,
    stats: dict[str, Any],
    cpu_s: float,
    scenario: Scenario,
) -> dict[str, Any]:
    n = max(result.requests, 1)
    everything = [v for values in result.latencies.values() for v in values]
    summary: dict[str, Any] = {
        "requests": result.requests,
        "elapsed_s": round(result.elapsed, 2),
        "rps": round(result.requests / result.elapsed, 1) if result.elapsed else 0.0,
        "latency_ms": {
            op: {"p50": ms(percentile(v, 50)), "p99": ms(percentile(v, 99)), "n": len(v)}
            for op, v in sorted(result.latencies.items())
        },
        "latency_all_ms": {
            "p50": ms(percentile(everything, 50)),
            "p99": ms(percentile(everything, 99)),
        },
        "dynamodb_calls": stats["calls"],
        "dynamodb_calls_total": stats["total"],
        "calls_per_request": round(stats["total"] / n, 3),
        "calls_per_request_by_op": {
            op: round(count / n, 3) for op, count in sorted(stats["calls"].items())
        },
        "faults_injected": stats["faults"],
        "cpu_ms_per_request": round(cpu_s * 1000 / n, 3),
        "cpu_s": round(cpu_s, 2),
        "statuses": dict(result.statuses),
        "server_errors_5xx": result.server_errors,
        "client_errors_4xx": result.client_errors,
        "transport_errors": dict(result.errors),
        "cancelled_tasks": result.cancelled,
        "login_failures": result.login_failures,
        "correctness": vars(result.correctness) | {"ok": result.correctness.ok()},
    }
    if scenario.probes:
        summary["probes_ms"] = {
            label: {
                "p50": ms(percentile(v, 50)),
                "p99": ms(percentile(v, 99)),
                "max": ms(max(v) if v else None),
                "n": len(v),
            }
            for label, v in sorted(result.probe_latencies.items())
        }
    return summary


async def run_contender(
    contender: Contender,
    scenario: Scenario,
    server: devservers.LocalServer,
    proxy: Proxy,
    args: argparse.Namespace,
    procs: Processes,
    counter: list[int],
) -> dict[str, Any]:
    counter[0] += 1
    table = f"bench_{counter[0]:02d}_{scenario.key}_{contender.label}".replace("+", "_")
    table = re.sub(r"[^A-Za-z0-9_.-]", "_", table)
    if contender.uses_dynamodb:
        create_table(server.endpoint_url, table, server.kind)
    await proxy_call(proxy, "config", {"latency_ms": 0, "faults": {}, "seed": args.seed})
    app = start_app(contender, proxy.url, table, procs, args.log_dir)
    out: dict[str, Any] = {"contender": contender.label}
    if contender.module.endswith("dynamodb_sessions"):
        out["library"] = library_fingerprint()
    try:
        if scenario.first_request:
            out["first_request"] = await first_request_timing(app)
        if scenario.endpoint_probe:
            out["endpoint_calls"] = await endpoint_calls(app, proxy)
        users = scenario.users or args.users
        if args.quick:
            users = min(users, args.users)
        config = LoadConfig(
            base_url=app.url,
            users=users,
            duration=args.duration * scenario.duration_factor,
            seed=args.seed,
            probes=scenario.probes,
            client=args.client,
        )
        marks: dict[str, Any] = {}

        def other_cpu() -> dict[str, float]:
            return {
                "harness_loadgen": time.process_time(),
                "proxy": cpu_seconds(proxy.process.pid),
                f"server_{server.kind}": cpu_seconds(server.process.pid),
            }

        async def on_start() -> None:
            await proxy_call(
                proxy,
                "config",
                {"latency_ms": scenario.latency_ms, "faults": scenario.faults, "seed": args.seed},
            )
            await proxy_call(proxy, "reset")
            marks["cpu0"] = cpu_seconds(app.process.pid)
            marks["others0"] = other_cpu()

        async def on_end() -> None:
            marks["cpu1"] = cpu_seconds(app.process.pid)
            marks["others1"] = other_cpu()
            marks["stats"] = await proxy_call(proxy, "stats")
            await proxy_call(proxy, "config", {"latency_ms": 0, "faults": {}})

        result = await run_load(config, on_start, on_end)
        out.update(summarize(result, marks["stats"], marks["cpu1"] - marks["cpu0"], scenario))
        n = max(result.requests, 1)
        out["other_cpu_ms_per_request"] = {
            name: round((marks["others1"][name] - marks["others0"][name]) * 1000 / n, 3)
            for name in marks["others0"]
        }
        out["users"] = users
    finally:
        Processes.stop(app.process)
    return out


# --------------------------------------------------------------------------- cold start


def import_time(module: str, runs: int = 9) -> dict[str, Any]:
    """Cumulative `-X importtime` microseconds for `module` (median of `runs`, warm cache)."""
    cumulative: list[int] = []
    boto3_imported = False
    modules = 0
    for i in range(runs + 1):
        proc = subprocess.run(
            [sys.executable, "-X", "importtime", "-c", f"import {module}"],
            capture_output=True,
            text=True,
            cwd=ROOT,
            env={**os.environ, **APP_ENV, **library_env()},
            timeout=60,
            check=False,
        )
        if proc.returncode != 0:
            return {"module": module, "error": proc.stderr.strip().splitlines()[-1:]}
        lines = [line for line in proc.stderr.splitlines() if line.startswith("import time:")]
        rows = []
        for line in lines[1:]:
            parts = line.split("|")
            if len(parts) == 3 and parts[1].strip().isdigit():
                rows.append((int(parts[1]), parts[2].strip()))
        top = [cum for cum, name in rows if name == module]
        if i == 0:
            continue  # the first run may compile .pyc files
        if top:
            cumulative.append(top[-1])
        boto3_imported = boto3_imported or any(name == "boto3" for _, name in rows)
        modules = len(rows)
    return {
        "module": module,
        "cumulative_us_median": int(statistics.median(cumulative)) if cumulative else None,
        "cumulative_us_runs": cumulative,
        "boto3_imported": boto3_imported,
        "modules_imported": modules,
    }


def cold_start() -> dict[str, Any]:
    return {
        m: import_time(m)
        for m in (
            "dynamodb_sessions",
            "starsessions",
            "starlette.middleware.sessions",
            "boto3",
        )
    }


# --------------------------------------------------------------------------- driver


def versions() -> dict[str, str]:
    out: dict[str, str] = {"python": platform.python_version()}
    for dist in (
        "dynamodb-sessions",
        "starlette",
        "starsessions",
        "boto3",
        "botocore",
        "moto",
        "uvicorn",
        "httpx",
        "anyio",
        "matplotlib",
    ):
        try:
            out[dist] = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            out[dist] = "not installed"
    try:
        pkg = json.loads((ROOT / "node_modules" / "dynalite" / "package.json").read_text())
        out["dynalite"] = str(pkg["version"])
        out["node"] = subprocess.run(
            ["node", "--version"], capture_output=True, text=True, check=False
        ).stdout.strip()
    except (OSError, ValueError, KeyError):
        out["dynalite"] = "not installed"
    return out


def machine() -> dict[str, Any]:
    cpu_model = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu_model = line.split(":", 1)[1].strip()
                break
    return {
        "nproc": os.cpu_count(),
        "cpu": cpu_model,
        "platform": platform.platform(),
        "python": sys.version.split()[0],
    }


@contextlib.contextmanager
def harness_processes() -> Iterator[Processes]:
    procs = Processes()
    try:
        yield procs
    finally:
        procs.stop_all()


async def run_all(args: argparse.Namespace) -> dict[str, Any]:
    started = time.monotonic()
    results: dict[str, Any] = {
        "meta": {
            "command": args.command,
            "started_utc": time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime()),
            "quick": args.quick,
            "users": args.users,
            "duration_s": args.duration,
            "client": args.client,
            "machine": machine(),
            "versions": versions(),
            "loadavg": {"start": list(os.getloadavg())},
        },
        "contenders": [vars(c) for c in args.contenders],
        "scenarios": [],
    }
    counter = [0]
    library_fingerprint()  # copies the library and notes HEAD now
    # Imports first, while nothing of the harness runs yet: they are the most sensitive
    # to other load on the machine.
    print("cold start (import times)", flush=True)
    results["cold_start"] = cold_start()
    with harness_processes() as procs:
        servers: dict[str, tuple[devservers.LocalServer, Proxy]] = {}
        for scenario in args.scenarios:
            if scenario.server not in servers:
                print(f"starting {scenario.server} and its proxy", flush=True)
                server = start_server(scenario.server, procs)
                servers[scenario.server] = (server, start_proxy(server.endpoint_url, procs))
            server, proxy = servers[scenario.server]
            entry: dict[str, Any] = {
                "key": scenario.key,
                "title": scenario.title,
                "server": scenario.server,
                "latency_ms": scenario.latency_ms,
                "faults": scenario.faults,
                "probes": scenario.probes,
                "runs": [],
            }
            for contender in args.contenders:
                if scenario.db_only and not contender.uses_dynamodb:
                    continue
                if contender.only_scenarios and scenario.key not in contender.only_scenarios:
                    continue
                t0 = time.monotonic()
                print(f"[{scenario.key}] {contender.label} ...", end=" ", flush=True)
                try:
                    run = await run_contender(
                        contender, scenario, server, proxy, args, procs, counter
                    )
                    print(
                        f"{run['rps']} req/s, {run['calls_per_request']} calls/req, "
                        f"{run['cpu_ms_per_request']} CPU ms/req, "
                        f"ok={run['correctness']['ok']} ({time.monotonic() - t0:.0f}s) "
                        f"other CPU ms/req {run['other_cpu_ms_per_request']}",
                        flush=True,
                    )
                except Exception as exc:
                    print(f"FAILED: {exc}", flush=True)
                    run = {
                        "contender": contender.label,
                        "error": f"{type(exc).__name__}: {exc}",
                        "traceback": traceback.format_exc()[-4000:],
                    }
                entry["runs"].append(run)
            results["scenarios"].append(entry)
    results["meta"]["wall_s"] = round(time.monotonic() - started, 1)
    results["meta"]["library"] = library_fingerprint()
    shutil.rmtree(snapshot_library(), ignore_errors=True)
    results["meta"]["loadavg"]["end"] = list(os.getloadavg())
    return results


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Benchmark session middlewares on DynamoDB.")
    parser.add_argument("--quick", action="store_true", help="short smoke run (~3 minutes)")
    parser.add_argument("--users", type=int, default=None, help="virtual users (default 32)")
    parser.add_argument("--duration", type=float, default=None, help="seconds per load run")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--client",
        choices=("httpx", "raw"),
        default="raw",
        help="load generator HTTP client (default raw: a minimal asyncio client; httpx costs"
        " about 2.5 ms of CPU per request on the benchmark box, which the app then lacks)",
    )
    parser.add_argument(
        "--only", default="", help="comma-separated contender labels to run (default all)"
    )
    parser.add_argument(
        "--scenarios", default="", help="comma-separated scenario keys to run (default all)"
    )
    parser.add_argument("--out", type=Path, default=RESULTS_DIR)
    parser.add_argument(
        "--docs",
        action="store_true",
        help="also rewrite docs/performance.md (done anyway by a full default run)",
    )
    args = parser.parse_args(argv)
    args.command = shlex.join(["python", "-m", "benchmarks.run", *(argv or sys.argv[1:])])
    if args.users is None:
        args.users = 8 if args.quick else 32
    if args.duration is None:
        args.duration = 3.0 if args.quick else 12.0
    wanted = {s for s in args.only.split(",") if s}
    args.contenders = [c for c in CONTENDERS if not wanted or c.label in wanted]
    keys = {s for s in args.scenarios.split(",") if s}
    args.scenarios = [s for s in SCENARIOS if not keys or s.key in keys]
    args.log_dir = args.out / "logs"
    return args


def main(argv: list[str] | None = None) -> None:
    from benchmarks.report import write_docs, write_report

    args = parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    args.log_dir.mkdir(parents=True, exist_ok=True)
    results = asyncio.run(run_all(args))
    (args.out / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    write_report(results, args.out)
    print(f"wrote {args.out / 'results.md'} in {results['meta']['wall_s']}s", flush=True)
    complete = len(args.contenders) == len(CONTENDERS) and len(args.scenarios) == len(SCENARIOS)
    if args.docs or (complete and not args.quick and args.out == RESULTS_DIR):
        write_docs(results)
        print("wrote docs/performance.md", flush=True)


if __name__ == "__main__":
    main()
