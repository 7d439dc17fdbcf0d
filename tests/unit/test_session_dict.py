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
from dynamodb_sessions._serialization import DATA_LIMIT, MAX_DEPTH
from dynamodb_sessions._session import MAX_USER_ID_BYTES


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
    assert changes.changed == {"a": "2", "d": "null"}
    assert changes.removed == {"c"}
    assert changes.expected == {"a": "1", "d": None, "c": '"x"'}


def test_nested_change_is_detected_without_mark_modified() -> None:
    session = loaded(cart=["apple"], prefs={"theme": "dark"})
    session["cart"].append("pear")
    session["prefs"]["theme"] = "light"
    assert not session.modified  # Starlette would lose these
    assert session.changes().changed == {"cart": '["apple","pear"]', "prefs": '{"theme":"light"}'}


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
    assert caught.value.size is not None
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


@pytest.mark.parametrize(
    "value",
    [
        json.loads('"\\ud800"'),  # a lone surrogate, as a JSON body can carry it
        ["ok", {"nested": "\udfff"}],
        {"\ud83d": "a key of half an emoji"},
    ],
)
def test_text_utf8_cannot_encode_is_refused_where_it_is_set(value: Any) -> None:
    session = loaded(a=1)
    with pytest.raises(SessionSerializationError, match=r"session\['k'\]"):
        session["k"] = value
    assert session == {"a": 1}
    assert not session.changes()


def test_key_utf8_cannot_encode_is_refused() -> None:
    session = DynamoDBSessionDict()
    with pytest.raises(SessionDataError, match="UTF-8"):
        session["\ud800"] = 1


def nested(depth: int) -> Any:
    value: Any = "leaf"
    for level in range(depth):
        value = [value] if level % 2 else {"k": value}
    return value


def test_nesting_up_to_the_documented_limit_round_trips() -> None:
    session = loaded()
    session["deep"] = nested(MAX_DEPTH)
    assert json.loads(session.changes().changed["deep"]) == nested(MAX_DEPTH)


@pytest.mark.parametrize("depth", [MAX_DEPTH + 1, 990, 5000])
def test_nesting_past_the_limit_is_refused_at_set_time_whatever_the_stack(depth: int) -> None:
    # json.dumps fails only near Python's recursion limit, which depends on how deep
    # the caller's stack is: a value accepted here could fail at save, or at the next
    # load. A fixed limit far below it makes set time, save time and load time agree.
    session = loaded(a=1)
    with pytest.raises(SessionSerializationError, match=f"deeper than {MAX_DEPTH}"):
        session["deep"] = nested(depth)
    assert session == {"a": 1}


def test_nesting_grown_past_the_limit_after_set_is_refused_at_save() -> None:
    session = loaded(tree=[])
    session["tree"].append(nested(MAX_DEPTH))
    with pytest.raises(SessionSerializationError, match=r"session\['tree'\]"):
        session.changes()


@pytest.mark.parametrize("value", [float("nan"), float("inf"), -float("inf"), [1.0, float("nan")]])
def test_nan_and_infinity_are_refused_not_stored_as_non_standard_json(value: Any) -> None:
    session = DynamoDBSessionDict()
    with pytest.raises(SessionSerializationError, match=r"session\['x'\]"):
        session["x"] = value


@pytest.mark.parametrize(
    "value",
    [
        {1: "a", "1": "b"},  # JSON would keep only one of them
        {"outer": {None: 1}},  # JSON would turn the key into "null"
        [{True: 1}],
        {1.5: "x"},
    ],
)
def test_dict_keys_that_are_not_strings_are_refused_anywhere_in_a_value(value: Any) -> None:
    session = DynamoDBSessionDict()
    with pytest.raises(SessionSerializationError, match="str keys"):
        session["x"] = value
    assert "x" not in session


def test_what_is_accepted_reads_back_equal() -> None:
    value = {"a": [1, 2.5, None, True, "é\u2028"], "b": {"c": {}}, "": -0.0}
    session = loaded()
    session["x"] = value
    text = session.changes().changed["x"]
    assert DynamoDBSessionDict({"x": text})["x"] == value


def test_a_bound_user_id_counts_in_the_size_budget() -> None:
    session = loaded()
    session["blob"] = "x" * (DATA_LIMIT - 600)
    with pytest.raises(SessionTooLargeError):
        session.bind_user("u" * MAX_USER_ID_BYTES)
    assert session.user_id is None
    session = loaded()
    session.bind_user("u" * MAX_USER_ID_BYTES)
    with pytest.raises(SessionTooLargeError):
        session["blob"] = "x" * (DATA_LIMIT - 600)
    assert "blob" not in session
