"""The `dynamodb-sessions` command: table setup for the sessions table.

Only this module and the reference app read environment variables.
"""

from __future__ import annotations

import argparse
import os
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence

DEFAULT_TABLE = "LLM-Duel-Sessions"

_EPILOG_CREATE = """example:
  dynamodb-sessions create-table --table-name LLM-Duel-Sessions --region us-east-1
  dynamodb-sessions create-table --table-name Sessions --endpoint-url http://127.0.0.1:8001
"""


def _add_table_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--table-name",
        default=os.environ.get("SESSION_TABLE_NAME", DEFAULT_TABLE),
        help="the sessions table (default: $SESSION_TABLE_NAME or %(default)s)",
    )
    parser.add_argument(
        "--region",
        default=os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION"),
        help="AWS region (default: $AWS_REGION)",
    )
    parser.add_argument(
        "--endpoint-url",
        default=None,
        help="DynamoDB endpoint, for local servers (default: boto3's, which reads "
        "$AWS_ENDPOINT_URL_DYNAMODB and $AWS_ENDPOINT_URL)",
    )


def build_parser() -> argparse.ArgumentParser:
    """The argument parser, with one subcommand per task."""
    parser = argparse.ArgumentParser(
        prog="dynamodb-sessions", description="Set up and operate the DynamoDB sessions table."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    create = commands.add_parser(
        "create-table",
        help="create the sessions table (idempotent)",
        description="Create the sessions table: PAY_PER_REQUEST, partition key session_id (S), "
        "TTL on `ttl`. Waits until ACTIVE. Safe to run again.",
        epilog=_EPILOG_CREATE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _add_table_options(create)
    return parser


def _create_table(args: argparse.Namespace) -> int:
    from ._table import build_client, create_table

    client = build_client(region_name=args.region, endpoint_url=args.endpoint_url)
    create_table(client, args.table_name)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; exit non-zero with a one-line reason on failure."""
    args = build_parser().parse_args(argv)
    commands = {"create-table": _create_table}
    try:
        return commands[args.command](args)
    except Exception as exc:  # the CLI reports every failure in one line
        print(f"dynamodb-sessions {args.command}: error: {_reason(exc)}", file=sys.stderr)
        return 1


def _reason(exc: Exception) -> str:
    from botocore.exceptions import ClientError, NoRegionError

    if isinstance(exc, NoRegionError):
        return "no AWS region: pass --region or set AWS_REGION"
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        return f"{error.get('Code')}: {error.get('Message')}"
    return str(exc) or type(exc).__name__
