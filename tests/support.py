"""Helpers shared by the network tests (not fixtures: those live in conftest)."""

from __future__ import annotations

import hashlib
import socket
from typing import Any

import pytest

_LOOPBACK = ("127.0.0.1", "localhost", "::1")


def block_internet(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make every name but loopback unresolvable in this process, so a client that
    ignores a proxy setting fails at once instead of reaching AWS."""
    resolve = socket.getaddrinfo

    def loopback_only(host: Any, *args: Any, **kwargs: Any) -> Any:
        if host not in _LOOPBACK:
            raise socket.gaierror(socket.EAI_NONAME, f"tests never leave the machine ({host})")
        return resolve(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", loopback_only)


def key_of(cookie: str) -> str:
    """The table key of the session a signed cookie names."""
    return hashlib.sha256(cookie.split(".")[0].encode()).hexdigest()
