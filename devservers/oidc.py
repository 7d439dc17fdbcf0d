"""Start and stop a local OpenID Connect provider (oidc-provider-mock) on 127.0.0.1.

It runs as `devservers.oidc_provider`, whose logout returns to the app at once. It
signs in anyone: its authorization page asks for a subject (any text, used as
the email claim too) and accepts any client id, secret and redirect URI. It keeps
its state in memory, so restarting it forgets issued tokens, not the app's sessions.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass

from devservers.process import free_port, start_process, stop_process

_DISCOVERY = "/.well-known/openid-configuration"


@dataclass
class OIDCProvider:
    """A running provider: its issuer URL and process."""

    issuer: str
    process: subprocess.Popen[bytes]

    @property
    def metadata_url(self) -> str:
        """The discovery document, what the app's OIDC_METADATA_URL points at."""
        return self.issuer + _DISCOVERY

    def stop(self) -> None:
        """Terminate the provider and wait for it to exit."""
        stop_process(self.process)


def _answers(metadata_url: str) -> bool:
    try:
        with urllib.request.urlopen(metadata_url, timeout=1) as response:  # noqa: S310 - loopback
            return "authorization_endpoint" in json.loads(response.read())
    except (OSError, urllib.error.URLError, ValueError):
        return False


def start(*, port: int | None = None, timeout: float = 30.0) -> OIDCProvider:
    """Start the provider on 127.0.0.1 and return once its discovery document answers."""
    port = port or free_port()
    issuer = f"http://127.0.0.1:{port}"
    process = start_process(
        [sys.executable, "-m", "devservers.oidc_provider", "--port", str(port)],
        ready=lambda: _answers(issuer + _DISCOVERY),
        name=f"oidc-provider-mock on port {port}",
        timeout=timeout,
    )
    return OIDCProvider(issuer, process)


@contextlib.contextmanager
def running(*, port: int | None = None) -> Iterator[OIDCProvider]:
    """Context manager form of `start`: the provider is stopped on exit."""
    provider = start(port=port)
    try:
        yield provider
    finally:
        provider.stop()


if __name__ == "__main__":
    # `python -m devservers.oidc [PORT]`: run in the foreground until interrupted.
    server = start(port=int(sys.argv[1]) if len(sys.argv) > 1 else 9400)
    print(server.issuer, flush=True)
    try:
        server.process.wait()
    except KeyboardInterrupt:
        server.stop()
