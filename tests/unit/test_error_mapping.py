"""botocore errors become this library's errors, in one place (botocore's Stubber
answers here: these are narrow mapping tests, not behaviour tests)."""

from __future__ import annotations

from collections.abc import Iterator

import boto3
import pytest
from botocore.stub import Stubber

from dynamodb_sessions import (
    DynamoDBStore,
    SessionAccessDeniedError,
    SessionStoreError,
    SessionStoreUnavailableError,
    SessionTableNotFoundError,
    SessionTooLargeError,
)

pytestmark = pytest.mark.anyio


@pytest.fixture
def stubbed() -> Iterator[tuple[DynamoDBStore, Stubber]]:
    client = boto3.client("dynamodb", region_name="us-east-1")
    with Stubber(client) as stubber:
        yield DynamoDBStore("sessions", client=client), stubber


@pytest.mark.parametrize(
    ("code", "status", "expected"),
    [
        ("ResourceNotFoundException", 400, SessionTableNotFoundError),
        ("AccessDeniedException", 400, SessionAccessDeniedError),
        ("UnrecognizedClientException", 400, SessionAccessDeniedError),
        ("ProvisionedThroughputExceededException", 400, SessionStoreUnavailableError),
        ("ThrottlingException", 400, SessionStoreUnavailableError),
        ("InternalServerError", 500, SessionStoreUnavailableError),
        ("SomethingNew", 503, SessionStoreUnavailableError),
        ("SomethingNew", 400, SessionStoreError),
    ],
)
async def test_error_codes_map_to_library_errors(
    stubbed: tuple[DynamoDBStore, Stubber], code: str, status: int, expected: type[Exception]
) -> None:
    store, stubber = stubbed
    stubber.add_client_error("get_item", service_error_code=code, http_status_code=status)
    with pytest.raises(expected) as caught:
        await store.load("k")
    assert type(caught.value) is expected
    assert caught.value.__cause__ is not None  # always raised `from` the botocore error


async def test_table_not_found_message_names_the_command(
    stubbed: tuple[DynamoDBStore, Stubber],
) -> None:
    store, stubber = stubbed
    stubber.add_client_error("get_item", service_error_code="ResourceNotFoundException")
    with pytest.raises(SessionTableNotFoundError, match="create-table --table-name sessions"):
        await store.load("k")


@pytest.mark.parametrize(
    ("operation", "message"),
    [
        ("put_item", "Item size has exceeded the maximum allowed size"),
        ("update_item", "Item size to update has exceeded the maximum allowed size"),
    ],
)
async def test_item_size_validation_error_is_too_large_so_413(
    stubbed: tuple[DynamoDBStore, Stubber], operation: str, message: str
) -> None:
    store, stubber = stubbed
    stubber.add_client_error(
        operation, service_error_code="ValidationException", service_message=message
    )
    write = (
        store.create("k", data={"a": "1"}, expires=1)
        if operation == "put_item"
        else store.update("k", changed={"a": "1"}, removed=(), expected=None, expires=1)
    )
    with pytest.raises(SessionTooLargeError, match=message) as caught:
        await write
    assert caught.value.size is None
