"""Building the store's boto3 client, and its lean caller where one can be used.

boto3 is imported only here, when the client is built on first use (or by
`DynamoDBStore.warm()`), so importing the package costs a Lambda cold start nothing.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .._exceptions import SessionStoreConfigError
from .._logging import logger

if TYPE_CHECKING:
    import boto3
    from botocore.config import Config
    from types_boto3_dynamodb.client import DynamoDBClient

    from ._lean import LeanDynamoDB


@dataclass(slots=True)
class ClientSettings:
    """What the store's own boto3 client is built with."""

    region_name: str | None
    endpoint_url: str | None
    connect_timeout: float
    read_timeout: float
    max_attempts: int
    max_pool_connections: int
    verify: bool | str | None
    config: Config | None


def build_client(
    settings: ClientSettings, *, lean: bool, table: str
) -> tuple[DynamoDBClient, LeanDynamoDB | None]:
    """The boto3 client, and the lean caller if `lean` and it can send as the client."""
    import boto3
    from botocore.config import Config
    from botocore.exceptions import NoRegionError

    from ._lean import reject_non_json_answers

    session = boto3.session.Session()
    config = Config(
        connect_timeout=settings.connect_timeout,
        read_timeout=settings.read_timeout,
        retries={"mode": "standard", "total_max_attempts": settings.max_attempts},
        max_pool_connections=settings.max_pool_connections,
    )
    try:
        client = session.client(
            "dynamodb",
            region_name=_region(settings, session),
            endpoint_url=settings.endpoint_url,
            verify=settings.verify,
            config=config if settings.config is None else config.merge(settings.config),
        )
    except NoRegionError:
        raise no_region() from None
    reject_non_json_answers(client)
    return client, _lean_caller(client, session, table) if lean else None


def _region(settings: ClientSettings, session: boto3.session.Session) -> str | None:
    # botocore reads AWS_DEFAULT_REGION and the profile, but not AWS_REGION,
    # the one Lambda sets (with AWS_DEFAULT_REGION) and most users know.
    region = settings.region_name or session.region_name
    return region or os.environ.get("AWS_REGION") or None


def _lean_caller(
    client: DynamoDBClient, session: boto3.session.Session, table: str
) -> LeanDynamoDB | None:
    from botocore.exceptions import NoCredentialsError

    from ._lean import LeanDynamoDB, LeanUnsupported

    credentials = session.get_credentials()
    if credentials is None:
        raise NoCredentialsError()
    try:
        return LeanDynamoDB(client, credentials)
    except LeanUnsupported as reason:
        logger.debug("DynamoDBStore(%r): calls go through boto3: %s", table, reason)
        return None


def no_region() -> SessionStoreConfigError:
    """The error for a store whose region is found nowhere, naming where to set it."""
    return SessionStoreConfigError(
        "DynamoDBStore has no AWS region: pass DynamoDBStore(..., region_name='us-east-1') "
        "or set AWS_REGION (or AWS_DEFAULT_REGION) to the table's region"
    )
