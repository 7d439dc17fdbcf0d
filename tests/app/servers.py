"""Real servers the app tests talk to: the app under uvicorn, its tables and stores,
and the secret key every app under test signs with."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx

from app.config import Settings
from devservers.dynamodb import DUMMY_CREDENTIALS, free_port
from devservers.process import stop_process
from dynamodb_sessions import DynamoDBStore
from tests.support import run_cli

ROOT = Path(__file__).resolve().parents[2]
REGION = DUMMY_CREDENTIALS["AWS_DEFAULT_REGION"]
SECRET = "app-tests-secret-key"


def create_table(endpoint_url: str, name: str | None = None, *, user_index: bool = True) -> str:
    """Create a sessions table (with its user index) through the library's CLI; return its name."""
    name = name or f"app-tests-{uuid.uuid4().hex[:10]}"
    run_cli(
        *("create-table", "--table-name", name),
        *(["--with-user-index"] if user_index else []),
        *("--endpoint-url", endpoint_url, "--region", REGION),
        env={**os.environ, **DUMMY_CREDENTIALS},
        check=True,
    )
    return name


def store_for(settings: Settings) -> DynamoDBStore:
    """A store of its own on the table `settings` name, as another container's (whose
    middleware would give it the first secret key as its `user_id_key`)."""
    return DynamoDBStore(
        settings.table_name,
        region_name=settings.region_name,
        endpoint_url=settings.endpoint_url,
        user_id_key=settings.secret_keys[0],
    )


@contextlib.contextmanager
def running_app(env: dict[str, str], *, port: int | None = None) -> Iterator[str]:
    """Run the app under uvicorn in a subprocess with `env` added; yield its base URL."""
    port = port or free_port()
    process = subprocess.Popen(
        [
            *(sys.executable, "-m", "uvicorn", "--factory", "app.main:create_app"),
            *("--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"),
        ],
        cwd=ROOT,
        env={**os.environ, **DUMMY_CREDENTIALS, **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base_url = f"http://127.0.0.1:{port}"
    try:
        _wait_for(base_url + "/healthz", process)
        yield base_url
    finally:
        stop_process(process)
        if process.stderr is not None:
            process.stderr.close()


def _wait_for(url: str, process: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            stderr = process.stderr.read().decode() if process.stderr else ""
            raise RuntimeError(f"the app exited with code {process.returncode}:\n{stderr}")
        with contextlib.suppress(httpx.TransportError):
            if httpx.get(url, timeout=1).status_code == 200:
                return
        time.sleep(0.1)
    raise RuntimeError(f"the app did not answer {url} within {timeout}s")
