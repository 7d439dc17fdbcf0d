"""Settings read from the environment, in one place (see env.example for each variable)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

SameSite = Literal["lax", "strict", "none"]
SAME_SITE_CHOICES: tuple[SameSite, ...] = ("lax", "strict", "none")
Metrics = Literal["none", "emf", "otel"]
METRICS_CHOICES: tuple[Metrics, ...] = ("none", "emf", "otel")
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


class ConfigError(ValueError):
    """An environment variable is missing or invalid; the message names it and the fix."""


def _flag(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ConfigError(f"{name}={raw!r} is not a boolean: use true or false")


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw is None or not raw.strip():
        return default
    try:
        return int(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not a whole number of seconds") from None


def _same_site(env: Mapping[str, str]) -> SameSite:
    value = env.get("SESSION_SAME_SITE", "lax").strip().lower()
    for choice in SAME_SITE_CHOICES:
        if value == choice:
            return choice
    raise ConfigError(f"SESSION_SAME_SITE={value!r}: use lax, strict or none")


def _metrics(env: Mapping[str, str]) -> Metrics:
    value = (env.get("SESSION_METRICS") or "none").strip().lower()
    for choice in METRICS_CHOICES:
        if value == choice:
            return choice
    raise ConfigError(f"SESSION_METRICS={value!r}: use emf, otel, or none (the default)")


def _secret_keys(env: Mapping[str, str]) -> list[str]:
    keys = [key.strip() for key in env.get("SESSION_SECRET_KEY", "").split(",") if key.strip()]
    if not keys:
        raise ConfigError(
            "SESSION_SECRET_KEY is not set. Generate one with "
            "`python -c 'import secrets; print(secrets.token_urlsafe(32))'`; to rotate, "
            "list the new key first: SESSION_SECRET_KEY=new,old"
        )
    return keys


def _encryption_keys(env: Mapping[str, str]) -> list[str] | None:
    # Checked by DynamoDBStore, whose errors name the fix and never the key.
    keys = [key.strip() for key in env.get("SESSION_ENCRYPTION_KEYS", "").split(",")]
    return [key for key in keys if key] or None


def _encryption_keys_secret(env: Mapping[str, str]) -> str | None:
    secret = (env.get("SESSION_ENCRYPTION_KEYS_SECRET") or "").strip() or None
    if secret and env.get("SESSION_ENCRYPTION_KEYS", "").strip():
        raise ConfigError(
            "set SESSION_ENCRYPTION_KEYS or SESSION_ENCRYPTION_KEYS_SECRET, not both: "
            "the secret (a Secrets Manager id or ARN) keeps the keys out of the environment"
        )
    return secret


def _endpoint_url(env: Mapping[str, str]) -> str | None:
    # The same variables boto3 reads itself, service-specific one first.
    return env.get("AWS_ENDPOINT_URL_DYNAMODB") or env.get("AWS_ENDPOINT_URL") or None


@dataclass(frozen=True)
class OIDCSettings:
    """Where the OpenID Connect provider (Amazon Cognito in production) lives."""

    metadata_url: str
    client_id: str
    client_secret: str | None
    scope: str = "openid email profile"
    logout_url: str | None = None
    provider_name: str = "Amazon Cognito"


@dataclass(frozen=True)
class Settings:
    """Everything the app reads from the environment."""

    secret_keys: list[str]
    use_dynamodb_sessions: bool = False
    table_name: str = "LLM-Duel-Sessions"
    region_name: str | None = None
    endpoint_url: str | None = None
    fallback_to_memory: bool = True
    https_only: bool = True
    max_age: int = 8 * 3600
    same_site: SameSite = "lax"
    public_base_url: str | None = None
    metrics: Metrics = "none"
    oidc: OIDCSettings | None = field(default=None)
    encryption_keys: list[str] | None = field(default=None, repr=False)
    encryption_keys_secret: str | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Read the settings from `env` (default: `os.environ`); raise `ConfigError` if invalid."""
        env = os.environ if env is None else env
        return cls(
            secret_keys=_secret_keys(env),
            use_dynamodb_sessions=_flag(env, "USE_DYNAMODB_SESSIONS", False),
            table_name=env.get("SESSION_TABLE_NAME") or "LLM-Duel-Sessions",
            region_name=env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or None,
            endpoint_url=_endpoint_url(env),
            fallback_to_memory=_flag(env, "SESSION_FALLBACK_TO_MEMORY", True),
            https_only=_flag(env, "SESSION_HTTPS_ONLY", True),
            max_age=_int(env, "SESSION_MAX_AGE", 8 * 3600),
            same_site=_same_site(env),
            public_base_url=(env.get("PUBLIC_BASE_URL") or "").rstrip("/") or None,
            metrics=_metrics(env),
            oidc=_oidc(env),
            encryption_keys=_encryption_keys(env),
            encryption_keys_secret=_encryption_keys_secret(env),
        )


def _oidc(env: Mapping[str, str]) -> OIDCSettings | None:
    metadata_url = env.get("OIDC_METADATA_URL")
    client_id = env.get("OIDC_CLIENT_ID")
    if not metadata_url and not client_id:
        return None
    if not metadata_url or not client_id:
        raise ConfigError("set both OIDC_METADATA_URL and OIDC_CLIENT_ID, or neither")
    return OIDCSettings(
        metadata_url=metadata_url,
        client_id=client_id,
        client_secret=env.get("OIDC_CLIENT_SECRET") or None,
        scope=env.get("OIDC_SCOPE") or "openid email profile",
        logout_url=env.get("OIDC_LOGOUT_URL") or None,
        provider_name=env.get("OIDC_PROVIDER_NAME") or "Amazon Cognito",
    )
