"""Start and stop local DynamoDB-compatible servers: moto in server mode, and dynalite.

moto covers the whole API (TTL included) but its conditional writes are not atomic
under concurrency; dynalite is atomic per item but has no TTL API and no
transactions. Neither deletes expired items.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from devservers.process import free_port, start_process, stop_process

__all__ = [
    "DUMMY_CREDENTIALS",
    "ROOT",
    "LocalServer",
    "ServerKind",
    "free_port",
    "running",
    "start",
]

ROOT = Path(__file__).resolve().parent.parent
ServerKind = Literal["moto", "dynalite"]

# Local servers accept any credentials, but botocore refuses to sign without some.
DUMMY_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}


@dataclass
class LocalServer:
    """A running local server: its kind, endpoint URL and process."""

    kind: ServerKind
    endpoint_url: str
    process: subprocess.Popen[bytes]

    def stop(self) -> None:
        """Terminate the server and wait for it to exit."""
        stop_process(self.process)


def _command(kind: ServerKind, port: int) -> list[str]:
    if kind == "moto":
        moto = Path(sys.executable).with_name("moto_server")
        return [str(moto), "-H", "127.0.0.1", "-p", str(port)]
    cli = ROOT / "node_modules" / "dynalite" / "cli.js"
    if not cli.exists():
        raise RuntimeError(f"dynalite is not installed: run `npm ci` in {ROOT}")
    node = shutil.which("node") or "node"
    return [node, str(cli), "--host", "127.0.0.1", "--port", str(port)]


def _list_tables_answers(endpoint_url: str) -> bool:
    # An unsigned ListTables is enough: both servers answer it with 200 once ready.
    request = urllib.request.Request(  # noqa: S310 - loopback URL built above
        endpoint_url,
        data=b"{}",
        headers={
            "X-Amz-Target": "DynamoDB_20120810.ListTables",
            "Content-Type": "application/x-amz-json-1.0",
            "X-Amz-Date": "20200101T000000Z",
            "Authorization": "AWS4-HMAC-SHA256 Credential=testing/20200101/us-east-1/"
            "dynamodb/aws4_request, SignedHeaders=host, Signature=0",
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=1) as response:  # noqa: S310
            return response.status == 200 and "TableNames" in json.loads(response.read())
    except (OSError, urllib.error.URLError, ValueError):
        return False


def start(kind: ServerKind, *, port: int | None = None, timeout: float = 30.0) -> LocalServer:
    """Start a server of `kind` on 127.0.0.1 and return once ListTables answers 200."""
    port = port or free_port()
    endpoint_url = f"http://127.0.0.1:{port}"
    process = start_process(
        _command(kind, port),
        ready=lambda: _list_tables_answers(endpoint_url),
        name=f"{kind} on port {port}",
        timeout=timeout,
        env={**os.environ, **DUMMY_CREDENTIALS},
        cwd=ROOT,
    )
    return LocalServer(kind, endpoint_url, process)


@contextlib.contextmanager
def running(kind: ServerKind, *, port: int | None = None) -> Iterator[LocalServer]:
    """Context manager form of `start`: the server is stopped on exit."""
    server = start(kind, port=port)
    try:
        yield server
    finally:
        server.stop()
