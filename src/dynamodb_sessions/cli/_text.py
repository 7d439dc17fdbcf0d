"""Small text helpers shared by the commands and their error messages."""

from __future__ import annotations


def plural(count: int, noun: str, many: str | None = None) -> str:
    """`1 session`, `2 sessions`, `0 sessions`; `many` for irregular plurals."""
    return f"{count} {noun if count == 1 else many or noun + 's'}"


def one_line(text: str) -> str:
    """`text` with its runs of whitespace (newlines too) made single spaces."""
    return " ".join(text.split())
