"""The canned duels: a prompt and two answers each, shipped as data (no model calls)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

DATA_FILE = Path(__file__).resolve().parent.parent / "data" / "duels.json"
CHOICES = ("a", "b")


@dataclass(frozen=True)
class Answer:
    """One side of a duel."""

    model: str
    text: str


@dataclass(frozen=True)
class Duel:
    """A prompt and its two answers, keyed "a" and "b"."""

    id: str
    prompt: str
    answers: dict[str, Answer]


def _duel(raw: dict[str, Any]) -> Duel:
    answers = {key: Answer(**raw["answers"][key]) for key in CHOICES}
    return Duel(id=str(raw["id"]), prompt=str(raw["prompt"]), answers=answers)


@cache
def all_duels() -> tuple[Duel, ...]:
    """Every duel, in file order."""
    return tuple(_duel(raw) for raw in json.loads(DATA_FILE.read_text(encoding="utf-8")))


def get_duel(duel_id: str) -> Duel | None:
    """The duel with this id, or None."""
    return next((duel for duel in all_duels() if duel.id == duel_id), None)


def next_duel(votes_cast: int) -> Duel:
    """The duel to show after `votes_cast` votes: they come round in turn."""
    duels = all_duels()
    return duels[votes_cast % len(duels)]
