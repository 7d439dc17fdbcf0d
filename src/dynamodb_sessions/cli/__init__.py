"""The `dynamodb-sessions` command: set up, check and operate the sessions table.

Only this package and the reference app read environment variables.
"""

from __future__ import annotations

import argparse
import os
import sys
import textwrap
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Sequence

DEFAULT_TABLE = "LLM-Duel-Sessions"
#: Where `rotate-keys` reads the encryption keys (comma-separated, the first seals).
KEYS_VARIABLE = "SESSION_ENCRYPTION_KEYS"

_LOCAL = "--endpoint-url http://127.0.0.1:8001"

# name: (help, description, example lines)
_COMMANDS = {
    "create-table": (
        "create the sessions table (idempotent)",
        "Create the sessions table: PAY_PER_REQUEST, partition key session_id (S), TTL on "
        "`ttl`. Waits until ACTIVE. Safe to run again: an existing table is kept, TTL is "
        "only turned on if it is off. --with-user-index adds the user_id-index GSI, to an "
        "existing table too.",
        [
            "dynamodb-sessions create-table --table-name LLM-Duel-Sessions --region us-east-1",
            f"dynamodb-sessions create-table --table-name Sessions --with-user-index {_LOCAL}",
        ],
    ),
    "check": (
        "check the table's key, TTL, billing mode and user index",
        "Check that the table exists with the key schema, TTL, billing mode and user index "
        "the library needs. Prints one row per check with the fix for each; exits 0 only "
        "if none is WRONG. A check the endpoint can't answer (TTL on dynalite) shows as "
        "unknown and does not fail.",
        ["dynamodb-sessions check --table-name LLM-Duel-Sessions --with-user-index"],
    ),
    "iam-policy": (
        "print least-privilege IAM policy JSON",
        "Print the IAM policy document for the app's runtime role (--for runtime: only "
        "the calls the library makes) or for whoever runs these commands (--for setup).",
        [
            "dynamodb-sessions iam-policy --region eu-west-1 --account-id 123456789012 "
            "--with-user-index > policy.json",
            "dynamodb-sessions iam-policy --for setup",
        ],
    ),
    "sweep": (
        "delete expired sessions (local servers, tables without TTL)",
        "Scan the table in pages and delete the items whose `ttl` has passed, each with a "
        "conditional delete so a session refreshed meanwhile stays. Never needed on AWS "
        "with TTL on. A Scan reads the whole table: mind the cost on big tables.",
        [f"dynamodb-sessions sweep --table-name Sessions {_LOCAL} --dry-run"],
    ),
    "stats": (
        "item counts and a size histogram of stored sessions",
        "Print DescribeTable's approximate item count, then Scan the table for live, "
        "expired-but-present and user-bound sessions and a histogram of item sizes.",
        ["dynamodb-sessions stats --table-name LLM-Duel-Sessions"],
    ),
    "sessions": (
        "list or revoke the sessions of one user (needs the user index)",
        "List or end every session bound to a user with `request.session.bind_user()`. "
        "Needs the user_id-index GSI (create-table --with-user-index), and the key of the "
        "app's user-id hash in DYNAMODB_SESSIONS_USER_ID_KEY (the app's first secret_key, "
        "unless it passes its own user_id_key): the table holds hashed user ids only.",
        [
            "dynamodb-sessions sessions list --user alice@example.com",
            "dynamodb-sessions sessions revoke --user alice@example.com",
        ],
    ),
    "generate-key": (
        "print a new encryption key for encryption_keys",
        "Print one new key for DynamoDBStore(encryption_keys=[...]) and "
        f"${KEYS_VARIABLE}, on one line: '<key id>:<base64 of 32 random bytes>'. Keep it "
        "in a secret store (Secrets Manager, SSM SecureString), not in code.",
        ["dynamodb-sessions generate-key --key-id k2027"],
    ),
    "rotate-keys": (
        "seal every stored value with the first encryption key",
        f"Read the keys from ${KEYS_VARIABLE} (comma-separated, the new key first, the old "
        "ones after it), Scan the table in pages and rewrite every value of a live session "
        "that is sealed with another key, or stored before encryption was on, with a "
        "conditional write: a session changed meanwhile is read again and retried, never "
        "overwritten. Afterwards the old keys can be removed.",
        [f"dynamodb-sessions rotate-keys --table-name Sessions  # keys in ${KEYS_VARIABLE}"],
    ),
}


def _add_table_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--table-name",
        default=os.environ.get("SESSION_TABLE_NAME", DEFAULT_TABLE),
        help="the sessions table (default: $SESSION_TABLE_NAME or %(default)s)",
    )
    parser.add_argument(
        "--region",
        default=os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION"),
        help="AWS region (default: $AWS_REGION or $AWS_DEFAULT_REGION)",
    )
    parser.add_argument(
        "--endpoint-url",
        default=None,
        help="DynamoDB endpoint, for local servers (default: boto3's, which reads "
        "$AWS_ENDPOINT_URL_DYNAMODB and $AWS_ENDPOINT_URL)",
    )


def _subparser(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
    name: str,
    summary: str,
    description: str,
    examples: list[str],
) -> argparse.ArgumentParser:
    parser = commands.add_parser(
        name,
        help=summary,
        description=textwrap.fill(description, 79),
        epilog="example:\n" + "".join(f"  {line}\n" for line in examples),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    if name not in ("sessions", "generate-key"):  # "sessions" actions take their own
        _add_table_options(parser)
    parser.set_defaults(usage_parser=parser)
    return parser


def _user_index_flag(parser: argparse.ArgumentParser, text: str) -> None:
    parser.add_argument("--with-user-index", action="store_true", help=text)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser, with one subcommand per task."""
    parser = argparse.ArgumentParser(
        prog="dynamodb-sessions", description="Set up and operate the DynamoDB sessions table."
    )
    parser.set_defaults(usage_parser=parser)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    sub = {name: _subparser(commands, name, *spec) for name, spec in _COMMANDS.items()}
    _user_index_flag(sub["create-table"], "also create the user_id-index GSI (sessions revoke)")
    _user_index_flag(sub["check"], "require the user_id-index GSI")
    _user_index_flag(sub["iam-policy"], "allow Query on the user_id-index GSI")
    sub["iam-policy"].add_argument(
        "--for", dest="kind", choices=("runtime", "setup"), default="runtime",
        help="runtime: the app's role (default); setup: the role running these commands",
    )  # fmt: skip
    sub["iam-policy"].add_argument(
        "--account-id", default="*", help="AWS account of the table (default: *)"
    )
    sub["sweep"].add_argument("--dry-run", action="store_true", help="count, delete nothing")
    sub["generate-key"].add_argument(
        "--key-id", default=None, help="the key's id (default: k and the UTC date and time)"
    )
    sub["sweep"].add_argument(
        "--hash-user-ids",
        action="store_true",
        help="also rewrite user ids stored by releases before hashing as their keyed hash "
        "(needs DYNAMODB_SESSIONS_USER_ID_KEY)",
    )
    for name in ("sweep", "stats", "rotate-keys"):
        sub[name].add_argument(
            "--page-size", type=_positive, default=100, help="items per Scan request"
        )
    _add_session_commands(sub["sessions"])
    return parser


def _add_session_commands(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    for action, text in (("list", "list"), ("revoke", "end")):
        sub = actions.add_parser(
            action,
            help=f"{text} every session of one user",
            description=f"{text.capitalize()} every session bound to --user.",
            epilog=f"example:\n  dynamodb-sessions sessions {action} --user alice@example.com "
            "--table-name LLM-Duel-Sessions\n",
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        sub.add_argument("--user", required=True, help="the user id given to bind_user()")
        _add_table_options(sub)
        sub.set_defaults(usage_parser=sub)


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; exit non-zero with a one-line reason on failure."""
    from . import _commands, _errors

    args = parse(argv)
    name = args.command + (f" {args.action}" if args.command == "sessions" else "")
    try:
        return _commands.run(args)
    except KeyboardInterrupt:
        print(f"\ndynamodb-sessions {name}: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # every failure, of every command, is reported here, in one line
        print(f"dynamodb-sessions {name}: error: {_errors.reason(exc, args)}", file=sys.stderr)
        return 1


def parse(argv: Sequence[str] | None) -> argparse.Namespace:
    """The parsed arguments; an unknown flag shows the usage of the (sub)command it
    was given to, not the top-level one, with the nearest known flag if any."""
    import difflib

    args, unknown = build_parser().parse_known_args(argv)
    if unknown:
        parser: argparse.ArgumentParser = args.usage_parser
        known = [flag for action in parser._actions for flag in action.option_strings]
        near = difflib.get_close_matches(unknown[0].split("=")[0], known, n=1)
        hint = f" (did you mean {near[0]}?)" if near else ""
        parser.error(f"unrecognized arguments: {' '.join(unknown)}{hint}")
    return args
