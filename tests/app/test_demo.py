"""scripts/demo.sh (the README's first command) serves, keeps sessions over restarts, cleans up."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from devservers.dynamodb import free_port

from .flows import sign_in_over_http

ROOT = Path(__file__).resolve().parents[2]


def _port_open(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


@contextmanager
def demo(env: dict[str, str], *args: str, ready: str) -> Iterator[list[str]]:
    """Run scripts/demo.sh until it prints `ready`; on exit, Ctrl-C it (SIGINT) and wait."""
    process = subprocess.Popen(
        ["bash", "scripts/demo.sh", *args],
        cwd=ROOT,
        env={**os.environ, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert process.stdout is not None
    lines: list[str] = []
    deadline = time.monotonic() + 240
    try:
        while not any(ready in line for line in lines):
            line = process.stdout.readline()
            if not line and process.poll() is not None:
                pytest.fail("demo.sh exited early:\n" + "".join(lines))
            lines.append(line)
            assert time.monotonic() < deadline, "".join(lines)
        yield lines
    finally:
        process.send_signal(signal.SIGINT)
        lines += process.stdout.readlines()
        process.wait(timeout=30)
        process.stdout.close()


def test_demo_serves_and_a_restart_keeps_the_session() -> None:
    ports = {name: free_port() for name in ("DEMO_PORT", "DEMO_DB_PORT", "DEMO_OIDC_PORT")}
    env = {name: str(port) for name, port in ports.items()}
    base_url = f"http://127.0.0.1:{ports['DEMO_PORT']}"

    with demo(env, "--services", ready="Services are up"):
        with demo(env, ready="LLM Duel is ready") as lines, httpx.Client(base_url=base_url) as app:
            assert "first page served" in "".join(lines)
            assert f"== logs: {ROOT}/.demo-logs/" in "".join(lines)  # in the checkout, ignored
            assert app.get("/healthz").json()["session_backend"] == "dynamodb"
            sign_in_over_http(app, "demo@example.com")
            assert app.post("/vote", data={"duel_id": "name-a-cat", "choice": "b"}).is_redirect
            cookies = app.cookies
        assert not _port_open(ports["DEMO_PORT"])  # the app stopped ...
        assert _port_open(ports["DEMO_DB_PORT"])  # ... but not the services it reused

        with demo(env, ready="LLM Duel is ready"), httpx.Client(base_url=base_url) as app:
            app.cookies = cookies
            page = app.get("/").text
            assert "demo@example.com" in page
            assert "you chose <strong>B</strong>" in page
            # Signing out goes through the local provider and straight back to the app.
            signed_out = app.post("/logout", follow_redirects=True)
            assert str(signed_out.url) == f"{base_url}/"
            assert 'id="signed-out"' in signed_out.text
    assert "Uvicorn running" in (ROOT / ".demo-logs" / "app.log").read_text()

    assert not any(_port_open(port) for port in ports.values())
