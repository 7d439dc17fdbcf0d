"""What every local server started as a child process shares: a free port, starting
it and waiting until it answers, and stopping it.

Public (no leading underscore): the tests and the benchmarks stop their own child
processes with `stop_process` too.
"""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Callable, Mapping
from pathlib import Path


def free_port() -> int:
    """Return a TCP port that is free on 127.0.0.1 right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def stop_process(process: subprocess.Popen[bytes]) -> None:
    """Terminate `process` and wait for it to exit (kill it after 10 s)."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def wait_until_ready(
    process: subprocess.Popen[bytes], ready: Callable[[], bool], *, name: str, timeout: float
) -> None:
    """Poll `ready()` until it is true; stop the process and raise if it exits or times out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{name} exited with code {process.returncode}")
        if ready():
            return
        time.sleep(0.1)
    stop_process(process)
    raise RuntimeError(f"{name} did not answer within {timeout}s")


def start_process(
    argv: list[str],
    *,
    ready: Callable[[], bool],
    name: str,
    timeout: float,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> subprocess.Popen[bytes]:
    """Start `argv` with its output discarded; return it once `ready()` is true."""
    process = subprocess.Popen(  # noqa: S603 - argv built by the callers here
        argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, cwd=cwd
    )
    wait_until_ready(process, ready, name=name, timeout=timeout)
    return process
