"""TLS for every adapter's client: which servers to trust, and the client certificate some
servers require (mutual TLS: Edlevo's integration servers, Tieto's IMS APIs).

The certificate is loaded when the source is built, so a wrong path, a broken PEM or a wrong
key password is a configuration error naming the key, before any read starts. The password is
a secret reference and never appears in a message.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from pathlib import Path

from engine.secrets import Secret


class TLSConfigError(ValueError):
    """A CA bundle or client certificate that cannot be used; names the config key."""


@dataclass(frozen=True)
class ClientCert:
    """A PEM certificate and its key (in the same file when ``key`` is None)."""

    cert: Path
    key: Path | None = None
    password: Secret | None = None


def tls_context(verify: bool | str, client: ClientCert | None = None) -> bool | ssl.SSLContext:
    """What httpx takes as ``verify``: a bool, or a context with the CA bundle to trust and
    the client certificate to present."""
    if client is None and isinstance(verify, bool):
        return verify
    try:
        if isinstance(verify, str):
            ctx = ssl.create_default_context(cafile=verify)
        else:
            ctx = ssl.create_default_context()
            if not verify:
                ctx.check_hostname = False
                ctx.verify_mode = ssl.CERT_NONE
    except (OSError, ssl.SSLError) as exc:
        raise TLSConfigError(f"verify: cannot load the CA bundle {verify} ({_why(exc)})") from None
    if client is not None:
        _load_client(ctx, client)
    return ctx


def _load_client(ctx: ssl.SSLContext, client: ClientCert) -> None:
    for key, path in (("client_cert", client.cert), ("client_key", client.key)):
        if path is not None and not path.is_file():
            raise TLSConfigError(f"{key}: no such file {path}")
    password = client.password.reveal() if client.password is not None else None
    try:
        ctx.load_cert_chain(
            str(client.cert), str(client.key) if client.key else None, password=password
        )
    except (ssl.SSLError, OSError, TypeError) as exc:
        raise TLSConfigError(_explain(client, password, exc)) from None


def _explain(client: ClientCert, password: str | None, exc: BaseException) -> str:
    """Why a certificate and key did not load: the key's password, else the files."""
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    key_file = client.key or client.cert
    try:
        load_pem_private_key(key_file.read_bytes(), password.encode() if password else None)
    except TypeError:  # an encrypted key and no password (or the reverse)
        if password is None:
            return "client_key_password: the private key is encrypted; give its password"
    except ValueError as err:
        if password is not None and "decrypt" in str(err).lower():
            return "client_key_password: the private key cannot be decrypted with this password"
    except OSError:
        pass
    where = f"its key in {client.key}" if client.key else "its key in the same file"
    return (
        f"client_cert: {client.cert} (with {where}) is not a usable PEM certificate and "
        f"private key ({_why(exc)})"
    )


def _why(exc: BaseException) -> str:
    return getattr(exc, "reason", None) or getattr(exc, "strerror", None) or str(exc)
