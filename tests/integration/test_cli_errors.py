"""Every `dynamodb-sessions` command that calls DynamoDB, against every kind of
failure, on real servers: each fails with exit 1 and one line on stderr, worded
the same way whichever command it was (cli/_errors.py), with no traceback."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from devservers.dynamodb import LocalServer, free_port
from devservers.faulty import HTMLErrorServer, NotJSONServer
from tests.support import REGION, one_line_error, run_cli, unique_name

# Each command that makes DynamoDB calls, with the arguments it needs besides the table's.
CALLING_COMMANDS = {
    "create-table": (),
    "check": (),
    "sweep": (),
    "stats": (),
    "sessions list": ("--user", "ann"),
    "sessions revoke": ("--user", "ann"),
}


def run(command: str, endpoint_url: str, table: str, env: dict[str, str] | None = None) -> str:
    """Run `command` on `table` at `endpoint_url`; the one-line reason it failed with."""
    result = run_cli(
        *command.split(),
        *CALLING_COMMANDS[command],
        "--table-name", table, "--region", REGION, "--endpoint-url", endpoint_url,
        env=env,
    )  # fmt: skip
    assert "Traceback" not in result.stderr
    reason = one_line_error(result, command)
    return reason.removeprefix(f"dynamodb-sessions {command}: error: ").rstrip("\n")


@pytest.mark.parametrize("command", CALLING_COMMANDS)
def test_no_credentials_says_how_to_set_them(
    command: str, moto_server: LocalServer, tmp_path: os.PathLike[str]
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env |= {
        "AWS_CONFIG_FILE": f"{tmp_path}/none",  # no profile of the developer's
        "AWS_SHARED_CREDENTIALS_FILE": f"{tmp_path}/none",
        "AWS_EC2_METADATA_DISABLED": "true",  # no instance role lookup either
    }
    reason = run(command, moto_server.endpoint_url, unique_name("cli"), env)
    assert reason == (
        "no AWS credentials found: set AWS_PROFILE or AWS_ACCESS_KEY_ID and "
        "AWS_SECRET_ACCESS_KEY, or run `aws configure` (local servers accept any values)"
    )


@pytest.mark.parametrize("command", [c for c in CALLING_COMMANDS if c != "create-table"])
def test_a_missing_table_names_create_table_with_the_flags_given(
    command: str, server: LocalServer
) -> None:
    table = unique_name("missing")
    reason = run(command, server.endpoint_url, table)
    assert reason == (
        f"table {table} was not found: create it with `dynamodb-sessions create-table "
        f"--table-name {table} --region {REGION} --endpoint-url {server.endpoint_url}`, "
        "or check --region and --endpoint-url"
    )


@pytest.mark.parametrize("command", CALLING_COMMANDS)
def test_an_unreachable_endpoint_names_endpoint_url(command: str) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    reason = run(command, url, unique_name("cli"))
    assert re.fullmatch(
        rf"could not reach DynamoDB at {url}/? \(could not connect\): is the server running\? "
        r"Check --endpoint-url",
        reason,
    ), reason


@contextmanager
def html_server(kind: str) -> Iterator[NotJSONServer | HTMLErrorServer]:
    with NotJSONServer() if kind == "200" else HTMLErrorServer() as server:
        yield server


@pytest.mark.parametrize("kind", ["200", "502"])
@pytest.mark.parametrize("command", CALLING_COMMANDS)
def test_an_html_answer_is_summarised_in_one_line(command: str, kind: str) -> None:
    with html_server(kind) as server:
        reason = run(command, server.endpoint_url, unique_name("cli"))
    answer = "HTTP 200 with an HTML page" if kind == "200" else "HTTP 502 (Bad Gateway) with a page"
    assert reason == (
        f"{server.endpoint_url} answered {answer}, not DynamoDB's JSON: check --endpoint-url, "
        "or a proxy in between (HTTPS_PROXY)"
    )
    assert "<" not in reason  # the page itself is not printed


def test_iam_policy_makes_no_call_so_none_of_these_can_fail_it() -> None:
    result = run_cli(
        "iam-policy", "--endpoint-url", f"http://127.0.0.1:{free_port()}",
        env={k: v for k, v in os.environ.items() if not k.startswith("AWS_")},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert '"Statement"' in result.stdout


@pytest.mark.parametrize(
    ("args", "usage", "hint"),
    [
        (["sweep", "--dryrun"], "usage: dynamodb-sessions sweep ", "(did you mean --dry-run?)"),
        (["stats", "--page_size", "5"], "usage: dynamodb-sessions stats ", "--page-size"),
        (["sessions", "list", "--user", "a", "--users"], "usage: dynamodb-sessions sessions list ",
         "--user"),
        (["check", "--frobnicate"], "usage: dynamodb-sessions check ", ""),
    ],
)  # fmt: skip
def test_a_wrong_flag_shows_the_usage_of_its_subcommand(
    args: list[str], usage: str, hint: str
) -> None:
    result = run_cli(*args)
    assert result.returncode == 2
    assert result.stderr.startswith(usage), result.stderr
    (last,) = [line for line in result.stderr.splitlines() if ": error: " in line]
    assert last.startswith(f"dynamodb-sessions {' '.join(a for a in args[:2] if a[0] != '-')}")
    assert "unrecognized arguments: " + args[-1 if args[-1] != "5" else -2] in last
    assert hint in last


def test_an_endpoint_from_the_environment_is_named_with_its_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", url)
    result = run_cli("stats", "--table-name", "t", "--region", REGION)
    assert re.fullmatch(
        rf"dynamodb-sessions stats: error: could not reach DynamoDB at {url}/? \(could not "
        r"connect\): is the server running\? Check --endpoint-url "
        r"\(\$AWS_ENDPOINT_URL_DYNAMODB set it\)\n",
        one_line_error(result, "stats"),
    )
