"""`dynamodb-sessions iam-policy`: least-privilege IAM policies, as JSON documents.

The runtime policy lists only the calls the library makes: GetItem (load),
PutItem (create), UpdateItem (save, refresh), DeleteItem (logout, rotation,
revocation), DescribeTable (`DynamoDBStore.ping`) and, with the user index,
Query on that index (`list_user_sessions`, `revoke_user_sessions`). The setup
policy covers every CLI command, and is for whoever runs it, not for the app.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..stores._item import USER_INDEX

if TYPE_CHECKING:
    from typing import Any, Literal

    PolicyKind = Literal["runtime", "setup"]

RUNTIME_ACTIONS = ("GetItem", "PutItem", "UpdateItem", "DeleteItem", "DescribeTable")
SETUP_ACTIONS = (
    "CreateTable",  # create-table
    "UpdateTable",  # create-table --with-user-index on an existing table
    "DescribeTable",  # every command
    "DescribeTimeToLive",  # create-table, check
    "UpdateTimeToLive",  # create-table
    "Scan",  # sweep, stats
    "GetItem",  # sessions list
    "DeleteItem",  # sweep, sessions revoke
)


def table_arn(table_name: str, *, region: str, account_id: str, partition: str = "aws") -> str:
    """The ARN of a DynamoDB table; `*` works for the region and account."""
    return f"arn:{partition}:dynamodb:{region}:{account_id}:table/{table_name}"


def policy(
    kind: PolicyKind, table_name: str, *, region: str, account_id: str, with_user_index: bool
) -> dict[str, Any]:
    """The policy document for the app's runtime role, or for the setup commands."""
    table = table_arn(table_name, region=region, account_id=account_id)
    actions = RUNTIME_ACTIONS if kind == "runtime" else SETUP_ACTIONS
    statements: list[dict[str, Any]] = [
        {
            "Sid": "SessionsTable" if kind == "runtime" else "SessionsTableSetup",
            "Effect": "Allow",
            "Action": [f"dynamodb:{action}" for action in actions],
            "Resource": table,
        }
    ]
    # `sessions list/revoke` query the index, so setup needs it whenever the table has one.
    if with_user_index or kind == "setup":
        statements.append(
            {
                "Sid": "SessionsUserIndex",
                "Effect": "Allow",
                "Action": ["dynamodb:Query"],
                "Resource": f"{table}/index/{USER_INDEX}",
            }
        )
    return {"Version": "2012-10-17", "Statement": statements}


def render(document: dict[str, Any]) -> str:
    """The document as indented JSON, ready for `aws iam create-policy`."""
    import json

    return json.dumps(document, indent=2)
