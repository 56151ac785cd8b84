"""App-only tokens for Graph through MSAL (client secret or certificate).

MSAL is synchronous, so tokens are minted off the event loop (``asyncio.to_thread``). One MSAL
application lives as long as the target, so its token cache is reused; on top of it the current
token is kept in memory and replaced shortly before it expires, so most requests cost no thread
hop at all.
"""

from __future__ import annotations

import asyncio
import functools
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msal
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.serialization import pkcs12

from adapters.kit.token_cache import TokenCache
from engine.secrets import Secret

GRAPH_SCOPE = "https://graph.microsoft.com/.default"
REFRESH_MARGIN_S = 300.0  # renew this long before expiry (less for short-lived tokens)


class AuthError(Exception):
    """Graph refused the app's credentials; the message names the fix and holds no secret."""

    def __init__(self, message: str, *, transient: bool = False) -> None:
        super().__init__(message)
        self.transient = transient


@dataclass(frozen=True)
class Certificate:
    """A client certificate ready for MSAL: PEM private key and its SHA-1 thumbprint."""

    private_key_pem: str
    thumbprint: str

    def credential(self) -> dict[str, str]:
        return {"private_key": self.private_key_pem, "thumbprint": self.thumbprint}


def load_certificate(
    path: Path, password: Secret | None = None, thumbprint: str | None = None
) -> Certificate:
    """Read a PEM (key and certificate) or PFX/P12 file; the thumbprint is computed when absent."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise AuthError(f"cannot read certificate_path {path}: {exc.strerror}") from None
    secret = password.reveal().encode() if password is not None else None
    cert: x509.Certificate | None
    try:
        if path.suffix.lower() in (".pfx", ".p12"):
            key, cert, _ = pkcs12.load_key_and_certificates(data, secret)
        else:
            key = serialization.load_pem_private_key(_pem_block(data, "PRIVATE KEY"), secret)
            cert_block = _pem_block(data, "CERTIFICATE", required=False)
            cert = x509.load_pem_x509_certificate(cert_block) if cert_block else None
    except (ValueError, TypeError) as exc:
        raise AuthError(
            f"certificate_path {path} cannot be read as a private key and certificate "
            f"({type(exc).__name__}); check the file and certificate_password"
        ) from None
    if key is None:
        raise AuthError(f"certificate_path {path} holds no private key")
    if thumbprint is None:
        if cert is None:
            raise AuthError(
                f"certificate_path {path} holds no certificate; add it or set "
                "certificate_thumbprint"
            )
        thumbprint = cert.fingerprint(hashes.SHA1()).hex()  # x5t is a SHA-1 thumbprint
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    return Certificate(pem, thumbprint.replace(":", "").upper())


def _pem_block(data: bytes, label: str, *, required: bool = True) -> bytes:
    match = re.search(
        rb"-----BEGIN ([A-Z ]*)"
        + label.encode()
        + rb"-----.+?-----END \1"
        + label.encode()
        + rb"-----",
        data,
        re.S,
    )
    if match is None:
        if required:
            raise ValueError(f"no {label} block")
        return b""
    return match.group(0)


# AADSTS codes -> what to do about them (reference §5.2; wording ours).
_FIXES = {
    7000215: "the client secret is wrong: create a new client secret for the app registration "
    "and update client_secret",
    7000222: "the client secret has expired: create a new client secret and update client_secret",
    700016: "no app with this client_id in the tenant: check client_id and tenant_id, and that "
    "an administrator has granted admin consent",
    90002: "the tenant was not found: check tenant_id",
    700027: "the certificate is not registered on the app: upload the certificate to the app "
    "registration (Certificates & secrets) or fix certificate_thumbprint",
    700024: "the client assertion is outside its valid time: check the clock of this machine",
    65001: "admin consent is missing: grant admin consent for the app's application permissions",
}


def explain_token_error(result: dict[str, Any]) -> str:
    codes = result.get("error_codes") or []
    for code in codes:
        if code in _FIXES:
            return f"Microsoft Entra refused the sign-in (AADSTS{code}): {_FIXES[code]}"
    error = str(result.get("error", "unknown_error"))
    description = str(result.get("error_description", "")).split(" Trace ID:")[0]
    return f"Microsoft Entra refused the sign-in ({error}): {description}"


def _pinned_session(ca_path: str, timeout_s: float) -> Any:
    """A requests session that trusts exactly ``ca_path``.

    requests lets REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE override a session's ``verify``, so the
    environment is not trusted; proxies from the environment are copied over explicitly.
    """
    import urllib.request

    import requests

    session = requests.Session()
    session.trust_env = False
    session.verify = ca_path
    session.proxies.update(urllib.request.getproxies())
    session.request = functools.partial(session.request, timeout=timeout_s)  # type: ignore[method-assign]
    return session


class TokenProvider:
    """Bearer tokens for Graph, minted by one long-lived MSAL confidential client."""

    def __init__(
        self,
        *,
        client_id: str,
        authority: str,
        custom_authority: bool,
        secret: Secret | None = None,
        certificate: Certificate | None = None,
        verify: str | bool = True,
        timeout_s: float = 30.0,
    ) -> None:
        if (secret is None) == (certificate is None):
            raise AuthError("give exactly one credential: a client secret or a certificate")
        self._client_id = client_id
        self._authority = authority
        self._custom = custom_authority
        self._secret = secret
        self._certificate = certificate
        self._verify = verify
        self._timeout = timeout_s
        self._app: Any = None
        self._cache = TokenCache()

    @property
    def minted(self) -> int:
        """Tokens fetched from the token endpoint or MSAL's cache."""
        return self._cache.fetched

    def _build_app(self) -> Any:
        credential: Any = (
            self._secret.reveal() if self._secret is not None else self._certificate.credential()  # type: ignore[union-attr]
        )
        kwargs: dict[str, Any] = {}
        if self._custom:
            kwargs.update(instance_discovery=False, validate_authority=False)
        if isinstance(self._verify, str):
            kwargs["http_client"] = _pinned_session(self._verify, self._timeout)
        return msal.ConfidentialClientApplication(
            self._client_id,
            client_credential=credential,
            authority=self._authority,
            verify=self._verify,
            timeout=self._timeout,
            **kwargs,
        )

    def _acquire(self) -> dict[str, Any]:
        try:
            if self._app is None:
                self._app = self._build_app()
            result = self._app.acquire_token_for_client(scopes=[GRAPH_SCOPE])
        except ValueError as exc:  # MSAL: bad authority, unreadable key
            raise AuthError(f"cannot sign in to {self._authority}: {exc}") from None
        except Exception as exc:  # requests' connection errors and the like
            raise AuthError(
                f"cannot reach the sign-in service at {self._authority} ({type(exc).__name__})",
                transient=True,
            ) from None
        return dict(result or {})

    async def token(self) -> str:
        """A valid access token, renewed before it expires."""
        return await self._cache.get(self._mint)

    async def _mint(self) -> tuple[str, float]:
        result = await asyncio.to_thread(self._acquire)
        if "access_token" not in result:
            self._app = None  # MSAL caches OAuth errors for identical requests; start clean
            raise AuthError(explain_token_error(result))
        lifetime = float(result.get("expires_in") or 3599)
        margin = min(REFRESH_MARGIN_S, lifetime / 2)
        return str(result["access_token"]), time.monotonic() + lifetime - margin

    def invalidate(self) -> None:
        """Graph refused the token: forget it and MSAL's cache, so the next call mints anew."""
        self._cache.forget()
        self._app = None
