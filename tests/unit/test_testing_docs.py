"""docs/testing.md's example runs as written: its app saved as `myapp.py`, its tests
as `test_myapp.py`, run by pytest in a process of their own (no fixture of ours)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

DOC = Path(__file__).resolve().parents[2] / "docs" / "testing.md"


def test_the_fastapi_example_and_its_tests_pass(tmp_path: Path) -> None:
    app_code, test_code = re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.DOTALL)
    assert "app = FastAPI()" in app_code
    (tmp_path / "myapp.py").write_text(app_code)
    (tmp_path / "test_myapp.py").write_text(test_code)
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}  # none needed
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-W", "error",
         "test_myapp.py"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert re.search(r"\b5 passed\b", result.stdout), result.stdout


def test_the_readme_sample_runs_against_the_docs_app() -> None:
    app_code = re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.DOTALL)[0]
    readme = (DOC.parents[1] / "README.md").read_text()
    (sample,) = [
        block
        for block in re.findall(r"```python\n(.*?)```", readme, flags=re.DOTALL)
        if "AppSessions" in block
    ]
    namespace: dict[str, object] = {}
    exec(compile(app_code, str(DOC), "exec"), namespace)  # noqa: S102 - our own docs
    exec(compile(sample, "README.md", "exec"), namespace)  # noqa: S102 - the asserts run
