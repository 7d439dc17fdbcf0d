"""The wheel and the sdist, built from a clean clone of HEAD, install into a fresh venv
and work there: import, a request through the middleware, the command, the license.

Slow (a build and two venvs, with pip's network and cache, as scripts/setup.sh uses):
`pytest -m "not package"` leaves it out.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

pytestmark = pytest.mark.package

ROOT = Path(__file__).resolve().parents[2]
# Nothing of the checkout may leak in: with PYTHONPATH on src/, pip would find the
# checkout's egg-info and call the package installed without installing it.
CLEAN_ENV = {name: value for name, value in os.environ.items() if name != "PYTHONPATH"}

# Runs inside the fresh venv: no test helper, no checkout on sys.path (-I).
SMOKE = r"""
import asyncio
import importlib.metadata

import dynamodb_sessions
from dynamodb_sessions import DynamoDBSessionMiddleware, MemoryStore
from starlette.requests import Request

assert dynamodb_sessions.__version__ == importlib.metadata.version("dynamodb-sessions")


async def count(scope, receive, send):
    session = Request(scope, receive).session
    session["n"] = session.get("n", 0) + 1
    body = str(session["n"]).encode()
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": body})


app = DynamoDBSessionMiddleware(count, store=MemoryStore(), secret_key="smoke-test-secret")


async def get(cookie):
    headers = [(b"cookie", cookie)] if cookie else []
    scope = {"type": "http", "method": "GET", "path": "/", "scheme": "https",
             "headers": headers, "query_string": b"", "root_path": ""}
    sent = []

    async def receive():
        return {"type": "http.request", "body": b""}

    async def send(message):
        sent.append(message)

    await app(scope, receive, send)
    start, body = sent[0], sent[1]["body"]
    set_cookie = dict(start["headers"]).get(b"set-cookie", b"")
    return start["status"], body, set_cookie.split(b";")[0]


async def main():
    status, body, cookie = await get(None)
    assert (status, body) == (200, b"1") and cookie.startswith(b"session="), (status, body)
    status, body, _ = await get(cookie)
    assert (status, body) == (200, b"2"), (status, body)


asyncio.run(main())
print("smoke ok", dynamodb_sessions.__version__)
"""


def _run(*command: str | Path, cwd: Path | None = None) -> str:
    done = subprocess.run(
        [str(part) for part in command],
        cwd=cwd,
        env=CLEAN_ENV,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert done.returncode == 0, f"{command}:\n{done.stdout}\n{done.stderr}"
    return done.stdout + done.stderr


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """The wheel and sdist of a clean clone of HEAD, and what the build printed."""
    work = tmp_path_factory.mktemp("dist")
    _run("git", "clone", "--quiet", ROOT, work / "clone")
    printed = _run(sys.executable, "-m", "build", "--outdir", work / "dist", work / "clone")
    return work / "dist", printed


def _artifact(dist: Path, pattern: str) -> Path:
    (found,) = dist.glob(pattern)
    return found


def test_the_build_prints_no_deprecation_warning(dist: tuple[Path, str]) -> None:
    _, printed = dist
    assert "deprecat" not in printed.lower(), printed


def test_the_wheel_holds_the_license_and_the_type_marker(dist: tuple[Path, str]) -> None:
    names = zipfile.ZipFile(_artifact(dist[0], "*.whl")).namelist()
    assert "dynamodb_sessions/py.typed" in names
    assert any(name.endswith(".dist-info/licenses/LICENSE") for name in names), names
    metadata = next(name for name in names if name.endswith(".dist-info/METADATA"))
    text = zipfile.ZipFile(_artifact(dist[0], "*.whl")).read(metadata).decode()
    assert "License-Expression: MIT" in text


def test_the_sdist_holds_the_license(dist: tuple[Path, str]) -> None:
    with tarfile.open(_artifact(dist[0], "*.tar.gz")) as sdist:
        names = {name.split("/", 1)[1] for name in sdist.getnames() if "/" in name}
    assert {"LICENSE", "README.md", "src/dynamodb_sessions/py.typed"} <= names


@pytest.mark.parametrize("kind", ["*.whl", "*.tar.gz"], ids=["wheel", "sdist"])
def test_it_installs_into_a_fresh_venv_and_works(
    dist: tuple[Path, str], kind: str, tmp_path: Path
) -> None:
    venv = tmp_path / "venv"
    _run(sys.executable, "-m", "venv", venv)
    _run(venv / "bin" / "python", "-m", "pip", "install", "--quiet", _artifact(dist[0], kind))

    assert "smoke ok" in _run(venv / "bin" / "python", "-I", "-c", SMOKE, cwd=tmp_path)
    usage = _run(venv / "bin" / "dynamodb-sessions", "--help", cwd=tmp_path)
    assert "create-table" in usage
