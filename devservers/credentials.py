"""A container credentials endpoint (what ECS and Lambda's SnapStart give botocore
through AWS_CONTAINER_CREDENTIALS_FULL_URI), on 127.0.0.1, serving temporary
credentials that expire soon, so botocore refreshes them from here."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from ._threaded import ClosedOnExit


class CredentialsServer(ClosedOnExit):
    """Serves credentials valid for `lifetime`; `on_fetch()` runs in the server's
    thread before each answer (a test can look at the client meanwhile)."""

    def __init__(self, *, lifetime: timedelta, on_fetch: Callable[[], None] | None = None) -> None:
        self.lifetime = lifetime
        self.on_fetch = on_fetch
        self.fetches = 0
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server.fetches += 1
                if server.on_fetch is not None:
                    server.on_fetch()
                expiry = datetime.now(timezone.utc) + server.lifetime
                body = json.dumps(
                    {
                        "AccessKeyId": "AKIDEXAMPLE",
                        "SecretAccessKey": "secret",
                        "Token": "token",
                        "Expiration": expiry.strftime("%Y-%m-%dT%H:%M:%SZ"),
                    }
                ).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        """The URL to give botocore in AWS_CONTAINER_CREDENTIALS_FULL_URI."""
        return f"http://127.0.0.1:{self._server.server_address[1]}/credentials"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(10)
