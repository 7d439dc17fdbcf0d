"""The middleware's decision table: for each kind of request, which store calls it
makes and which Set-Cookie it answers with. On a MemoryStore behind a counting
wrapper, so the whole table runs in milliseconds without a server; the same cases,
counted as DynamoDB requests on moto and dynalite, are in
tests/integration/test_middleware.py and test_call_counts.py."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import pytest
from starlette.testclient import TestClient

from dynamodb_sessions import MemoryStore
from tests.sessions_app import make_app
from tests.support import CLEARED_COOKIE, Clock, CountingStore, session_cookie

DAY = 24 * 3600
# What the browser presents: no cookie, the cookie of a live session, that cookie
# with its id altered (the signature no longer matches), a value that is no signed
# cookie at all, or a validly signed cookie whose session was ended.
Presented = Literal["none", "live", "forged", "unsigned", "gone"]
# What the answer's Set-Cookie does: nothing (no header), the session's cookie again
# (same id), a cookie for a new id, or the cookie deleted.
SetCookie = Literal["none", "same id", "new id", "cleared"]


@dataclass(frozen=True)
class Case:
    presented: Presented
    method: str
    path: str
    calls: dict[str, int]  # store calls, by method
    set_cookie: SetCookie
    status: int = 200
    body: Any = None  # sent as JSON
    options: dict[str, Any] = field(default_factory=dict)  # of the middleware
    later: int = 0  # seconds between the session's last write and this request


REFRESH = {"refresh_interval": 3600}
LAZY = {"lazy": True}
CASES = {
    "no-cookie-session-untouched": Case("none", "GET", "/none", {}, "none"),
    "no-cookie-empty-session-read": Case("none", "GET", "/read", {}, "none"),
    "forged-cookie": Case("forged", "GET", "/read", {}, "cleared"),
    "unsigned-cookie": Case("unsigned", "GET", "/read", {}, "cleared"),
    "read-only": Case("live", "GET", "/read", {"load": 1}, "none"),
    "cookie-session-untouched": Case("live", "GET", "/none", {"load": 1}, "none"),
    "write": Case("live", "POST", "/set", {"load": 1, "update": 1}, "same id", body={"b": 2}),
    "nested-write": Case("live", "POST", "/append", {"load": 1, "update": 1}, "same id",
                         body="pear"),
    "new-session": Case("none", "POST", "/set", {"create": 1}, "new id", body={"a": 1}),
    "signed-id-of-an-ended-session": Case("gone", "POST", "/set", {"load": 1, "create": 1},
                                          "new id", body={"a": 1}),
    "logout": Case("live", "POST", "/logout", {"load": 1, "delete": 1}, "cleared"),
    "regenerate-id": Case("live", "POST", "/login", {"load": 1, "rotate": 1}, "new id"),
    "refresh-due": Case("live", "GET", "/read", {"load": 1, "update": 1}, "same id",
                        options=REFRESH, later=3600),
    "refresh-not-due": Case("live", "GET", "/read", {"load": 1}, "none", options=REFRESH,
                            later=3599),
    "expired-session": Case("live", "GET", "/read", {"load": 1}, "cleared", later=14 * DAY),
    "skip-paths": Case("live", "GET", "/skip/none", {}, "none", options={"skip_paths": ["/skip"]}),
    "the-app-answers-5xx": Case("live", "POST", "/fail", {"load": 1}, "none", status=500),
    "too-large-a-session": Case("live", "POST", "/big", {"load": 1}, "none", status=413),
    "a-value-json-cannot-encode": Case("none", "POST", "/not-json", {}, "none", status=500),
    # lazy=True: no store call until the app awaits load_session(request).
    "lazy-never-loaded": Case("live", "GET", "/none", {}, "none", options=LAZY),
    "lazy-load-read": Case("live", "GET", "/load/read", {"load": 1}, "none", options=LAZY),
    "lazy-load-twice": Case("live", "GET", "/load/twice", {"load": 1}, "none", options=LAZY),
    "lazy-write-after-load": Case("live", "POST", "/load/set", {"load": 1, "update": 1},
                                  "same id", body={"b": 2}, options=LAZY),
    "lazy-new-session": Case("none", "POST", "/load/set", {"create": 1}, "new id",
                             body={"a": 1}, options=LAZY),
    "lazy-logout": Case("live", "POST", "/load/logout", {"load": 1, "delete": 1}, "cleared",
                        options=LAZY),
    "lazy-expired-session": Case("live", "GET", "/load/read", {"load": 1}, "cleared",
                                 later=14 * DAY, options=LAZY),
    "lazy-forged-cookie": Case("forged", "GET", "/load/read", {}, "cleared", options=LAZY),
    "lazy-forged-never-loaded": Case("forged", "GET", "/none", {}, "none", options=LAZY),
    # request.session before load_session: SessionNotLoadedError, answered 500 as on
    # skip_paths (a bug in the app, not a transient failure).
    "lazy-session-before-load": Case("live", "GET", "/read", {}, "none", status=500,
                                     options=LAZY),
    "eager-load-session-again": Case("live", "GET", "/load/twice", {"load": 1}, "none"),
    "skip-paths-load-on-demand": Case("live", "GET", "/skip/load/read", {"load": 1}, "none",
                                      options={"skip_paths": ["/skip"]}),
    "skip-paths-session-used": Case("live", "GET", "/skip/read", {}, "none", status=500,
                                    options={"skip_paths": ["/skip"]}),
}  # fmt: skip


def present(client: TestClient, presented: Presented) -> str | None:
    """Put what the case presents in the client's jar; the cookie's value, if any."""
    if presented == "none":
        return None
    # Through load_session: these routes work whether or not the case is lazy.
    cookie = session_cookie(client.post("/load/set", json={"cart": ["apple"]}))
    if presented == "gone":
        client.post("/load/logout")
    session_id, rest = cookie.split(".", 1)
    value = {
        "live": cookie,
        "gone": cookie,
        "forged": ("B" if session_id[0] == "A" else "A") + session_id[1:] + "." + rest,
        "unsigned": "forged.cookie.value",
    }[presented]
    client.cookies.clear()
    client.cookies.set("session", value)
    return value


def assert_set_cookie(response: Any, expected: SetCookie, presented: str | None) -> None:
    if expected == "none":
        assert "set-cookie" not in response.headers
    elif expected == "cleared":
        assert response.headers["set-cookie"] == CLEARED_COOKIE
    else:
        session_id = session_cookie(response).split(".")[0]
        same = presented is not None and session_id == presented.split(".")[0]
        assert same is (expected == "same id"), (response.headers["set-cookie"], presented)


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_which_store_calls_and_which_set_cookie(case: Case) -> None:
    clock = Clock()
    store = CountingStore(MemoryStore(clock=clock))
    client = TestClient(make_app(store, **case.options), base_url="https://testserver")
    presented = present(client, case.presented)
    clock.advance(case.later)
    store.take()

    response = client.request(case.method, case.path, json=case.body)

    assert response.status_code == case.status
    assert store.take() == case.calls
    assert_set_cookie(response, case.set_cookie, presented)
