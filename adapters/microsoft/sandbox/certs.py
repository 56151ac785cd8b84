"""The certificate registered on the sandbox's app, for ``client_assertion`` logins.

Entra's certificate credential: a self-signed RSA certificate whose key signs the client's
assertion (RS256 with ``x5t``, PS256 with ``x5t#S256``). The server's TLS comes from the kit.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID


@dataclass(frozen=True)
class ClientCertFile:
    """The PEM file (private key + certificate) and the registered certificate."""

    path: Path
    certificate: x509.Certificate

    @property
    def thumbprint_sha1(self) -> str:
        # x5t is a SHA-1 thumbprint, whatever its age.
        return self.certificate.fingerprint(hashes.SHA1()).hex().upper()


def write_client_cert(folder: Path) -> ClientCertFile:
    """A new RSA key and self-signed certificate, written to ``folder/client.pem`` (0600)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "ESS sandbox client")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=365))
        .sign(key, hashes.SHA256())
    )
    path = folder / "client.pem"
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        + cert.public_bytes(serialization.Encoding.PEM)
    )
    path.chmod(0o600)
    return ClientCertFile(path, cert)
