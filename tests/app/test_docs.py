"""The docs, env.example and template.yaml agree with the code they describe."""

from __future__ import annotations

import json
import re
from importlib.metadata import requires
from pathlib import Path
from typing import Any

import pytest
from cfnlint.decode import decode_str  # type: ignore[import-untyped]

from dynamodb_sessions.cli._table import USER_INDEX_SPEC
from tests.support import cli_help, run_cli

ROOT = Path(__file__).resolve().parents[2]
GUIDE = ROOT / "docs" / "DYNAMODB_SESSIONS.md"
TABLES = ROOT / "docs" / "DYNAMODB_TABLES_SETUP.md"
APP_SOURCES = "\n".join(path.read_text() for path in (ROOT / "app").rglob("*.py"))


def _yaml(text: str) -> Any:
    # cfn-lint's own reader: !Ref, !GetAtt ... become {"Ref": ...} mappings.
    template, problems = decode_str(text)
    assert not problems, problems
    return template


def _blocks(path: Path, language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", path.read_text(), re.DOTALL)


@pytest.fixture(scope="module")
def template() -> Any:
    return _yaml((ROOT / "template.yaml").read_text())


def test_env_example_lists_every_variable_the_app_reads() -> None:
    config = (ROOT / "app" / "config.py").read_text()
    read = set(re.findall(r'"([A-Z][A-Z0-9_]{2,})"', config))
    env_example = (ROOT / "env.example").read_text()
    documented = set(re.findall(r"^#? ?([A-Z][A-Z0-9_]+)=", env_example, re.MULTILINE))

    assert read - documented == set()


def test_policy_is_the_librarys_runtime_policy(template: Any) -> None:
    """The app uses the user index ("sign out everywhere"): the --with-user-index policy."""
    printed = json.loads(
        run_cli(
            "iam-policy",
            "--with-user-index",
            *("--table-name", "LLM-Duel-Sessions", "--region", "us-east-1"),
            *("--account-id", "123456789012"),
            check=True,
        ).stdout
    )
    table, index = template["Resources"]["DuelFunction"]["Properties"]["Policies"][0]["Statement"]
    table_arn = "arn:aws:dynamodb:us-east-1:123456789012:table/LLM-Duel-Sessions"

    assert json.loads(_blocks(TABLES, "json")[0]) == printed
    assert len(printed["Statement"]) == 2
    assert {**table, "Resource": table_arn} == printed["Statement"][0]
    assert table["Resource"] == {"Fn::GetAtt": ["SessionsTable", "Arn"]}
    assert {**index, "Resource": f"{table_arn}/index/user_id-index"} == printed["Statement"][1]
    assert index["Resource"] == {"Fn::Sub": "${SessionsTable.Arn}/index/user_id-index"}


def test_template_table_has_the_user_index(template: Any) -> None:
    """What `create-table --with-user-index` creates, and what `check` verifies."""
    properties = template["Resources"]["SessionsTable"]["Properties"]

    assert {"AttributeName": "user_id", "AttributeType": "S"} in properties["AttributeDefinitions"]
    assert properties["GlobalSecondaryIndexes"] == [USER_INDEX_SPEC]


def test_table_snippet_matches_the_template(template: Any) -> None:
    snippet = _yaml(_blocks(TABLES, "yaml")[0])["SessionsTable"]
    table = template["Resources"]["SessionsTable"]

    assert snippet["Type"] == table["Type"]
    assert snippet["Properties"].items() <= table["Properties"].items()
    assert table["Properties"]["KeySchema"] == [{"AttributeName": "session_id", "KeyType": "HASH"}]
    assert table["Properties"]["TimeToLiveSpecification"]["AttributeName"] == "ttl"


def test_template_gives_the_function_what_the_app_reads(template: Any) -> None:
    function = template["Resources"]["DuelFunction"]["Properties"]
    variables = function["Environment"]["Variables"]

    assert function["Handler"] == "app.lambda_handler.handler"
    assert variables["USE_DYNAMODB_SESSIONS"] == "true"
    assert variables["SESSION_FALLBACK_TO_MEMORY"] == "false"
    assert {"SESSION_SECRET_KEY", "OIDC_METADATA_URL", "OIDC_CLIENT_ID"} <= variables.keys()


def test_python_samples_in_the_guide_are_the_apps_code() -> None:
    for block in _blocks(GUIDE, "python"):
        for line in block.splitlines():
            code = line.split("  #")[0].strip()
            if code and not code.startswith("#") and "..." not in code:
                assert code in APP_SOURCES, f"docs/DYNAMODB_SESSIONS.md: {code!r} is not in app/"


def test_cli_commands_in_the_docs_exist() -> None:
    for path in (GUIDE, TABLES, ROOT / "env.example"):
        text = re.sub(r"\\\n\s*", " ", path.read_text())  # join continued lines
        for command, rest in re.findall(r"dynamodb-sessions ([a-z][a-z-]+)([^\n`]*)", text):
            usage = cli_help(command)
            for flag in re.findall(r"--[a-z-]+", rest):
                assert flag in usage, f"{path.name}: dynamodb-sessions {command}{rest}"


def _name(requirement: str) -> str:
    return re.split(r"[<>=!~ ;\[]", requirement)[0].lower()


def test_lambda_requirements_include_the_librarys_dependencies() -> None:
    runtime = [req for req in requires("dynamodb-sessions") or [] if "extra ==" not in req]
    lines = (ROOT / "app" / "requirements.txt").read_text().splitlines()
    listed = {_name(line) for line in lines if line[:1].isalpha()}

    assert {_name(req) for req in runtime} - listed == set()


def test_function_timeout_exceeds_the_worst_wait_for_the_session_store(template: Any) -> None:
    """A request waits at most `store_timeout` for the store (README, "When DynamoDB
    fails"): the function must outlive it, with room for the app's own work."""
    import inspect

    from dynamodb_sessions import DynamoDBSessionMiddleware

    default = inspect.signature(DynamoDBSessionMiddleware).parameters["store_timeout"].default
    timeout = template["Resources"]["DuelFunction"]["Properties"]["Timeout"]
    assert timeout >= 2 * default + 5
    assert "store_timeout=" not in APP_SOURCES  # the app keeps the default checked here
