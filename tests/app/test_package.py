"""The Lambda package that `python -m app.package_lambda` builds runs on its own."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from app.config import Settings
from app.package_lambda import build

from .flows import v2_event
from .servers import SECRET

# -S: no site-packages, so only the package (and the standard library) can be imported.
INVOKE = """
import json, sys
sys.path.insert(0, sys.argv[1])
from app.lambda_handler import handler
for event in sys.argv[2:]:
    print(json.dumps(handler(json.loads(event), None)))
"""


def _size(path: Path) -> int:
    return sum(file.stat().st_size for file in path.rglob("*") if file.is_file())


def test_package_is_self_contained_and_serves(tmp_path: Path, settings: Settings) -> None:
    assert settings.oidc is not None
    assert settings.endpoint_url is not None
    package = build(tmp_path / "lambda", local=True)
    env = {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_REGION": "us-east-1",
        "AWS_ENDPOINT_URL_DYNAMODB": settings.endpoint_url,
        "USE_DYNAMODB_SESSIONS": "true",
        "SESSION_TABLE_NAME": settings.table_name,
        "SESSION_FALLBACK_TO_MEMORY": "false",
        "SESSION_SECRET_KEY": SECRET,
        "OIDC_METADATA_URL": settings.oidc.metadata_url,
        "OIDC_CLIENT_ID": settings.oidc.client_id,
    }
    events = [json.dumps(v2_event("GET", path)) for path in ("/healthz", "/login")]

    run = subprocess.run(
        [sys.executable, "-I", "-S", "-c", INVOKE, str(package), *events],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert run.returncode == 0, run.stderr
    health, login = (json.loads(line) for line in run.stdout.splitlines()[-2:])
    assert health["statusCode"] == 200
    assert json.loads(health["body"])["session_backend"] == "dynamodb"
    assert login["statusCode"] == 302
    assert login["cookies"][0].startswith("session=")
    assert sorted(p.name for p in package.iterdir() if p.name in {"tests", ".venv", "app"}) == [
        "app"
    ]
    assert _size(package) < 250 * 1024 * 1024  # Lambda's limit, unzipped
