"""The documentation keeps up with the code: every error message the library can raise
is on the troubleshooting page, and the README renders on a package index."""

from __future__ import annotations

import ast
import inspect
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

import dynamodb_sessions._exceptions as exceptions_module

ROOT = Path(__file__).resolve().parents[2]
SRC = ROOT / "src" / "dynamodb_sessions"
TROUBLESHOOTING = ROOT / "docs" / "troubleshooting.md"
BUILTIN_ERRORS = {"ValueError", "TypeError", "ImportError", "RuntimeError"}
FIELD = re.compile(r"\{[^{}]*\}")  # a str.format field: the varying part of a message
SHORTEST = 12  # shorter literal pieces (", not", "has no") say nothing on their own


def _normalized(text: str) -> str:
    return " ".join(text.split())


def _pieces(node: ast.expr) -> list[str]:
    """The literal parts of a message: of a string, or of an f-string's text."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        parts = FIELD.split(node.value)
    elif isinstance(node, ast.JoinedStr):
        parts = [v.value for v in node.values if isinstance(v, ast.Constant)]
    else:
        return []
    return [_normalized(part) for part in parts if len(part.strip()) >= SHORTEST]


def _error_classes(trees: dict[Path, ast.Module]) -> set[str]:
    return {
        node.name
        for tree in trees.values()
        for node in ast.walk(tree)
        if isinstance(node, ast.ClassDef) and node.name.endswith("Error")
    }


def _messages_of_init(tree: ast.Module) -> Iterator[ast.expr]:
    """The strings an exception class's __init__ builds its message from."""
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef) and node.name == "__init__":
            for inner in ast.walk(node):
                if isinstance(inner, (ast.Constant, ast.JoinedStr)):
                    yield inner


def _messages_of_class_templates(tree: ast.Module) -> Iterator[ast.expr]:
    """botocore-style `fmt = "..."` message templates of the library's own errors."""
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef) and node.name.endswith("Error"):
            for item in node.body:
                if isinstance(item, ast.Assign) and any(
                    isinstance(target, ast.Name) and target.id == "fmt" for target in item.targets
                ):
                    yield item.value


def library_messages() -> dict[str, str]:
    """Every literal piece of every error message built in src/ (the CLI's own output is
    docs/cli.md's business), mapped to where it is built."""
    trees = {
        path: ast.parse(path.read_text())
        for path in sorted(SRC.rglob("*.py"))
        if "cli" not in path.relative_to(SRC).parts
    }
    errors = _error_classes(trees) | BUILTIN_ERRORS
    found: dict[str, str] = {}
    for path, tree in trees.items():
        nodes: list[ast.expr] = [*_messages_of_class_templates(tree)]
        if path.name == "_exceptions.py":
            nodes += _messages_of_init(tree)
        nodes += [
            arg
            for node in ast.walk(tree)
            if isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in errors
            for arg in node.args
        ]
        for node in nodes:
            for piece in _pieces(node):
                found.setdefault(piece, f"{path.relative_to(ROOT)}:{node.lineno}")
    return found


MESSAGES = library_messages()


def test_the_walk_finds_the_messages() -> None:
    """A guard on the test itself: a walk that found nothing would pass everything."""
    assert len(MESSAGES) >= 60
    assert "DynamoDBStore has no AWS region: pass DynamoDBStore(..., region_name='us-east-1')" in (
        " ".join(MESSAGES)
    )


@pytest.mark.parametrize("piece", sorted(MESSAGES), ids=lambda piece: piece[:40])
def test_every_error_message_is_on_the_troubleshooting_page(piece: str) -> None:
    page = _normalized(TROUBLESHOOTING.read_text())
    assert piece in page, (
        f"{MESSAGES[piece]}: the message containing {piece!r} is not in "
        "docs/troubleshooting.md; add it there with its cause and fix"
    )


def test_every_exception_class_is_on_the_troubleshooting_page() -> None:
    page = TROUBLESHOOTING.read_text()
    classes = [
        name
        for name, value in vars(exceptions_module).items()
        if inspect.isclass(value)
        and issubclass(value, Exception)
        and value.__module__ == exceptions_module.__name__
    ]
    assert len(classes) >= 10
    assert [name for name in classes if name not in page] == []


def test_the_readme_has_no_link_a_package_index_would_break() -> None:
    """A package index shows the README without the repository around it: a relative
    link to a file would point nowhere. Links to sections of the README itself work."""
    readme = (ROOT / "README.md").read_text()
    targets = re.findall(r"\]\(([^)\s]+)\)", readme)
    assert targets  # the in-page links are still there
    assert [t for t in targets if not t.startswith(("#", "https://", "http://"))] == []
