"""Property tests: whatever a client sends, a clean answer and nobody else's session.

Requests go straight to the ASGI app (a hand-made scope, no TestClient, no
server), on a MemoryStore behind a counting wrapper: a request costs about
0.04 ms that way against 1.9 ms through TestClient (measured on the 2-core dev
machine). Most of an example's time is then Hypothesis drawing it: the default
`DEFAULT_EXAMPLES` per property take about 3 s (cookies) and 9 s (values);
`pytest --fuzz-long` runs `LONG_EXAMPLES` each.

- Cookies: bit flips, truncations and extensions of validly signed cookies,
  cookies signed with a retired key, random and non-ASCII bytes, 64 KB values,
  duplicated cookie names. Never a 5xx; a store read only for an untouched
  id and timestamp of a cookie signed with a current key; never another
  session's data.
- Values: arbitrary JSON-like keys and values (NaN, infinities, lone surrogates,
  empty keys, deep nesting included) set through an endpoint. Either they read
  back equal, or the set was refused with a `SessionDataError` where it was
  made; never an unhandled exception.
"""

from __future__ import annotations

import asyncio
import json
import math
from collections.abc import Callable, Coroutine, Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from dynamodb_sessions import DynamoDBSessionMiddleware, SessionDataError, SessionStore
from dynamodb_sessions._cookies import store_key
from dynamodb_sessions._serialization import MAX_DEPTH
from tests.support import CountingStore

DEFAULT_EXAMPLES = 2_000
LONG_EXAMPLES = 50_000

CURRENT_KEYS = ["fuzz-new-signing-key", "fuzz-old-signing-key"]  # the first signs
RETIRED_KEY = "fuzz-retired-signing-key"
_json = (b"content-type", b"application/json")


async def read(request: Request) -> Response:
    return JSONResponse(dict(request.session))


async def set_values(request: Request) -> Response:
    # Client input straight into the session, as careless apps do; a refusal is
    # answered with the error's class, so the test sees where it came from.
    values: dict[str, Any] = await request.json()
    try:
        for key, value in values.items():
            request.session[key] = value
    except SessionDataError as exc:
        request.session.clear()
        return PlainTextResponse(type(exc).__name__, status_code=422)
    return PlainTextResponse("stored")


def make_app(store: SessionStore, secret_key: str | list[str]) -> Starlette:
    app = Starlette(routes=[Route("/read", read), Route("/set", set_values, methods=["POST"])])
    app.add_middleware(DynamoDBSessionMiddleware, store=store, secret_key=secret_key)
    return app


class Answer:
    def __init__(self, status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> None:
        self.status = status
        self.headers = headers
        self.body = body

    def set_cookie(self) -> str | None:
        values = [v.decode("latin-1") for k, v in self.headers if k == b"set-cookie"]
        return values[0] if values else None


async def call(
    app: Any, method: str, path: str, headers: list[tuple[bytes, bytes]], body: bytes = b""
) -> Answer:
    """One request, straight through the ASGI interface; app exceptions propagate."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "https",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"testserver"), *headers],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 443),
    }
    incoming = [{"type": "http.request", "body": body, "more_body": False}]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return incoming.pop() if incoming else {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app(scope, receive, send)
    start = sent[0]
    assert start["type"] == "http.response.start"
    return Answer(start["status"], start["headers"], b"".join(m.get("body", b"") for m in sent))


Runner = Callable[[Coroutine[Any, Any, Answer]], Answer]


@pytest.fixture
def run() -> Iterator[Runner]:
    """Runs a coroutine on one event loop kept for the whole test (cheaper per example)."""
    loop = asyncio.new_event_loop()
    yield loop.run_until_complete
    loop.close()


@pytest.fixture
def examples(pytestconfig: pytest.Config) -> int:
    return LONG_EXAMPLES if pytestconfig.getoption("--fuzz-long") else DEFAULT_EXAMPLES


def fuzz_settings(examples: int) -> settings:
    return settings(
        max_examples=examples,
        deadline=None,
        database=None,  # nothing written into the worktree; failures print their example
        suppress_health_check=[HealthCheck.too_slow],
    )


class Issued:
    """A cookie value the middleware issued, and the session behind it."""

    def __init__(self, value: str, data: dict[str, Any], *, current_key: bool) -> None:
        self.value = value
        self.session_id, self.timestamp, _ = value.split(".")
        self.data = data
        self.current_key = current_key

    def untouched_in(self, presented: str) -> bool:
        # The signature's base64 may have non-canonical trailing bits that decode to
        # the same bytes: only the id and the timestamp must be exactly as issued.
        head = f"{self.session_id}.{self.timestamp}."
        return self.current_key and presented.startswith(head)


def issue(run: Runner, store: SessionStore, key: str, user: str) -> str:
    app = make_app(store, key)
    answer = run(call(app, "POST", "/set", [_json], json.dumps({"user": user}).encode()))
    assert answer.status == 200
    header = answer.set_cookie()
    assert header is not None
    return header.split(";")[0].removeprefix("session=")


def mutate(value: str, mutation: tuple[str, int, int, str]) -> str:
    kind, position, bit, text = mutation
    raw = bytearray(value.encode("latin-1"))
    index = position % (len(raw) + 1)
    if kind == "flip" and raw:
        raw[index % len(raw)] ^= 1 << bit
    elif kind == "truncate":
        del raw[index:]
    elif kind == "extend":
        raw[index:index] = text.encode()
    return raw.decode("latin-1")


mutations = st.tuples(
    st.sampled_from(["flip", "truncate", "extend", "none"]),
    st.integers(0, 200),
    st.integers(0, 7),
    st.text(max_size=8),
)
cookie_bytes = st.one_of(
    st.binary(max_size=300),
    st.text(max_size=100).map(lambda t: t.encode("utf-8", "surrogatepass")),
    st.builds(lambda n, c: c.encode() * n, st.integers(60_000, 70_000), st.sampled_from("xé.=")),
)


@st.composite
def cookie_headers(draw: st.DrawFn, issued: list[Issued]) -> list[tuple[bytes, bytes]]:
    """One or more cookie headers, each with one or more pairs, some named `session`."""
    pairs: list[bytes] = []
    for _ in range(draw(st.integers(1, 3))):
        if draw(st.booleans()):
            base = draw(st.sampled_from(issued)).value
            value = mutate(base, draw(mutations)).encode("latin-1")
        else:
            value = draw(cookie_bytes)
        name = draw(st.sampled_from([b"session", b"session", b"Session", b"other", b" session"]))
        pairs.append(name + b"=" + value)
    split = draw(st.booleans())
    return [(b"cookie", pair) for pair in pairs] if split else [(b"cookie", b"; ".join(pairs))]


def presented_values(headers: list[tuple[bytes, bytes]]) -> list[str]:
    values = []
    for _, header in headers:
        for pair in header.decode("latin-1").split(";"):
            name, _, value = pair.partition("=")
            if name.strip() == "session":
                values.append(value.strip())
    return values


def test_any_cookie_header_gives_no_5xx_no_store_call_for_a_forgery_no_other_session(
    run: Runner, examples: int
) -> None:
    store = CountingStore()
    issued = [
        Issued(issue(run, store, CURRENT_KEYS[0], "ann"), {"user": "ann"}, current_key=True),
        Issued(issue(run, store, CURRENT_KEYS[1], "bob"), {"user": "bob"}, current_key=True),
        Issued(issue(run, store, RETIRED_KEY, "eve"), {"user": "eve"}, current_key=False),
    ]
    app = make_app(store, CURRENT_KEYS)  # RETIRED_KEY signed eve's cookie; it is gone now

    # Exactly as issued: the current and the old key still verify, the retired one doesn't.
    for cookie, expected in zip(issued, [{"user": "ann"}, {"user": "bob"}, {}], strict=True):
        answer = run(call(app, "GET", "/read", [(b"cookie", f"session={cookie.value}".encode())]))
        assert json.loads(answer.body) == expected

    @fuzz_settings(examples)
    @given(headers=cookie_headers(issued))
    @example(headers=[(b"cookie", b"session=" + issued[2].value.encode())])
    @example(headers=[(b"cookie", f"session=x; session={issued[0].value}".encode())])
    def check(headers: list[tuple[bytes, bytes]]) -> None:
        store.calls.clear()
        answer = run(call(app, "GET", "/read", headers))
        assert answer.status < 500
        presented = presented_values(headers)
        genuine = [c for c in issued if any(c.untouched_in(p) for p in presented)]
        assert {key for _, key in store.calls} <= {store_key(c.session_id) for c in genuine}
        assert json.loads(answer.body) in [{}, *(c.data for c in genuine)]

    check()


json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(st.characters() | st.sampled_from("\ud800\udbff\udc00\udfff\x00\u2028")),
)
json_values = st.recursive(
    json_scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(), children),
    max_leaves=12,
)
deep_values = st.integers(1, 400).map(lambda depth: json.loads("[" * depth + "]" * depth))
session_keys = st.text(st.characters() | st.sampled_from("\ud800\udfff.#:"), max_size=8)


def readable(value: Any) -> bool:
    """Whether `value` can be stored and read back equal (else it must be refused)."""
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, str):
        return not any("\ud800" <= char <= "\udfff" for char in value)
    if isinstance(value, list):
        return all(readable(item) for item in value)
    if isinstance(value, dict):
        return all(readable(k) and readable(v) for k, v in value.items())
    return True


def depth(value: Any) -> int:
    if isinstance(value, list):
        return 1 + max(map(depth, value), default=0)
    if isinstance(value, dict):
        return 1 + max(map(depth, value.values()), default=0)
    return 0


def test_values_either_read_back_equal_or_are_refused_where_they_are_set(
    run: Runner, examples: int
) -> None:
    store = CountingStore()
    app = make_app(store, CURRENT_KEYS)

    @fuzz_settings(examples)
    @given(values=st.dictionaries(session_keys, json_values | deep_values, max_size=4))
    @example(values={"k": float("nan")})
    @example(values={"k": "\ud800"})
    @example(values={"": 1})
    @example(values={"k": json.loads("[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1))})
    def check(values: dict[str, Any]) -> None:
        body = json.dumps(values).encode()  # ASCII: surrogates and NaN travel as JSON allows
        storable = all(
            key and readable(key) and readable(value) and depth(value) <= MAX_DEPTH
            for key, value in values.items()
        )
        store.calls.clear()
        answer = run(call(app, "POST", "/set", [_json], body))
        if not storable:
            assert answer.status == 422
            assert answer.body in (b"SessionSerializationError", b"SessionDataError")
            assert answer.set_cookie() is None  # no session started...
            assert store.calls == []  # ...and nothing stored
            return
        assert (answer.status, answer.body) == (200, b"stored")
        cookie = answer.set_cookie()
        if not values:
            assert cookie is None  # an empty new session is never written
            return
        assert cookie is not None
        again = run(call(app, "GET", "/read", [(b"cookie", cookie.split(";")[0].encode())]))
        assert again.status == 200
        assert json.loads(again.body) == values

    check()
