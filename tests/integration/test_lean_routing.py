"""The lean caller sends every request where and how boto3 would: the same URL
(endpoint rules, FIPS, dual-stack, account-based endpoints, a path in
`endpoint_url`), TLS settings, proxies, retries and backoff. Each test runs on the
lean path and on the boto3 path (`lean=False`), which is the reference.

Nothing leaves the machine: names other than loopback don't resolve here, and
requests for AWS endpoints go to a local forward proxy that records and refuses them.
"""

from __future__ import annotations

import contextlib
import itertools
import random
from collections.abc import Iterator

import pytest
from botocore import UNSIGNED
from botocore.config import Config
from starlette.testclient import TestClient

from devservers.dynamodb import LocalServer
from devservers.faulty import BlackHoleServer, NotJSONServer, ThrottlingServer
from devservers.forward_proxy import ForwardProxy
from devservers.proxy import BackgroundProxy
from devservers.tls import Certificates, TLSForwarder, make_certificates
from dynamodb_sessions import DynamoDBStore, SessionStoreError, SessionStoreUnavailableError
from tests.sessions_app import make_app
from tests.support import block_internet, new_key, store_at_url, stored_data

pytestmark = pytest.mark.anyio
both_paths = pytest.mark.parametrize("lean", [True, False], ids=["lean", "boto3"])


@pytest.fixture(autouse=True)
def no_internet(monkeypatch: pytest.MonkeyPatch) -> None:
    block_internet(monkeypatch)
    # This machine may set a CA bundle for every tool; the tests decide here.
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)


@pytest.fixture(scope="module")
def certificates(tmp_path_factory: pytest.TempPathFactory) -> Certificates:
    return make_certificates(tmp_path_factory.mktemp("tls"))


@pytest.fixture(scope="module")
def tls_moto(moto_server: LocalServer, certificates: Certificates) -> Iterator[TLSForwarder]:
    with TLSForwarder(moto_server.endpoint_url, certificates) as forwarder:
        yield forwarder


@pytest.fixture
def forward_proxy() -> Iterator[ForwardProxy]:
    with ForwardProxy() as proxy:
        yield proxy


@pytest.fixture
def http_proxy(forward_proxy: ForwardProxy, monkeypatch: pytest.MonkeyPatch) -> ForwardProxy:
    """The forward proxy, named in HTTP_PROXY."""
    monkeypatch.setenv("HTTP_PROXY", forward_proxy.url)
    return forward_proxy


async def use(store: DynamoDBStore) -> None:
    """A few calls of different operations; they must all succeed."""
    key = new_key()
    await store.ping()
    await store.create(key, data={"a": "1"}, expires=2**31)
    assert await stored_data(store, key) == {"a": "1"}


def assert_path(store: DynamoDBStore, lean: bool) -> None:
    """The store really used the path the test names (no silent fallback)."""
    assert (store.lean is not None) is lean


# --- TLS -------------------------------------------------------------------------


@both_paths
async def test_verify_takes_a_private_ca_bundle(
    moto_server: LocalServer, tls_moto: TLSForwarder, certificates: Certificates, lean: bool
) -> None:
    store = store_at_url(moto_server, tls_moto.endpoint_url, lean=lean, verify=str(certificates.ca))
    before = tls_moto.connections
    await use(store)
    assert tls_moto.connections > before
    assert_path(store, lean)


@both_paths
async def test_aws_ca_bundle_from_the_environment_is_honoured(
    moto_server: LocalServer,
    tls_moto: TLSForwarder,
    certificates: Certificates,
    lean: bool,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AWS_CA_BUNDLE", str(certificates.ca))
    store = store_at_url(moto_server, tls_moto.endpoint_url, lean=lean)
    await use(store)
    assert_path(store, lean)


@both_paths
@pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")
async def test_verify_false_skips_certificate_checks(
    moto_server: LocalServer, tls_moto: TLSForwarder, lean: bool
) -> None:
    store = store_at_url(moto_server, tls_moto.endpoint_url, lean=lean, verify=False)
    await use(store)
    assert_path(store, lean)


@both_paths
async def test_an_untrusted_certificate_is_refused(
    moto_server: LocalServer, tls_moto: TLSForwarder, lean: bool
) -> None:
    store = store_at_url(moto_server, tls_moto.endpoint_url, lean=lean, max_attempts=1)
    with pytest.raises(SessionStoreUnavailableError, match=r"SSL|certificate"):
        await store.ping()


# --- proxies ---------------------------------------------------------------------


@both_paths
async def test_http_proxy_from_the_environment_is_used(
    moto_server: LocalServer, http_proxy: ForwardProxy, lean: bool
) -> None:
    store = store_at_url(moto_server, lean=lean)
    await use(store)
    moto = moto_server.endpoint_url.removeprefix("http://")
    assert len(http_proxy.requests) >= 3
    assert set(http_proxy.targets()) == {moto}
    assert_path(store, lean)


@both_paths
async def test_no_proxy_bypasses_the_proxy(
    moto_server: LocalServer, http_proxy: ForwardProxy, lean: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    store = store_at_url(moto_server, lean=lean)
    await use(store)
    assert http_proxy.requests == []
    assert_path(store, lean)


@both_paths
async def test_proxies_from_botocore_config_are_used(
    moto_server: LocalServer, forward_proxy: ForwardProxy, lean: bool
) -> None:
    config = Config(proxies={"http": forward_proxy.url})
    store = store_at_url(moto_server, lean=lean, config=config)
    await use(store)
    assert len(forward_proxy.requests) >= 3
    assert_path(store, lean)


@both_paths
async def test_https_goes_through_a_connect_tunnel_with_the_private_ca(
    moto_server: LocalServer,
    tls_moto: TLSForwarder,
    certificates: Certificates,
    forward_proxy: ForwardProxy,
    lean: bool,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HTTPS_PROXY", forward_proxy.url)
    store = store_at_url(moto_server, tls_moto.endpoint_url, lean=lean, verify=str(certificates.ca))
    await use(store)
    assert forward_proxy.requests
    assert set(forward_proxy.requests) == {f"CONNECT 127.0.0.1:{tls_moto.port}"}
    assert_path(store, lean)


# --- where AWS endpoints are -----------------------------------------------------

ARN = "arn:aws:dynamodb:eu-west-1:444455556666:table/sessions"


@both_paths
@pytest.mark.parametrize(
    ("env", "config", "table", "host"),
    [
        ({}, None, "sessions", "dynamodb.eu-west-1.amazonaws.com"),
        (
            {"AWS_USE_FIPS_ENDPOINT": "true"},
            None,
            "sessions",
            "dynamodb-fips.eu-west-1.amazonaws.com",
        ),
        ({}, Config(use_fips_endpoint=True), "sessions", "dynamodb-fips.eu-west-1.amazonaws.com"),
        ({"AWS_USE_DUALSTACK_ENDPOINT": "true"}, None, "sessions", "dynamodb.eu-west-1.api.aws"),
        (
            {"AWS_ACCOUNT_ID": "111122223333"},
            None,
            "sessions",
            "111122223333.ddb.eu-west-1.amazonaws.com",
        ),
        (
            {"AWS_ACCOUNT_ID": "111122223333", "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled"},
            None,
            "sessions",
            "dynamodb.eu-west-1.amazonaws.com",
        ),
        ({}, None, ARN, "444455556666.ddb.eu-west-1.amazonaws.com"),
    ],
    ids=[
        "regional",
        "fips-env",
        "fips-config",
        "dualstack-env",
        "account-id",
        "account-id-off",
        "arn",
    ],
)
async def test_aws_endpoint_is_the_one_botocore_resolves(
    forward_proxy: ForwardProxy,
    monkeypatch: pytest.MonkeyPatch,
    lean: bool,
    env: dict[str, str],
    config: Config | None,
    table: str,
    host: str,
) -> None:
    # The proxy refuses anything but loopback: the call fails, after showing where
    # it went. Account-based endpoints are resolved per request, with credentials.
    monkeypatch.setenv("HTTPS_PROXY", forward_proxy.url)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    store = DynamoDBStore(table, region_name="eu-west-1", lean=lean, max_attempts=1, config=config)
    with pytest.raises(SessionStoreUnavailableError):
        await store.load("k" * 64)
    assert forward_proxy.requests == [f"CONNECT {host}:443"]


@both_paths
async def test_a_path_in_endpoint_url_is_kept(moto_server: LocalServer, lean: bool) -> None:
    proxy = BackgroundProxy(moto_server.endpoint_url)
    try:
        proxy.configure(strip_prefix="/dynamodb")
        store = store_at_url(moto_server, proxy.url + "/dynamodb", lean=lean)
        await use(store)
        paths = proxy.stats()["paths"]
    finally:
        proxy.close()
    assert paths
    assert all(path.startswith("/dynamodb") for path in paths), paths
    assert_path(store, lean)


# --- answers that are not DynamoDB's -------------------------------------------


@both_paths
async def test_a_200_that_is_not_json_is_a_store_error(lean: bool) -> None:
    with NotJSONServer() as portal:
        store = DynamoDBStore(
            "sessions", endpoint_url=portal.endpoint_url, region_name="us-east-1", lean=lean
        )
        with pytest.raises(SessionStoreUnavailableError, match="not JSON"):
            await store.load("k" * 64)


@both_paths
def test_a_200_that_is_not_json_gives_503_not_500(lean: bool) -> None:
    with NotJSONServer() as portal:
        store = DynamoDBStore(
            "sessions", endpoint_url=portal.endpoint_url, region_name="us-east-1", lean=lean
        )
        with TestClient(make_app(store), base_url="https://t") as client:
            response = client.post("/set", json={"a": 1})
    assert response.status_code == 503
    assert response.headers["retry-after"] == "1"
    assert "set-cookie" not in response.headers


# --- retries ---------------------------------------------------------------------


@both_paths
async def test_throttling_backs_off_as_botocore_standard_mode(lean: bool) -> None:
    # Standard mode: full jitter, rand() * min(1 s * 2**(attempt-1), 20 s) when
    # throttled. The global random is seeded, so the delays are known in advance.
    expected = random.Random(7)
    delays = [expected.random() * 1, expected.random() * 2]
    state = random.getstate()
    with ThrottlingServer() as throttled:
        store = DynamoDBStore(
            "sessions",
            endpoint_url=throttled.endpoint_url,
            region_name="us-east-1",
            lean=lean,
            max_attempts=3,
        )
        random.seed(7)
        try:
            with pytest.raises(SessionStoreUnavailableError, match="Throttling"):
                await store.load("k" * 64)
        finally:
            random.setstate(state)
        times = throttled.times
    gaps = [later - earlier for earlier, later in itertools.pairwise(times)]
    assert len(gaps) == 2
    for gap, delay in zip(gaps, delays, strict=True):
        assert gap >= delay - 0.01, (gaps, delays)


@both_paths
async def test_retries_draw_on_botocore_retry_quota(moto_server: LocalServer, lean: bool) -> None:
    # Every call is answered 500. A retry of a non-throttling error costs 14 of the
    # quota's 500 tokens and failures return none: 35 calls are retried, then none.
    proxy = BackgroundProxy(moto_server.endpoint_url)
    try:
        proxy.configure(faults={"500": 1.0})
        store = store_at_url(moto_server, proxy.url, lean=lean, max_attempts=2)
        for _ in range(40):
            with pytest.raises(SessionStoreUnavailableError):
                await store.load("k" * 64)
        total = proxy.stats()["total"]
    finally:
        proxy.close()
    assert total == 35 * 2 + 5


# --- the deadline hook and stepping aside --------------------------------------


async def test_a_deadline_stops_retrying() -> None:
    import time

    from botocore.exceptions import ClientError

    with ThrottlingServer() as throttled:
        store = DynamoDBStore(
            "sessions",
            endpoint_url=throttled.endpoint_url,
            region_name="us-east-1",
            max_attempts=10,
        )
        store.client  # noqa: B018 - builds the client and the lean caller
        assert store.lean is not None
        started = time.monotonic()
        with pytest.raises(ClientError, match="Throttling"):
            store.lean.call("GetItem", {"TableName": "sessions", "Key": {}}, deadline=started + 0.3)
        assert time.monotonic() - started < 0.3 + 0.5
        assert 1 <= throttled.requests < 10


async def test_a_deadline_shortens_the_read_timeout() -> None:
    import time

    from botocore.exceptions import ReadTimeoutError

    with BlackHoleServer() as hole:
        store = DynamoDBStore(
            "sessions", endpoint_url=hole.endpoint_url, region_name="us-east-1", read_timeout=5
        )
        store.client  # noqa: B018
        assert store.lean is not None
        started = time.monotonic()
        with pytest.raises(ReadTimeoutError):
            store.lean.call("GetItem", {"TableName": "sessions", "Key": {}}, deadline=started + 0.4)
        assert time.monotonic() - started < 0.4 + 0.5


async def test_lean_steps_aside_for_what_it_cannot_send_like_boto3(
    dynalite_server: LocalServer,
) -> None:
    # Unsigned requests: the lean caller only signs with SigV4, so the boto3 client
    # sends this store's calls (which the server may refuse: that is not the point).
    store = store_at_url(
        dynalite_server,
        lean=True,
        config=Config(signature_version=UNSIGNED),
    )
    with contextlib.suppress(SessionStoreError):
        await store.ping()
    assert store.client is not None
    assert store.lean is None


async def test_lean_steps_aside_for_adaptive_retries(moto_server: LocalServer) -> None:
    store = store_at_url(
        moto_server,
        lean=True,
        config=Config(retries={"mode": "adaptive"}),
    )
    await use(store)
    assert store.lean is None
