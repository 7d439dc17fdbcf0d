"""The OpenID Connect client (authlib's Starlette integration), set up from configuration only.

Amazon Cognito is a standard OpenID Connect provider: give its metadata URL,
`https://cognito-idp.<region>.amazonaws.com/<user-pool-id>/.well-known/openid-configuration`,
and an app client's id and secret. Cognito's discovery document has no
`end_session_endpoint`, so its logout URL comes from OIDC_LOGOUT_URL.
"""

from __future__ import annotations

import importlib
from typing import Any
from urllib.parse import quote, urlencode

from authlib.integrations.starlette_client import OAuth

from app.config import OIDCSettings

CLIENT_NAME = "oidc"


def _http_errors() -> tuple[type[Exception], ...]:
    # authlib talks HTTP through httpx2 when it is installed, else through httpx.
    errors: list[type[Exception]] = []
    for name in ("httpx2", "httpx"):
        try:
            errors.append(importlib.import_module(name).HTTPError)
        except ImportError:
            continue
    return tuple(errors)


PROVIDER_ERRORS = _http_errors()
"""What authlib raises when the provider can't be reached or answers with an HTTP error."""


def build_client(settings: OIDCSettings) -> Any:
    """A fresh authlib client for one app (its metadata is fetched once, on first use)."""
    oauth = OAuth()
    oauth.register(
        name=CLIENT_NAME,
        client_id=settings.client_id,
        client_secret=settings.client_secret,
        server_metadata_url=settings.metadata_url,
        client_kwargs={"scope": settings.scope, "code_challenge_method": "S256"},
    )
    return oauth.create_client(CLIENT_NAME)


async def logout_url(
    client: Any, settings: OIDCSettings, *, return_to: str, id_token: str | None
) -> str | None:
    """Where to send the browser to end the provider's session, or None if it has no endpoint.

    OIDC_LOGOUT_URL wins when set; `{client_id}` and `{return_to}` in it are filled
    in (Cognito: `https://<domain>/logout?client_id={client_id}&logout_uri={return_to}`).
    Otherwise the provider's `end_session_endpoint` is used, as RP-initiated logout says.
    """
    if settings.logout_url:
        return settings.logout_url.format(
            client_id=quote(settings.client_id, safe=""), return_to=quote(return_to, safe="")
        )
    metadata = await client.load_server_metadata()
    endpoint = metadata.get("end_session_endpoint")
    if not endpoint:
        return None
    params = {"client_id": settings.client_id, "post_logout_redirect_uri": return_to}
    if id_token:
        params["id_token_hint"] = id_token
    separator = "&" if "?" in endpoint else "?"
    return f"{endpoint}{separator}{urlencode(params)}"
