"""HTTPS in front of a local DynamoDB: a private CA, a server certificate, and a
TLS-terminating forwarder.

The certificates are made at run time with `cryptography` (nothing secret is
checked in); the forwarder listens on 127.0.0.1 and pipes the decrypted bytes to
a loopback upstream (moto or dynalite), so a client must trust the private CA
(`verify=`, `AWS_CA_BUNDLE`) to talk to it.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import ipaddress
import ssl
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from devservers._threaded import LoopServer

_LOOPBACK = ("127.0.0.1", "localhost")


@dataclass(frozen=True)
class Certificates:
    """PEM files: the CA to trust, and the server's certificate and key."""

    ca: Path
    cert: Path
    key: Path


def make_certificates(directory: Path) -> Certificates:
    """Write a private CA and a certificate for 127.0.0.1/localhost it signed."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "devservers test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    names = [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    files = Certificates(directory / "ca.pem", directory / "server.pem", directory / "server.key")
    files.ca.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    files.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    files.key.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return files


async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Copy bytes until `reader` ends or either side fails, then close `writer`."""
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, ssl.SSLError):
        pass
    finally:
        with contextlib.suppress(Exception):
            writer.close()


class TLSForwarder(LoopServer):
    """HTTPS on 127.0.0.1, forwarded as plain TCP to a loopback `upstream` URL."""

    def __init__(self, upstream: str, certificates: Certificates) -> None:
        parts = urlsplit(upstream)
        if parts.hostname not in _LOOPBACK:
            raise ValueError("the TLS forwarder only forwards to loopback")
        self.upstream_host, self.upstream_port = parts.hostname, parts.port or 80
        self._context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self._context.load_cert_chain(certificates.cert, certificates.key)
        self.connections = 0  # TLS handshakes that succeeded
        super().__init__()
        self._tasks: set[asyncio.Future[tuple[None, None]]] = set()
        self._server = self._loop.run(
            asyncio.start_server(self._handle, "127.0.0.1", 0, ssl=self._context)
        )
        self.port = int(self._server.sockets[0].getsockname()[1])

    @property
    def endpoint_url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            up_reader, up_writer = await asyncio.open_connection(
                self.upstream_host, self.upstream_port
            )
        except OSError:
            writer.close()
            return
        both = asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))
        self._tasks.add(both)
        try:
            await both
        finally:
            self._tasks.discard(both)

    async def _close(self) -> None:
        self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._server.wait_closed()
