"""Load generator: N virtual users, each with its own cookie jar, on a fixed request mix.

Each user has its own client (``benchmarks.clients``: a minimal asyncio HTTP/1.1 client by
default, or ``httpx.AsyncClient``) with its own cookie jar and keep-alive connection.

Each user logs in, then (after the harness's ``on_start`` hook, which resets the counters)
runs the mix (70% read, 20% write, 10% no-session by default) until the deadline, one
request at a time. Correctness is checked as it goes:

* every read and write must answer for the user's own name (else ``wrong_user``);
* the counter must equal the number of writes the user saw acknowledged (a write that
  failed or was cancelled may or may not have landed; it is allowed for once) - fewer is
  a lost update, more is a phantom update;
* a logged-in user must never see an empty session (``session_lost``).

After the ``on_end`` hook every user reads its counter once more, logs out, checks that a
read shows no user, and replays its old cookie from a fresh jar to see whether the server
still honours it (``old_cookie_revoked``).

Optional probers run beside the users (the event-loop-block test): one without a cookie
and one logged in, both calling ``/nosession`` back to back.
"""

from __future__ import annotations

import asyncio
import math
import random
import time
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from benchmarks.clients import CLIENTS, Client, ClientKind, Response, TransportError
from benchmarks.schema import PROBLEMS, CorrectnessCounts

DEFAULT_MIX: tuple[tuple[str, int], ...] = (("read", 70), ("write", 20), ("nosession", 10))


@dataclass
class LoadConfig:
    """One load run: where, how many users, how long, which mix and which client."""

    base_url: str
    users: int = 32
    duration: float = 10.0
    mix: tuple[tuple[str, int], ...] = DEFAULT_MIX
    seed: int = 1
    timeout: float = 30.0
    grace: float = 15.0  # after the deadline, in-flight requests get this long, then cancelled
    probes: bool = False
    probe_interval: float = 0.01
    client: ClientKind = "raw"  # or "httpx", see benchmarks.clients

    def open_client(self, cookies: dict[str, str] | None = None) -> Client:
        """A new client of the configured kind, with its own cookie jar."""
        return CLIENTS[self.client](self.base_url, self.timeout, cookies)


@dataclass
class Correctness:
    """What went wrong, counted per kind (see the module docstring)."""

    lost_updates: int = 0
    phantom_updates: int = 0
    wrong_user: int = 0
    session_lost: int = 0
    final_counter_mismatch: int = 0
    logout_failed: int = 0
    old_cookie_revoked: int = 0
    old_cookie_still_valid: int = 0
    acked_writes: int = 0

    def ok(self) -> bool:
        """Whether nothing went wrong (an old cookie still valid is a finding, not an error)."""
        return not any(getattr(self, name) for name in PROBLEMS)

    def counts(self) -> CorrectnessCounts:
        """The counters as results.json records them, with the verdict."""
        return {
            "lost_updates": self.lost_updates,
            "phantom_updates": self.phantom_updates,
            "wrong_user": self.wrong_user,
            "session_lost": self.session_lost,
            "final_counter_mismatch": self.final_counter_mismatch,
            "logout_failed": self.logout_failed,
            "old_cookie_revoked": self.old_cookie_revoked,
            "old_cookie_still_valid": self.old_cookie_still_valid,
            "acked_writes": self.acked_writes,
            "ok": self.ok(),
        }


@dataclass
class LoadResult:
    """Everything one load run counted and timed (latencies in seconds)."""

    elapsed: float = 0.0
    requests: int = 0
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    statuses: Counter[str] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    cancelled: int = 0
    correctness: Correctness = field(default_factory=Correctness)
    probe_latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    login_failures: int = 0

    @property
    def server_errors(self) -> int:
        """Answers with a 5xx status."""
        return sum(n for status, n in self.statuses.items() if status.startswith("5"))

    @property
    def client_errors(self) -> int:
        """Answers with a 4xx status."""
        return sum(n for status, n in self.statuses.items() if status.startswith("4"))


_REQUESTS = {
    "read": ("GET", "/read"),
    "write": ("POST", "/write"),
    "nosession": ("GET", "/nosession"),
}


class _User:
    """A virtual user: its name, its client and what it expects its counter to be."""

    def __init__(self, index: int, config: LoadConfig) -> None:
        self.name = f"user{index:03d}"
        self.rng = random.Random(config.seed * 1000 + index)
        self.client = config.open_client()
        self.expected = 0
        self.uncertain = 0  # writes sent but not acknowledged: each may have landed or not
        self.logged_in = False

    def check_counter(self, counter: int, result: LoadResult) -> None:
        low, high = self.expected, self.expected + self.uncertain
        if counter < low:
            result.correctness.lost_updates += low - counter
        elif counter > high:
            result.correctness.phantom_updates += counter - high
        self.expected = counter
        self.uncertain = 0


async def _login(user: _User, result: LoadResult) -> None:
    response = await user.client.request("POST", "/login", params={"user": user.name})
    if response.status_code != 200 or response.json().get("user") != user.name:
        result.login_failures += 1
        return
    user.logged_in = True
    user.expected = 0
    user.uncertain = 0


async def _one_request(user: _User, op: str, result: LoadResult, seq: int) -> None:
    method, path = _REQUESTS[op]
    start = time.perf_counter()
    if op == "write":
        user.uncertain += 1  # until acknowledged
    try:
        response = await user.client.request(
            method, path, params={"item": str(seq)} if op == "write" else None
        )
    except TransportError as exc:
        result.errors[str(exc)] += 1
        return
    finally:
        result.latencies[op].append(time.perf_counter() - start)
        result.requests += 1
    result.statuses[str(response.status_code)] += 1
    _check_answer(user, op, response, result)


def _check_answer(user: _User, op: str, response: Response, result: LoadResult) -> None:
    c = result.correctness
    if response.status_code == 401 and op == "write":
        user.uncertain -= 1
        c.session_lost += 1
        return
    if response.status_code != 200 or op == "nosession":
        return
    body: dict[str, Any] = response.json()
    if body.get("user") != user.name:
        if body.get("user") is None:
            c.session_lost += 1
        else:
            c.wrong_user += 1
        return
    if op == "write":
        user.uncertain -= 1
        c.acked_writes += 1
        # The write itself is the one expected increment; earlier unacknowledged ones may
        # or may not have landed.
        user.expected += 1
    user.check_counter(int(body["counter"]), result)


def _deck(mix: tuple[tuple[str, int], ...]) -> list[str]:
    """One round of the mix, e.g. 7 reads, 2 writes and 1 no-session request."""
    divisor = 0
    for _, weight in mix:
        divisor = math.gcd(divisor, weight)
    return [name for name, weight in mix for _ in range(weight // max(divisor, 1))]


async def _run_user(user: _User, config: LoadConfig, deadline: float, result: LoadResult) -> None:
    # The mix is fixed: each user deals a shuffled deck of the mix's proportions, so the
    # shares hold exactly up to one partial round per user.
    deck = _deck(config.mix)
    seq = 0
    while time.monotonic() < deadline:
        user.rng.shuffle(deck)
        for op in deck:
            if time.monotonic() >= deadline:
                break
            seq += 1
            await _one_request(user, op, result, seq)


async def _probe(
    client: Client, label: str, config: LoadConfig, deadline: float, result: LoadResult
) -> None:
    while time.monotonic() < deadline:
        start = time.perf_counter()
        try:
            response = await client.request("GET", "/nosession")
            if response.status_code != 200:
                result.errors[f"probe:HTTP {response.status_code}"] += 1
        except TransportError as exc:
            result.errors[f"probe:{exc}"] += 1
        result.probe_latencies[label].append(time.perf_counter() - start)
        await asyncio.sleep(config.probe_interval)


async def _verify(user: _User, config: LoadConfig, result: LoadResult) -> None:
    try:
        await _check_final_counter(user, result)
        old_cookies = user.client.cookie_snapshot()
        await _check_logout(user, result)
        await _replay(old_cookies, config, result)
    except (TransportError, ValueError) as exc:
        result.errors[f"verify:{type(exc).__name__}"] += 1


async def _check_final_counter(user: _User, result: LoadResult) -> None:
    c = result.correctness
    body = (await user.client.request("GET", "/read")).json()
    if body.get("user") != user.name:
        c.session_lost += 1
        return
    counter = int(body["counter"])
    if not user.expected <= counter <= user.expected + user.uncertain:
        c.final_counter_mismatch += 1
        if counter < user.expected:
            c.lost_updates += user.expected - counter


async def _check_logout(user: _User, result: LoadResult) -> None:
    logout = await user.client.request("POST", "/logout")
    after = (await user.client.request("GET", "/read")).json()
    if logout.status_code != 200 or after.get("user") is not None:
        result.correctness.logout_failed += 1


async def _replay(old_cookies: dict[str, str], config: LoadConfig, result: LoadResult) -> None:
    """Send the cookies a user had before logging out from a fresh jar."""
    replay = config.open_client(old_cookies)
    try:
        replayed = (await replay.request("GET", "/read")).json()
    finally:
        await replay.aclose()
    if replayed.get("user") is None:
        result.correctness.old_cookie_revoked += 1
    else:
        result.correctness.old_cookie_still_valid += 1


async def run_load(
    config: LoadConfig,
    on_start: Callable[[], Awaitable[None]],
    on_end: Callable[[], Awaitable[None]],
) -> LoadResult:
    """Log every user in, call ``on_start``, run the mix, call ``on_end``, then verify."""
    result = LoadResult()
    all_users = [_User(i, config) for i in range(config.users)]
    probers: list[tuple[str, Client]] = []
    try:
        await asyncio.gather(*(_login(u, result) for u in all_users))
        users = [u for u in all_users if u.logged_in]
        if config.probes:
            probers = await _probers(config)
        await on_start()
        await _run_mix(users, probers, config, result)
        await on_end()
        await _verify_all(users, config, result)
    finally:
        for u in all_users:
            await u.client.aclose()
        for _, client in probers:
            await client.aclose()
    return result


async def _probers(config: LoadConfig) -> list[tuple[str, Client]]:
    anonymous = config.open_client()
    with_cookie = config.open_client()
    await with_cookie.request("POST", "/login", params={"user": "prober"})
    return [("no_cookie", anonymous), ("with_cookie", with_cookie)]


async def _run_mix(
    users: list[_User], probers: list[tuple[str, Client]], config: LoadConfig, result: LoadResult
) -> None:
    start = time.monotonic()
    deadline = start + config.duration
    tasks = [asyncio.ensure_future(_run_user(u, config, deadline, result)) for u in users]
    tasks += [
        asyncio.ensure_future(_probe(client, label, config, deadline, result))
        for label, client in probers
    ]
    done, pending = await asyncio.wait(tasks, timeout=config.duration + config.grace)
    for task in pending:
        task.cancel()
    result.cancelled = len(pending)
    if pending:
        await asyncio.wait(pending)
    for task in done:
        if task.exception() is not None:
            result.errors[f"task:{type(task.exception()).__name__}"] += 1
    result.elapsed = time.monotonic() - start


async def _verify_all(users: list[_User], config: LoadConfig, result: LoadResult) -> None:
    sem = asyncio.Semaphore(8)

    async def verify(user: _User) -> None:
        async with sem:
            await _verify(user, config, result)

    await asyncio.gather(*(verify(u) for u in users))
