"""Key material of one sandbox: a test CA, the server certificate and a client certificate.

MSAL insists on an https authority, so the sandbox serves TLS with a certificate from a
throw-away CA (trustme); clients trust it through ``verify=ca_path``. The client certificate is a
self-signed RSA certificate registered on the sandbox's app, for ``client_assertion`` logins.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import trustme
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID


@dataclass(frozen=True)
class CertFiles:
    """Paths of the written PEM files and the registered client certificate."""

    ca_path: Path
    server_cert_path: Path
    server_key_path: Path
    client_cert_path: Path
    client_cert: x509.Certificate

    @property
    def client_thumbprint_sha1(self) -> str:
        # x5t is a SHA-1 thumbprint, whatever its age.
        return self.client_cert.fingerprint(hashes.SHA1()).hex().upper()


def _client_certificate() -> tuple[rsa.RSAPrivateKey, x509.Certificate]:
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
    return key, cert


def write_cert_files(workdir: Path, hosts: tuple[str, ...]) -> CertFiles:
    """Create the CA, a server certificate for ``hosts`` and a client certificate in ``workdir``."""
    workdir.mkdir(parents=True, exist_ok=True)
    ca = trustme.CA(organization_name="ESS sandbox test CA")
    server = ca.issue_cert(*hosts)
    ca_path = workdir / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_path))
    server_cert_path = workdir / "server.pem"
    server_key_path = workdir / "server.key"
    server.cert_chain_pems[0].write_to_path(str(server_cert_path))
    for extra in server.cert_chain_pems[1:]:
        extra.write_to_path(str(server_cert_path), append=True)
    server.private_key_pem.write_to_path(str(server_key_path))
    key, cert = _client_certificate()
    client_cert_path = workdir / "client.pem"
    client_cert_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        + cert.public_bytes(serialization.Encoding.PEM)
    )
    for path in (server_key_path, client_cert_path):
        path.chmod(0o600)
    return CertFiles(ca_path, server_cert_path, server_key_path, client_cert_path, cert)
