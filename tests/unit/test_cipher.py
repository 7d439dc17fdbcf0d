"""The cipher of `encryption_keys`: key format and checks, the seal's binding to a
session and a field, and `cryptography` loaded only when keys are given."""

from __future__ import annotations

import base64
import re
import subprocess
import sys

import pytest

from dynamodb_sessions import DynamoDBStore, SessionConfigError
from dynamodb_sessions.stores._cipher import Cipher, UnreadableValue, generate_key
from tests.support import OTHER_KEY, TEST_KEY

SECRET = base64.b64encode(b"s" * 32).decode()


def test_generate_key_makes_a_key_the_store_takes() -> None:
    key = generate_key("k2027")
    assert re.fullmatch(r"k2027:[A-Za-z0-9+/]{43}=", key)
    assert base64.b64decode(key.split(":")[1]) != base64.b64decode(generate_key().split(":")[1])
    assert re.fullmatch(r"k\d{8}T\d{4}", generate_key().split(":")[0])
    Cipher([key])


@pytest.mark.parametrize(
    ("keys", "message"),
    [
        ([], "encryption_keys is empty"),
        ("k1:" + SECRET, "a list of keys, not one string"),
        ([SECRET], "<key id>:<base64 of 32 bytes>"),
        (["k1:" + SECRET[:-8]], "not base64 of exactly 32 bytes"),
        (["k1:" + SECRET[:-1] + "!"], "not base64 of exactly 32 bytes"),
        (["bad id:" + SECRET], "its id must be 1 to 32"),
        (["k1:" + SECRET, "k1:" + SECRET], "has the key id 'k1' twice"),
    ],
)
def test_bad_keys_fail_at_construction_naming_the_fix_never_the_key(
    keys: list[str], message: str
) -> None:
    with pytest.raises(SessionConfigError, match=re.escape(message)) as caught:
        DynamoDBStore("t", encryption_keys=keys)
    assert "generate-key" in str(caught.value)
    assert SECRET[:20] not in str(caught.value)


def test_url_safe_base64_is_taken_too() -> None:
    key = "k1:" + base64.urlsafe_b64encode(b"\xfb" * 32).decode()
    assert "_" in key or "-" in key
    Cipher([key])


def test_a_seal_opens_only_for_its_session_and_field() -> None:
    cipher = Cipher([TEST_KEY])
    sealed = cipher.seal("session-a", "role", '"admin"')
    assert cipher.open("session-a", "role", sealed) == '"admin"'
    assert b"admin" not in sealed
    assert cipher.seal("session-a", "role", '"admin"') != sealed  # a fresh nonce each time
    for session, field in (("session-b", "role"), ("session-a", "note")):
        with pytest.raises(UnreadableValue):
            cipher.open(session, field, sealed)


def test_the_first_key_seals_and_every_key_opens() -> None:
    old = Cipher([TEST_KEY])
    rotated = Cipher([OTHER_KEY, TEST_KEY])
    sealed = old.seal("s", "k", "1")
    assert rotated.open("s", "k", sealed) == "1"
    assert rotated.sealed_with(rotated.seal("s", "k", "1")) == "test2"
    with pytest.raises(UnreadableValue, match="key id 'test1'"):
        Cipher([OTHER_KEY]).open("s", "k", sealed)


def test_a_bound_cipher_seals_top_level_attributes_apart_from_the_data() -> None:
    store = DynamoDBStore("t", encryption_keys=[TEST_KEY])
    assert store.cipher is not None
    bound = store.cipher.bound("session-a")
    sealed = bound.seal("device", "Firefox on Linux")
    assert bound.open("device", sealed) == "Firefox on Linux"
    assert bound.open("device", base64.b64encode(sealed).decode()) == "Firefox on Linux"
    with pytest.raises(UnreadableValue):
        bound.open("label", sealed)  # another attribute
    with pytest.raises(UnreadableValue):
        store.cipher.open("session-a", "device", sealed)  # a data value of the same name
    with pytest.raises(UnreadableValue):
        store.cipher.bound("session-b").open("device", sealed)


def test_a_store_without_keys_has_no_cipher_and_no_overhead() -> None:
    store = DynamoDBStore("t")
    assert store.cipher is None
    assert store.value_overhead == 0


def run_python(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)


def test_importing_the_package_or_a_plain_store_does_not_load_cryptography() -> None:
    result = run_python(
        "import sys, dynamodb_sessions\n"
        "dynamodb_sessions.DynamoDBStore('t')\n"
        "print('cryptography' in sys.modules)"
    )
    assert result.stdout.strip() == "False", result.stderr


def test_keys_without_cryptography_installed_name_the_extra() -> None:
    result = run_python(
        "import sys\n"
        "sys.modules['cryptography'] = None\n"  # as if it were not installed
        "import dynamodb_sessions\n"
        "try:\n"
        f"    dynamodb_sessions.DynamoDBStore('t', encryption_keys=[{TEST_KEY!r}])\n"
        "except dynamodb_sessions.SessionConfigError as exc:\n"
        "    print(exc)\n"
    )
    assert "pip install 'dynamodb-sessions[encryption]'" in result.stdout, result.stderr
