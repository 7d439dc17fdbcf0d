"""What each `dynamodb-sessions` command does, given its parsed arguments."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

from ._text import plural

if TYPE_CHECKING:
    import argparse
    from collections.abc import Callable

    from types_boto3_dynamodb.client import DynamoDBClient

    from ..stores.dynamodb import DynamoDBStore
    from ._maintenance import Stats, SweepResult
    from ._rotate import RotateResult


def run(args: argparse.Namespace) -> int:
    """Run the command named in `args`; return the exit status."""
    command: Callable[[argparse.Namespace], int] = {
        "create-table": _create_table,
        "check": _check,
        "iam-policy": _iam_policy,
        "sweep": _sweep,
        "stats": _stats,
        "sessions": _sessions,
        "generate-key": _generate_key,
        "rotate-keys": _rotate_keys,
    }[args.command]
    return command(args)


def _client(args: argparse.Namespace) -> DynamoDBClient:
    from ._table import build_client

    return build_client(region_name=args.region, endpoint_url=args.endpoint_url)


def _create_table(args: argparse.Namespace) -> int:
    from ._table import create_table

    create_table(
        _client(args), args.table_name, with_user_index=args.with_user_index, say=_say
    )  # fmt: skip
    return 0


def _check(args: argparse.Namespace) -> int:
    from ._check import WRONG, check_table, render
    from ._errors import command_line

    rows = check_table(
        _client(args),
        args.table_name,
        with_user_index=args.with_user_index,
        create_command=command_line(args, "create-table"),
    )
    _say(render(rows))
    wrong = sum(row.state == WRONG for row in rows)
    if wrong:
        print(
            f"dynamodb-sessions check: error: table {args.table_name}: "
            f"{plural(wrong, 'check')} WRONG",
            file=sys.stderr,
        )
        return 1
    _say(f"table {args.table_name} is ready for dynamodb-sessions")
    return 0


def _iam_policy(args: argparse.Namespace) -> int:
    from ._iam import policy, render

    region = args.region or "*"
    document = policy(
        args.kind,
        args.table_name,
        region=region,
        account_id=args.account_id,
        with_user_index=args.with_user_index,
    )
    _say(render(document))
    if "*" in (region, args.account_id):
        print(
            "note: the ARNs use * for the region or account: pass --region and "
            "--account-id for exact ones",
            file=sys.stderr,
        )
    return 0


def _sweep(args: argparse.Namespace) -> int:
    from ._maintenance import sweep

    client = _client(args)
    total = _approximate_count(client, args.table_name)
    verb = "would delete" if args.dry_run else "deleted"
    progress = _Progress(total)

    def report(result: SweepResult) -> None:
        progress.update(
            result.scanned,
            f"{result.expired} expired, {result.deleted if not args.dry_run else result.expired}"
            f" {verb}",
        )

    result = sweep(
        client, args.table_name, dry_run=args.dry_run, page_size=args.page_size, progress=report
    )
    progress.done()
    scanned = plural(result.scanned, "item")
    if args.dry_run:
        are = "is" if result.expired == 1 else "are"
        _say(f"dry run: {result.expired} of {scanned} {are} expired; none deleted")
    else:
        kept = f", {result.refreshed} kept (refreshed meanwhile)" if result.refreshed else ""
        _say(f"deleted {result.deleted} expired of {scanned}{kept}")
    if args.hash_user_ids:
        _hash_user_ids(args, client)
    return 0


def _hash_user_ids(args: argparse.Namespace, client: DynamoDBClient) -> None:
    import os

    from ..stores.dynamodb import DynamoDBStore
    from ._maintenance import hash_user_ids

    key = os.environ.get(USER_ID_KEY_VARIABLE) or None
    store = DynamoDBStore(args.table_name, client=client, user_id_key=key)
    store.hash_user_id("")  # no key: fail before the scan, saying how to give one
    found, rewritten = hash_user_ids(
        client, args.table_name, hash_user_id=store.hash_user_id, dry_run=args.dry_run,
        page_size=args.page_size,
    )  # fmt: skip
    if args.dry_run:
        _say(f"dry run: {plural(found, 'session')} with a raw user id; none rewritten")
    else:
        _say(f"hashed the user id of {rewritten} of {plural(found, 'session')} with a raw user id")


def _stats(args: argparse.Namespace) -> int:
    from ._maintenance import SIZE_BUCKETS, human_size, stats

    client = _client(args)
    table = client.describe_table(TableName=args.table_name)["Table"]
    count, size = table.get("ItemCount", 0), table.get("TableSizeBytes", 0)
    _say(
        f"table {args.table_name}: about {plural(count, 'item')}, {human_size(size)} "
        "(DescribeTable; AWS updates these about every six hours)"
    )
    progress = _Progress(count)

    def report(result: Stats) -> None:
        progress.update(result.scanned, f"{result.expired} expired")

    result = stats(client, args.table_name, page_size=args.page_size, progress=report)
    progress.done()
    replaced = f", {result.replaced} replaced at sign-in" if result.replaced else ""
    _say(
        f"scanned {plural(result.scanned, 'item')}: {result.live} live, "
        f"{result.expired} expired but present{replaced}, {result.bound} bound to a user; "
        f"largest {human_size(result.largest)}"
    )
    _say("item sizes:")
    widest = max(result.sizes) or 1
    low = 0
    for top, n in zip(SIZE_BUCKETS, result.sizes, strict=True):
        label = f"{human_size(low)} - {human_size(top)}"
        _say(f"  {label:>17}  {n:>8}  {'#' * round(40 * n / widest)}".rstrip())
        low = top
    return 0


def _sessions(args: argparse.Namespace) -> int:
    import os

    import anyio

    from ..stores._calls import missing_index
    from ..stores.dynamodb import DynamoDBStore
    from ._table import user_index_of

    client = _client(args)
    # The table and its index first: their errors say more than a missing key's.
    if user_index_of(client.describe_table(TableName=args.table_name)["Table"]) is None:
        raise missing_index(args.table_name)
    # The key of the app's user-id hash: its first secret_key unless it sets its own;
    # and the app's encryption keys, if it has any, to open the sealed device labels.
    key = os.environ.get(USER_ID_KEY_VARIABLE) or None
    sealed = _encryption_keys() or None
    store = DynamoDBStore(args.table_name, client=client, user_id_key=key, encryption_keys=sealed)
    if args.action == "list":
        return anyio.run(_list_sessions, store, args.user)
    ended = anyio.run(store.revoke_user_sessions, args.user)
    _say(f"revoked {plural(ended, 'session')} of user {args.user}")
    return 0


async def _list_sessions(store: DynamoDBStore, user: str) -> int:
    sessions = await store.list_user_sessions(user)
    if not sessions:
        _say(f"no sessions of user {user}")
        return 0
    _say(f"{plural(len(sessions), 'live session')} of user {user}:")
    for s in sessions:
        _say(
            f"  {s.handle}  created {_when(s.created)}  last seen {_when(s.last_seen)}  {s.device}"
        )
    return 0


def _generate_key(args: argparse.Namespace) -> int:
    from ..stores._cipher import generate_key

    _say(generate_key(args.key_id))
    return 0


def _encryption_keys() -> list[str]:
    """The app's encryption keys, from their variable (never from the command line),
    checked: a bad one is an error that names the variable."""
    import os

    from .._exceptions import SessionConfigError
    from ..stores._cipher import parse_keys
    from . import KEYS_VARIABLE

    keys = [key.strip() for key in os.environ.get(KEYS_VARIABLE, "").split(",") if key.strip()]
    if keys:
        try:
            parse_keys(keys)
        except SessionConfigError as exc:
            raise SessionConfigError(f"{KEYS_VARIABLE}: {exc}") from None
    return keys


def _rotate_keys(args: argparse.Namespace) -> int:
    from ..stores._cipher import Cipher
    from . import KEYS_VARIABLE
    from ._rotate import rotate_keys

    keys = _encryption_keys()
    if not keys:
        raise ValueError(
            f"set {KEYS_VARIABLE} to the app's encryption keys, comma-separated, the new key "
            "first (never on the command line: it would stay in the shell's history)"
        )
    cipher = Cipher(keys)
    client = _client(args)
    progress = _Progress(_approximate_count(client, args.table_name))

    def report(result: RotateResult) -> None:
        progress.update(result.scanned, f"{plural(result.values, 'value')} sealed again")

    result = rotate_keys(client, args.table_name, cipher, page_size=args.page_size, progress=report)
    progress.done()
    _say(
        f"sealed {plural(result.values, 'value')} in {plural(result.sessions, 'session')} "
        f"with key {cipher.key_id} ({plural(result.scanned, 'item')} scanned)"
    )
    if result.unreadable:
        _say(
            f"{plural(result.unreadable, 'session')} left as is: a value no key in "
            f"{KEYS_VARIABLE} opens (its key was removed already, or it was tampered with)"
        )
    if result.changed:
        _say(f"{plural(result.changed, 'session')} kept changing: run rotate-keys again")
        return 1
    return 0


#: The variable `sessions list/revoke` read the app's `user_id_key` from.
USER_ID_KEY_VARIABLE = "DYNAMODB_SESSIONS_USER_ID_KEY"


def _approximate_count(client: DynamoDBClient, table_name: str) -> int:
    return int(client.describe_table(TableName=table_name)["Table"].get("ItemCount", 0))


def _when(epoch: int) -> str:
    import datetime

    moment = datetime.datetime.fromtimestamp(epoch, tz=datetime.timezone.utc)
    return moment.strftime("%Y-%m-%d %H:%M:%SZ")


def _say(text: str) -> None:
    print(text, flush=True)


class _Progress:
    """A progress bar redrawn in place on a terminal; when piped, a line at most
    every `interval` seconds, and the last one."""

    WIDTH = 30

    def __init__(self, total: int, *, interval: float = 1.0) -> None:
        import time

        self.total, self.interval, self.clock = total, interval, time.monotonic
        self.tty = sys.stdout.isatty()
        self.last = ""
        self.shown = ""
        self.shown_at = -interval

    def update(self, done: int, detail: str) -> None:
        self.last = f"{done} scanned, {detail}"
        if self.total:  # DescribeTable's count is approximate: it may be passed
            total = max(self.total, done)
            filled = round(self.WIDTH * done / total)
            bar = f"[{'#' * filled}{'.' * (self.WIDTH - filled)}] {100 * done // total:3d}%"
            self.last = f"{bar}  {self.last}"
        if self.tty:
            sys.stdout.write("\r" + self.last)
            sys.stdout.flush()
        elif self.clock() - self.shown_at >= self.interval:
            self._show()

    def _show(self) -> None:
        _say(self.last)
        self.shown, self.shown_at = self.last, self.clock()

    def done(self) -> None:
        if self.tty and self.last:
            sys.stdout.write("\n")
        elif self.last != self.shown:
            self._show()
