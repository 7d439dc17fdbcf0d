"""The DynamoDB JSON protocol on the wire, for the lean caller: signing (botocore's
SigV4 signer with the day's signing key kept), the prepared request, and reading
DynamoDB's answers (a body that must be JSON, the fields of an error).

Loaded with the client, never at import of the package: boto3 is loaded by then.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import TYPE_CHECKING, Any, ClassVar

from botocore.auth import SigV4Auth
from botocore.exceptions import BotoCoreError

if TYPE_CHECKING:
    from botocore.awsrequest import AWSPreparedRequest, AWSRequest
    from botocore.credentials import ReadOnlyCredentials
    from botocore.exceptions import ClientError
    from types_boto3_dynamodb.client import DynamoDBClient


class CachedSigV4(SigV4Auth):
    """botocore's SigV4 signer (its canonical request, string to sign, headers),
    but the signing key is derived once per day, secret key, region and service
    rather than on every request: 4 of its 5 HMACs."""

    _keys: ClassVar[dict[tuple[str, str, str, str], bytes]] = {}

    def __init__(self, credentials: ReadOnlyCredentials, service: str, region: str) -> None:
        super().__init__(credentials, service, region)
        self._scope = (f"AWS4{credentials.secret_key}", region, service)

    def signature(self, string_to_sign: str, request: AWSRequest) -> str:
        day: str = request.context["timestamp"][0:8]
        secret, region, service = self._scope
        scope = (secret, day, region, service)
        key = self._keys.get(scope)
        if key is None:
            key = secret.encode()
            for part in (day, region, service, "aws4_request"):
                key = hmac.new(key, part.encode(), hashlib.sha256).digest()
            if len(self._keys) > 16:  # past days, rotated credentials
                self._keys.clear()
            self._keys[scope] = key
        return hmac.new(key, string_to_sign.encode(), hashlib.sha256).hexdigest()


class NotJSONAnswerError(BotoCoreError):
    """A 2xx answer whose body is not JSON: not DynamoDB's (a proxy, a captive portal)."""

    fmt = (
        "DynamoDB answered {status} with a body that is not JSON ({start!r}); is a "
        "proxy or a captive portal between this host and DynamoDB?"
    )


def reject_non_json_answers(client: DynamoDBClient) -> None:
    """Make `client` raise `NotJSONAnswerError` where botocore would silently parse a
    2xx non-JSON body as an empty result (an absent item, a successful write)."""
    client.meta.events.register("before-parse.dynamodb", _check_answer)


def _check_answer(response_dict: dict[str, Any], **_: Any) -> None:
    status, body = response_dict["status_code"], response_dict["body"]
    if 200 <= status < 300:
        json_body(status, body)


def json_body(status: int, body: bytes) -> dict[str, Any]:
    try:
        document = json.loads(body)
    except ValueError:
        document = None
    if not isinstance(document, dict):
        raise NotJSONAnswerError(status=status, start=body[:60])
    return document


def prepared(request: AWSRequest, body: bytes) -> AWSPreparedRequest:
    """The signed request as `request.prepare()` makes it (headers copied, the
    Content-Length added), without preparing the body and URL a second time."""
    from botocore.awsrequest import AWSPreparedRequest, HeadersDict

    headers: Any = HeadersDict(request.headers.items())  # what prepare() makes too
    headers["Content-Length"] = str(len(body))
    return AWSPreparedRequest("POST", str(request.url), headers, body, False, request.context)


def client_error(data: bytes, status: int, operation: str) -> ClientError:
    from botocore.exceptions import ClientError

    code, message = _error_fields(data)
    response = {
        "Error": {"Code": code, "Message": message},
        "ResponseMetadata": {"HTTPStatusCode": status},
    }
    return ClientError(response, operation)  # type: ignore[arg-type]


def _error_fields(data: bytes) -> tuple[str, str]:
    try:
        document = json.loads(data)
    except ValueError:
        return "UnknownError", data[:200].decode("utf-8", "replace")
    if not isinstance(document, dict):
        return "UnknownError", str(document)[:200]
    code = str(document.get("__type", "UnknownError")).rpartition("#")[2]
    message = str(document.get("message", document.get("Message", "")))
    return code, message
