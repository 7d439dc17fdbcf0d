"""The processes a run starts: DynamoDB servers, the counting proxy and the apps under test.

Everything listens on 127.0.0.1. :class:`Processes` remembers every process so that all
of them are stopped at the end, whatever fails in between.
"""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import httpx

from benchmarks.library import LibrarySnapshot
from benchmarks.paths import ROOT
from benchmarks.scenarios import Contender
from benchmarks.schema import MeterStats, ProxyStats
from devservers import dynamodb as devservers
from devservers.process import stop_process as stop_process  # runner.py imports it from here

# The apps talk to local servers only; without the metadata switch botocore would first
# look for credentials on an EC2 metadata endpoint that is not there.
APP_ENV = {**devservers.DUMMY_CREDENTIALS, "AWS_EC2_METADATA_DISABLED": "true"}


class Processes:
    """Every process the harness starts, so that all of them are stopped at the end."""

    def __init__(self) -> None:
        self._procs: list[subprocess.Popen[bytes]] = []
        self._servers: list[devservers.LocalServer] = []

    def add(self, proc: subprocess.Popen[bytes]) -> subprocess.Popen[bytes]:
        """Remember `proc` and return it."""
        self._procs.append(proc)
        return proc

    def start_server(self, kind: devservers.ServerKind) -> devservers.LocalServer:
        """Start moto or dynalite and remember it."""
        server = devservers.start(kind, timeout=20)
        self._servers.append(server)
        return server

    def stop_all(self) -> None:
        """Stop everything, the latest first."""
        for proc in reversed(self._procs):
            stop_process(proc)
        for server in reversed(self._servers):
            server.stop()


@contextlib.contextmanager
def harness_processes() -> Iterator[Processes]:
    """A :class:`Processes` whose processes are all stopped on exit."""
    procs = Processes()
    try:
        yield procs
    finally:
        procs.stop_all()


@dataclass
class Proxy:
    """The counting proxy (``devservers.proxy``) in front of one server, and its controls."""

    url: str
    process: subprocess.Popen[bytes]

    async def stats(self) -> ProxyStats:
        """The calls and faults counted since the last reset."""
        result: ProxyStats = await self._call("stats")
        return result

    async def reset(self) -> None:
        """Zero the counters."""
        await self._call("reset")

    async def configure(
        self, *, latency_ms: float, faults: dict[str, float], seed: int | None = None
    ) -> None:
        """Set the added latency and the faults, and reseed the faults' dice if `seed`."""
        body: dict[str, Any] = {"latency_ms": latency_ms, "faults": faults}
        if seed is not None:
            body["seed"] = seed
        await self._call("config", body)

    async def _call(self, action: str, body: dict[str, Any] | None = None) -> Any:
        async with httpx.AsyncClient(base_url=self.url, timeout=10) as client:
            if action == "stats":
                response = await client.get("/__proxy__/stats")
            else:
                response = await client.post(f"/__proxy__/{action}", json=body or {})
            response.raise_for_status()
            return response.json()


@dataclass
class Meter:
    """The capacity meter (``benchmarks.meter``) in front of one server, and its controls."""

    url: str
    process: subprocess.Popen[bytes]

    async def stats(self) -> MeterStats:
        """The capacity units metered since the last reset."""
        async with httpx.AsyncClient(base_url=self.url, timeout=10) as client:
            response = await client.get("/__meter__/stats")
        response.raise_for_status()
        result: MeterStats = response.json()
        return result

    async def reset(self) -> None:
        """Zero the counters."""
        async with httpx.AsyncClient(base_url=self.url, timeout=10) as client:
            (await client.post("/__meter__/reset")).raise_for_status()


def start_proxy(upstream: str, procs: Processes) -> Proxy:
    """Start the counting proxy in front of `upstream`; it prints its port when ready."""
    return Proxy(*_start_forwarder("devservers.proxy", upstream, procs))


def start_meter(upstream: str, procs: Processes) -> Meter:
    """Start the capacity meter in front of `upstream`."""
    return Meter(*_start_forwarder("benchmarks.meter", upstream, procs))


def _start_forwarder(
    module: str, upstream: str, procs: Processes
) -> tuple[str, subprocess.Popen[bytes]]:
    """Start ``python -m module --upstream URL``, which prints ``READY <port>``."""
    process = procs.add(
        subprocess.Popen(
            [sys.executable, "-m", module, "--upstream", upstream],
            stdout=subprocess.PIPE,
            cwd=ROOT,
        )
    )
    assert process.stdout is not None
    line = process.stdout.readline().decode()
    match = re.match(r"READY (\d+)", line)
    if not match:
        raise RuntimeError(f"{module} did not start: {line!r}")
    return f"http://127.0.0.1:{match.group(1)}", process


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


@dataclass
class App:
    """A contender running under uvicorn."""

    url: str
    process: subprocess.Popen[bytes]
    startup_s: float  # from starting the process to its first answer
    log: Path


def start_app(
    contender: Contender,
    *,
    endpoint_url: str,
    table: str,
    library: LibrarySnapshot,
    procs: Processes,
    log_dir: Path,
    extra_env: dict[str, str] | None = None,
) -> App:
    """Start `contender` under uvicorn (one worker) and wait until it answers; the
    scenario's `extra_env` comes on top of the contender's settings."""
    port = devservers.free_port()
    log = log_dir / f"{table}.log"
    started = time.perf_counter()
    with log.open("wb") as log_file:
        process = procs.add(
            subprocess.Popen(
                _uvicorn_command(contender, port),
                stdout=log_file,
                stderr=subprocess.STDOUT,
                env={
                    **_app_env(contender, endpoint_url=endpoint_url, table=table, library=library),
                    **(extra_env or {}),
                },
                cwd=ROOT,
            )
        )
    url = f"http://127.0.0.1:{port}"
    _wait_for_app(url, process, log, contender.label)
    return App(url, process, time.perf_counter() - started, log)


def _app_env(
    contender: Contender, *, endpoint_url: str, table: str, library: LibrarySnapshot
) -> dict[str, str]:
    """What the app reads (see ``benchmarks._app``), on top of this process's environment."""
    return {
        **os.environ,
        **APP_ENV,
        **library.env(),
        "BENCH_ENDPOINT_URL": endpoint_url,
        "BENCH_TABLE": table,
        "BENCH_SKIP_PATHS": "1" if contender.skip_paths else "",
        **dict(contender.env),
    }


def _uvicorn_command(contender: Contender, port: int) -> list[str]:
    return [
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
    ]


def _wait_for_app(url: str, process: subprocess.Popen[bytes], log: Path, label: str) -> None:
    deadline = time.monotonic() + 30
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"{label} exited at start-up:\n{log.read_text()[-3000:]}")
        try:
            if httpx.get(f"{url}/nosession", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"{label} did not answer within 30s")
        time.sleep(0.05)
