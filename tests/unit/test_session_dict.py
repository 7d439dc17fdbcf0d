"""DynamoDBSessionDict: Starlette's session protocol, change tracking, data checks."""

from __future__ import annotations

import json
from typing import Any

import pytest

from dynamodb_sessions import (
    DynamoDBSessionDict,
    SessionDataError,
    SessionSerializationError,
    SessionStoreUnavailableError,
    SessionTooLargeError,
)


def loaded(**values: Any) -> DynamoDBSessionDict:
    session = DynamoDBSessionDict({k: json.dumps(v) for k, v in values.items()})
    session.mark_accessed()
    return session


def test_is_a_dict_that_starts_clean() -> None:
    session = DynamoDBSessionDict({"a": "1"})
    assert isinstance(session, dict)
    assert session == {"a": 1}
    assert not session.accessed
    assert not session.modified


@pytest.mark.parametrize(
    "mutate",
    [
        lambda s: s.__setitem__("b", 2),
        lambda s: s.__delitem__("a"),
        lambda s: s.pop("a"),
        lambda s: s.popitem(),
        lambda s: s.setdefault("b", 2),
        lambda s: s.update(b=2),
        lambda s: s.clear(),
        lambda s: s.__ior__({"b": 2}),
    ],
)
def test_every_mutator_marks_modified(mutate: Any) -> None:
    session = DynamoDBSessionDict({"a": "1"})
    mutate(session)
    assert session.accessed
    assert session.modified


def test_pop_of_missing_key_and_setdefault_of_present_key_change_nothing() -> None:
    session = DynamoDBSessionDict({"a": "1"})
    assert session.pop("zz", None) is None
    assert session.setdefault("a", 5) == 1
    assert not session.modified


def test_changes_lists_only_changed_and_removed_keys_with_what_they_held() -> None:
    session = loaded(a=1, b=[1], c="x")
    session["a"] = 2
    del session["c"]
    session["d"] = None
    changes = session.changes()
    assert changes.set == {"a": "2", "d": "null"}
    assert changes.remove == {"c"}
    assert changes.expected == {"a": "1", "d": None, "c": '"x"'}


def test_nested_change_is_detected_without_mark_modified() -> None:
    session = loaded(cart=["apple"], prefs={"theme": "dark"})
    session["cart"].append("pear")
    session["prefs"]["theme"] = "light"
    assert not session.modified  # Starlette would lose these
    assert session.changes().set == {"cart": '["apple","pear"]', "prefs": '{"theme":"light"}'}


def test_setting_an_equal_value_is_not_a_change() -> None:
    session = loaded(a=1)
    session["a"] = 1
    assert not session.changes()


def test_unaccessed_session_has_no_changes() -> None:
    assert not DynamoDBSessionDict({"a": "1"}).changes()


def test_value_json_cannot_encode_raises_naming_the_key() -> None:
    session = DynamoDBSessionDict()
    with pytest.raises(SessionSerializationError, match=r"session\['when'\]"):
        session["when"] = object()
    assert "when" not in session


def test_non_string_or_empty_keys_are_refused() -> None:
    session = DynamoDBSessionDict()
    with pytest.raises(SessionDataError):
        session[1] = "x"  # type: ignore[index]
    with pytest.raises(SessionDataError):
        session[""] = "x"


def test_oversized_value_raises_with_size_and_key_and_leaves_session_as_it_was() -> None:
    session = loaded(a=1)
    with pytest.raises(SessionTooLargeError, match=r"over the \d+-byte limit") as caught:
        session["blob"] = "x" * 410_000
    assert caught.value.largest_key == "blob"
    assert caught.value.size > caught.value.limit
    assert session == {"a": 1}


def test_many_values_that_together_pass_the_limit_are_refused() -> None:
    session = DynamoDBSessionDict()
    for i in range(3):
        session[f"k{i}"] = "x" * 100_000
    with pytest.raises(SessionTooLargeError):
        session["k3"] = "x" * 120_000
    session["k0"] = "small"  # replacing a big value frees its room
    session["k3"] = "x" * 120_000


def test_nested_growth_past_the_limit_is_caught_at_save() -> None:
    session = loaded(cart=[])
    session["cart"].append("x" * 420_000)
    with pytest.raises(SessionTooLargeError) as caught:
        session.changes()
    assert caught.value.largest_key == "cart"


def test_unavailable_session_raises_its_error_on_use() -> None:
    error = SessionStoreUnavailableError("down")
    session = DynamoDBSessionDict.unavailable(error)
    assert not session.is_available
    with pytest.raises(SessionStoreUnavailableError):
        session.mark_accessed()
    with pytest.raises(SessionStoreUnavailableError):
        session["a"] = 1


def test_regenerate_id_and_clear_are_recorded() -> None:
    session = loaded(a=1)
    session.regenerate_id()
    assert session.regenerate_requested
    session.clear()
    assert session.cleared
