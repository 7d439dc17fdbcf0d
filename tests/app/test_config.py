"""Settings from the environment, and the `app.main:app` entry point uvicorn uses."""

from __future__ import annotations

import importlib
import logging

import pytest

from app.config import ConfigError, Settings


def test_defaults_keep_cookie_sessions() -> None:
    settings = Settings.from_env({"SESSION_SECRET_KEY": "k"})

    assert settings.use_dynamodb_sessions is False
    assert settings.table_name == "LLM-Duel-Sessions"
    assert settings.fallback_to_memory is True
    assert settings.https_only is True
    assert settings.oidc is None
    assert settings.metrics == "none"


def test_everything_from_env() -> None:
    settings = Settings.from_env(
        {
            "SESSION_SECRET_KEY": "new, old",
            "USE_DYNAMODB_SESSIONS": "TRUE",
            "SESSION_TABLE_NAME": "Sessions",
            "AWS_REGION": "eu-west-1",
            "AWS_ENDPOINT_URL": "http://127.0.0.1:1",
            "AWS_ENDPOINT_URL_DYNAMODB": "http://127.0.0.1:2",
            "SESSION_FALLBACK_TO_MEMORY": "false",
            "SESSION_HTTPS_ONLY": "0",
            "SESSION_MAX_AGE": "60",
            "SESSION_SAME_SITE": "Strict",
            "PUBLIC_BASE_URL": "https://example.com/Prod/",
            "SESSION_METRICS": "EMF",
            "OIDC_METADATA_URL": "https://idp/.well-known/openid-configuration",
            "OIDC_CLIENT_ID": "cid",
            "OIDC_LOGOUT_URL": "https://idp/logout?client_id={client_id}&logout_uri={return_to}",
        }
    )

    assert settings.secret_keys == ["new", "old"]
    assert settings.use_dynamodb_sessions is True
    assert (settings.table_name, settings.region_name) == ("Sessions", "eu-west-1")
    assert settings.endpoint_url == "http://127.0.0.1:2"
    assert (settings.fallback_to_memory, settings.https_only) == (False, False)
    assert (settings.max_age, settings.same_site) == (60, "strict")
    assert settings.public_base_url == "https://example.com/Prod"
    assert settings.metrics == "emf"
    assert settings.oidc is not None
    assert settings.oidc.client_secret is None


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({}, "SESSION_SECRET_KEY is not set"),
        ({"USE_DYNAMODB_SESSIONS": "maybe"}, "USE_DYNAMODB_SESSIONS='maybe' is not a boolean"),
        ({"SESSION_MAX_AGE": "1h"}, "SESSION_MAX_AGE='1h'"),
        ({"SESSION_SAME_SITE": "loose"}, "SESSION_SAME_SITE='loose'"),
        ({"SESSION_METRICS": "statsd"}, "SESSION_METRICS='statsd': use emf, otel"),
        ({"OIDC_CLIENT_ID": "cid"}, "set both OIDC_METADATA_URL and OIDC_CLIENT_ID"),
    ],
)
def test_bad_values_name_the_variable(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        Settings.from_env({"SESSION_SECRET_KEY": "k", **env} if env else env)


def test_module_attribute_app_is_built_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SESSION_SECRET_KEY", "k")
    root = logging.getLogger()
    monkeypatch.setattr(root, "handlers", list(root.handlers))  # undo basicConfig
    monkeypatch.setattr(root, "level", root.level)
    main = importlib.import_module("app.main")
    monkeypatch.delitem(main.__dict__, "app", raising=False)

    application = main.app

    assert application is main.app
    assert application.state.session_store is None  # cookie sessions by default


def test_otel_metrics_feed_the_global_meter_provider() -> None:
    from opentelemetry import metrics
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader

    from app.main import create_app
    from dynamodb_sessions import MemoryStore, SessionEvent

    reader = InMemoryMetricReader()
    # The hook asks OpenTelemetry for the global provider: stand one in for this test.
    # The hook takes OpenTelemetry's global provider, as a deployment's would be; it
    # can be set once per process, and no other test sets it.
    metrics.set_meter_provider(MeterProvider([reader]))
    settings = Settings.from_env(
        {
            "SESSION_SECRET_KEY": "test-secret",
            "USE_DYNAMODB_SESSIONS": "true",
            "SESSION_METRICS": "otel",
            "SESSION_HTTPS_ONLY": "false",
        }
    )
    store = MemoryStore()
    app = create_app(settings, store=store)
    hook = next(m.kwargs["on_event"] for m in app.user_middleware if "on_event" in m.kwargs)
    assert callable(hook)
    hook(SessionEvent("created", "0123456789ab", calls=1, write_units=1.0))
    assert store.on_event is hook  # revocations ("Sign out everywhere") are counted too
    data = reader.get_metrics_data()
    assert data is not None
    names = {
        metric.name
        for resource in data.resource_metrics
        for scope in resource.scope_metrics
        for metric in scope.metrics
    }
    assert "dynamodb_sessions.events" in names


def test_encryption_keys_from_env_reach_the_store() -> None:
    from app.services.session_store import build_dynamodb_store
    from tests.support import OTHER_KEY, TEST_KEY

    assert Settings.from_env({"SESSION_SECRET_KEY": "k"}).encryption_keys is None
    env = {"SESSION_SECRET_KEY": "k", "SESSION_ENCRYPTION_KEYS": f" {OTHER_KEY} , {TEST_KEY},"}
    settings = Settings.from_env(env)
    assert settings.encryption_keys == [OTHER_KEY, TEST_KEY]
    assert OTHER_KEY not in repr(settings)  # never in a log line
    store = build_dynamodb_store(settings)
    assert store.cipher is not None
    assert store.cipher.key_id == "test2"
