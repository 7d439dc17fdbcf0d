"""The session cookie: a random id, HMAC-signed, in Starlette's cookie format.

The cookie holds only `<id>.<timestamp>.<signature>`. The id is 256 random bits;
stores see only its SHA-256, so a table dump or backup yields no usable cookie.
Modules beyond the bare minimum are imported on first use, to keep the cold
start of `import dynamodb_sessions` small.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._exceptions import SessionConfigError

if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import Literal

    SameSite = Literal["lax", "strict", "none"]

_ID_BYTES = 32  # 256 bits, as 43 URL-safe base64 characters
_ID_LENGTH = 43
_ID_ALPHABET = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
_TOKEN_CHARS = _ID_ALPHABET | frozenset("!#$%&'*+.^`|~")  # RFC 6265 cookie-name chars
# id (43) + timestamp (~6) + SHA-256 signature (43) + dots: anything much longer is
# garbage, rejected before any HMAC work.
_MAX_COOKIE_LENGTH = 128
_EXPIRED = "expires=Thu, 01 Jan 1970 00:00:00 GMT; "
#: The shortest secret key accepted: a floor that catches placeholders and slips
#: ("s", "key", "test"), low enough for Starlette's own test keys ("secret",
#: "example"). It is no measure of strength: use 32 random characters or more.
MIN_SECRET_LENGTH = 6
# RFC 6265 attribute values: printable ASCII (CTLs, and so CR/LF, excluded) without ";".
_PATH_CHARS = frozenset(map(chr, range(0x20, 0x7F))) - {";"}
_DOMAIN_CHARS = _PATH_CHARS - {" "}


def new_session_id() -> str:
    """Mint a fresh random session id (256 bits, URL-safe)."""
    import secrets

    return secrets.token_urlsafe(_ID_BYTES)


def store_key(session_id: str) -> str:
    """The one-way hash under which a session is stored (and, shortened, logged)."""
    import hashlib

    return hashlib.sha256(session_id.encode()).hexdigest()


def _is_session_id(value: str) -> bool:
    return len(value) == _ID_LENGTH and _ID_ALPHABET.issuperset(value)


def _secret_list(secret_key: str | Sequence[str] | object) -> list[str]:
    from starlette.datastructures import Secret  # what Starlette's users pass

    given = list(secret_key) if isinstance(secret_key, (list, tuple)) else [secret_key]
    if not given:
        raise _secret_error("an empty list")
    keys = []
    for key in given:
        if not isinstance(key, (str, Secret)):
            # str() would make a key of anything: None would sign with "None".
            raise _secret_error(f"a {type(key).__name__}")
        text = str(key)
        if len(text) < MIN_SECRET_LENGTH:
            raise _secret_error(f"a key of {len(text)} characters")
        keys.append(text)
    return keys


def first_secret(secret_key: str | Sequence[str] | object) -> str:
    """The key that signs: the first of a list."""
    return _secret_list(secret_key)[0]


def _secret_error(got: str) -> SessionConfigError:
    return SessionConfigError(
        f"secret_key must be a string (or Starlette `Secret`) of at least {MIN_SECRET_LENGTH} "
        f"characters, or a list of them (the first signs, all verify), not {got}; generate "
        "one with `python -c 'import secrets; print(secrets.token_urlsafe(32))'`"
    )


class SessionCookie:
    """Signs, verifies and formats the session cookie; precomputed once."""

    def __init__(
        self,
        *,
        secret_key: str | Sequence[str] | object,
        name: str,
        max_age: int | None,
        path: str,
        domain: str | None,
        same_site: SameSite,
        https_only: bool,
        partitioned: bool,
    ) -> None:
        _check_arguments(name, max_age, same_site)
        _check_path_and_domain(path, domain)
        import hashlib

        import itsdangerous

        # The first key signs, all verify; itsdangerous signs with its *last* key.
        self._signer = itsdangerous.TimestampSigner(
            list(reversed(_secret_list(secret_key))),
            salt="dynamodb-sessions.cookie",
            digest_method=hashlib.sha256,
        )
        self._bad_signature = itsdangerous.BadSignature
        self.name = name
        self.max_age = max_age
        self.path = path
        self.secure = https_only
        self._tail = f"path={path}; "
        flags = "httponly; samesite=" + same_site
        if https_only:
            flags += "; secure"
        if domain is not None:
            flags += f"; domain={domain}"
        if partitioned:
            flags += "; partitioned"
        self._flags = flags

    def read(self, value: str | None) -> str | None:
        """Return the session id in a cookie value, or None if it is absent or not ours."""
        if not value or len(value) > _MAX_COOKIE_LENGTH:
            return None
        try:
            session_id = self._signer.unsign(value, max_age=self.max_age).decode()
        except (self._bad_signature, UnicodeDecodeError):
            return None
        return session_id if _is_session_id(session_id) else None

    def value(self, session_id: str) -> str:
        """The signed cookie value carrying `session_id`."""
        return self._signer.sign(session_id).decode()

    def set_header(self, session_id: str) -> str:
        """A Set-Cookie value carrying `session_id`, in Starlette's format."""
        value = self.value(session_id)
        max_age = f"Max-Age={self.max_age}; " if self.max_age is not None else ""
        return f"{self.name}={value}; {self._tail}{max_age}{self._flags}"

    def expire_header(self) -> str:
        """A Set-Cookie value that makes the browser drop the cookie."""
        return f"{self.name}=null; {self._tail}{_EXPIRED}{self._flags}"


def _check_arguments(name: str, max_age: int | None, same_site: str) -> None:
    if same_site not in ("lax", "strict", "none"):
        raise SessionConfigError(f"same_site must be 'lax', 'strict' or 'none', not {same_site!r}")
    # As Starlette, any whole number: 0 or less gives a cookie that expires at once.
    if max_age is not None and (not isinstance(max_age, int) or isinstance(max_age, bool)):
        raise SessionConfigError(f"max_age must be whole seconds (an int) or None, not {max_age!r}")
    if not name or not _TOKEN_CHARS.issuperset(name):
        raise SessionConfigError(f"session_cookie {name!r} is not a valid cookie name")


def _check_path_and_domain(path: str, domain: str | None) -> None:
    # Both go into the Set-Cookie header as they are: a ";" or a CR/LF would add
    # attributes, or headers, of their own.
    if not isinstance(path, str) or not path.startswith("/") or not _PATH_CHARS.issuperset(path):
        raise SessionConfigError(
            f"path {path!r} is not a valid cookie path: it must start with '/' and hold "
            "printable ASCII only, without ';' (percent-encode other characters)"
        )
    if domain is not None and (
        not isinstance(domain, str) or not _DOMAIN_CHARS.issuperset(domain) or not domain
    ):
        raise SessionConfigError(
            f"domain {domain!r} is not a valid cookie domain: give a host name in ASCII "
            "(the punycode form, xn--..., for an internationalized one), without spaces or ';'"
        )
