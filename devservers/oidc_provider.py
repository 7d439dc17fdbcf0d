"""The local OpenID Connect provider: oidc-provider-mock, with a logout that returns
to the app.

oidc-provider-mock's end-session endpoint shows a page with an "End session" button
and follows `post_logout_redirect_uri` only once it is pressed: signing out of the
app would leave the user on the provider's bare page. The mock keeps no user session
to end, so here the endpoint redirects to `post_logout_redirect_uri` at once, as a
provider does when it needs no confirmation. Without that parameter, the mock's page
is shown as before.

    python -m devservers.oidc_provider --host 127.0.0.1 --port 9400 --user demo@example.com
"""

from __future__ import annotations

import argparse
import os
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

if TYPE_CHECKING:
    from collections.abc import Sequence

    import flask

END_SESSION_PATH = "/oauth2/end_session"


def build(users: Sequence[str] = ()) -> flask.Flask:
    """The provider's WSGI app; each of `users` signs in with one click (email = sub)."""
    from oidc_provider_mock import User, app

    application: flask.Flask = app(user_claims=[User(sub=u, claims={"email": u}) for u in users])
    application.before_request(_end_session_returns_to_the_app)
    return application


def _end_session_returns_to_the_app() -> flask.typing.ResponseReturnValue | None:
    import flask

    if flask.request.path != END_SESSION_PATH:
        return None
    target = flask.request.values.get("post_logout_redirect_uri", "")
    if urlsplit(target).scheme not in ("http", "https"):
        return None  # the mock's own page, which says what is missing
    state = flask.request.values.get("state")
    if state is not None:  # RP-initiated logout: `state` goes back to the app
        parts = urlsplit(target)
        query = urlencode([*parse_qsl(parts.query, keep_blank_values=True), ("state", state)])
        target = urlunsplit(parts._replace(query=query))
    return flask.redirect(target, code=302)


def main(argv: Sequence[str] | None = None) -> None:
    """Serve the provider in the foreground (plain http: loopback only)."""
    import uvicorn

    parser = argparse.ArgumentParser(prog="python -m devservers.oidc_provider")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9400)
    parser.add_argument("--user", action="append", default=[], help="a one-click user")
    args = parser.parse_args(argv)
    os.environ["AUTHLIB_INSECURE_TRANSPORT"] = "1"  # http on loopback, as the mock's CLI
    uvicorn.run(build(args.user), interface="wsgi", host=args.host, port=args.port)


if __name__ == "__main__":
    main()
