"""Throw-away TLS for a sandbox: a test CA (trustme), a server certificate for loopback, and the
CA file that clients trust.

MSAL insists on an https authority and some services require mutual TLS, so a sandbox serves
HTTPS with a certificate from a CA made for this run only; a client passes ``verify=ca_path``.
The files live in a folder the sandbox owns and removes when it stops.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import trustme

LOOPBACK_NAMES = ("127.0.0.1", "localhost")


@dataclass(frozen=True)
class SandboxTLS:
    """The PEM files of one sandbox's TLS, and the CA that can issue more certificates."""

    folder: Path
    ca_path: Path
    server_cert_path: Path  # the chain, leaf first
    server_key_path: Path
    ca: trustme.CA

    def issue_client_cert(self, name: str, filename: str = "client.pem") -> Path:
        """A client certificate for ``name`` from the same CA, key and chain in one PEM file
        (what a mutual-TLS client presents)."""
        path = self.folder / filename
        self.ca.issue_cert(name).private_key_and_cert_chain_pem.write_to_path(str(path))
        path.chmod(0o600)
        return path


def make_tls(
    folder: Path, hosts: tuple[str, ...] = (), organisation: str = "ESS sandbox"
) -> SandboxTLS:
    """Write a new CA and a server certificate for loopback (and ``hosts``) into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    ca = trustme.CA(organization_name=f"{organisation} test CA")
    names = tuple(
        dict.fromkeys((*LOOPBACK_NAMES, *(h for h in hosts if h not in ("0.0.0.0", "::"))))
    )
    server = ca.issue_cert(*names)
    ca_path = folder / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_path))
    cert_path = folder / "server.pem"
    key_path = folder / "server.key"
    server.cert_chain_pems[0].write_to_path(str(cert_path))
    for extra in server.cert_chain_pems[1:]:
        extra.write_to_path(str(cert_path), append=True)
    server.private_key_pem.write_to_path(str(key_path))
    key_path.chmod(0o600)
    return SandboxTLS(folder, ca_path, cert_path, key_path, ca)


class Workdir:
    """A sandbox's folder: the one it was given (kept), or a temporary one (removed on close)."""

    def __init__(self, given: Path | None, prefix: str) -> None:
        self._given = given
        self._prefix = prefix
        self._path: Path | None = None

    @property
    def path(self) -> Path:
        if self._path is None:
            self._path = (
                self._given
                if self._given is not None
                else Path(tempfile.mkdtemp(prefix=self._prefix))
            )
        return self._path

    def close(self) -> None:
        if self._given is None and self._path is not None:
            shutil.rmtree(self._path, ignore_errors=True)
        self._path = None
