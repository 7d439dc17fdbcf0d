"""Build the Lambda deployment package that template.yaml's CodeUri points at.

    python -m app.package_lambda            # build/lambda/, for Lambda's python3.12 on arm64
    python -m app.package_lambda --local    # for this machine's Python (the tests use it)

The package holds the `app` package, the library (copied from src/) and what
`app/requirements.txt` lists, nothing else: no .venv, node_modules or tests.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_TARGET = ROOT / "build" / "lambda"
LAMBDA_PLATFORM = ("--platform", "manylinux2014_aarch64", "--implementation", "cp")
LAMBDA_PYTHON = "3.12"


def build(target: Path = DEFAULT_TARGET, *, local: bool = False) -> Path:
    """Write the package to `target` (replacing it) and return it."""
    shutil.rmtree(target, ignore_errors=True)
    skip = shutil.ignore_patterns("__pycache__", "*.pyc", "package_lambda.py")
    shutil.copytree(ROOT / "app", target / "app", ignore=skip)
    # The library is pure Python: copied as it is, no wheel to build.
    shutil.copytree(ROOT / "src" / "dynamodb_sessions", target / "dynamodb_sessions", ignore=skip)
    install = [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    install += ["--target", str(target), "-r", str(ROOT / "app" / "requirements.txt")]
    if not local:
        install += [*LAMBDA_PLATFORM, "--python-version", LAMBDA_PYTHON, "--only-binary=:all:"]
    subprocess.run(install, check=True)  # noqa: S603 - fixed argv
    return target


def main() -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--target", type=Path, default=DEFAULT_TARGET)
    parser.add_argument("--local", action="store_true", help="for this machine's Python")
    args = parser.parse_args()
    print(build(args.target, local=args.local))


if __name__ == "__main__":
    main()
