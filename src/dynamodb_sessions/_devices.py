"""Device labels: the short name a session's device is listed under ("Firefox on Linux").

The middleware derives it from the User-Agent with a few well-known tokens: the
browser family and the OS family, nothing more (no versions, no device model), so
the label says which of a user's devices a session is without identifying it
further. An app can compute its own with `device_label=`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._exceptions import SessionConfigError
from ._logging import logger
from .stores._users import UNKNOWN_DEVICE

if TYPE_CHECKING:
    from collections.abc import Callable

    from starlette.requests import HTTPConnection
    from starlette.types import Scope

    DeviceLabel = Callable[[HTTPConnection], str | None]

#: The longest label stored; a longer one the app computes is cut to this.
MAX_LABEL_LENGTH = 64
# Order matters: Edge and Opera say "Chrome" too, Chrome says "Safari", Android "Linux".
_BROWSERS = (
    ("Edg", "Edge"),
    ("OPR/", "Opera"),
    ("SamsungBrowser/", "Samsung Internet"),
    ("Firefox/", "Firefox"),
    ("FxiOS/", "Firefox"),
    ("CriOS/", "Chrome"),
    ("Chromium/", "Chromium"),
    ("Chrome/", "Chrome"),
    ("Safari/", "Safari"),
)
_SYSTEMS = (
    ("Windows", "Windows"),
    ("Android", "Android"),
    ("iPhone", "iOS"),
    ("iPad", "iPadOS"),
    ("CrOS", "ChromeOS"),
    ("Mac OS X", "macOS"),
    ("Macintosh", "macOS"),
    ("Linux", "Linux"),
)


def _family(user_agent: str, tokens: tuple[tuple[str, str], ...]) -> str | None:
    return next((name for token, name in tokens if token in user_agent), None)


def label_from_user_agent(user_agent: str | None) -> str:
    """ "Firefox on Linux": the browser and OS families a User-Agent names, or one of
    them alone, or "Unknown device"."""
    text = user_agent or ""
    browser, system = _family(text, _BROWSERS), _family(text, _SYSTEMS)
    if browser and system:
        return f"{browser} on {system}"
    return browser or system or UNKNOWN_DEVICE


def default_label(connection: HTTPConnection) -> str | None:
    """The middleware's label: from the request's User-Agent; None (nothing stored,
    listed as "Unknown device") when it names no browser or OS we know."""
    label = label_from_user_agent(connection.headers.get("user-agent"))
    return None if label == UNKNOWN_DEVICE else label


def check_labeler(device_label: object) -> None:
    """Refuse a `device_label=` that is not a callable."""
    if device_label is not None and not callable(device_label):
        raise SessionConfigError(
            "device_label must be a callable that takes the request (a Starlette "
            f"HTTPConnection) and returns a str or None, not {device_label!r}"
        )


def compute_label(labeler: DeviceLabel, scope: Scope) -> str | None:
    """The label of the request's device, cleaned; None if the app's callable fails."""
    from starlette.requests import HTTPConnection

    try:
        label: object = labeler(HTTPConnection(scope))
    except Exception as exc:  # the app's code: a failure costs the label, never the request
        logger.warning("device_label raised %s: the session is stored without a label", exc)
        return None
    if label is None:
        return None
    if not isinstance(label, str):
        logger.warning("device_label returned a %s, not a str: ignored", type(label).__name__)
        return None
    cleaned = "".join(c if c.isprintable() else " " for c in label).strip()
    return cleaned[:MAX_LABEL_LENGTH] or None
