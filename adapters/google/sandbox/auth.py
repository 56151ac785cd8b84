"""The service account and its domain-wide delegation, as Google's token endpoint checks them.

The sandbox makes one throw-away RSA key and writes it as a service-account JSON key file whose
``token_uri`` points at the sandbox. A token request is the JWT bearer grant google-auth sends:
an RS256 assertion signed with the key (``kid`` the key id), ``iss`` the service account,
``sub`` the admin to impersonate, ``scope`` the scopes asked for. ``aud`` is not checked, since
google-auth always names Google's own token URI there. Refusals are Google's: a bad signature or
an unknown key is ``invalid_grant`` "Invalid JWT Signature.", a subject that is not an admin of
the domain ``invalid_grant`` "Invalid email or User ID", scopes not delegated
``unauthorized_client``.
"""

from __future__ import annotations

import base64
import binascii
import json
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from adapters.kit.sandbox import OAuthRefusal

SKEW_S = 300.0
MAX_LIFETIME_S = 3600.0


def _b64(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


@dataclass(frozen=True)
class Grant:
    """What a token was issued for."""

    subject: str
    scopes: frozenset[str]


class ServiceAccount:
    """One service account with one key, delegated the scopes the settings name."""

    def __init__(self, project: str, token_uri: str) -> None:
        self.project = project
        self.client_email = f"ess-sync@{project}.iam.gserviceaccount.com"
        self.client_id = str(100000000000000000000 + secrets.randbelow(10**20))
        self.key_id = secrets.token_hex(20)
        self._key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.token_uri = token_uri

    def key_json(self) -> dict[str, str]:
        pem = self._key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode()
        return {
            "type": "service_account",
            "project_id": self.project,
            "private_key_id": self.key_id,
            "private_key": pem,
            "client_email": self.client_email,
            "client_id": self.client_id,
            "auth_uri": "https://accounts.google.com/o/oauth2/auth",
            "token_uri": self.token_uri,
            "universe_domain": "googleapis.com",
        }

    def write_key(self, path: Path) -> Path:
        path.write_text(json.dumps(self.key_json(), indent=2))
        path.chmod(0o600)
        return path

    def claims(self, assertion: str) -> dict[str, Any]:
        """The assertion's claims once its signature and key are checked."""
        refused = OAuthRefusal("invalid_grant", 400, "Invalid JWT Signature.")
        try:
            head, payload, signature = assertion.split(".")
            header = json.loads(_b64(head))
            claims = json.loads(_b64(payload))
            sig = _b64(signature)
        except (ValueError, binascii.Error):
            raise refused from None
        if not isinstance(header, dict) or not isinstance(claims, dict):
            raise refused
        if header.get("alg") != "RS256" or header.get("kid") not in (None, self.key_id):
            raise refused
        try:
            self._key.public_key().verify(
                sig, f"{head}.{payload}".encode(), padding.PKCS1v15(), hashes.SHA256()
            )
        except InvalidSignature:
            raise refused from None
        if claims.get("iss") != self.client_email:
            raise refused
        return claims


def jwt_bearer_grant(
    account: ServiceAccount,
    is_admin: Callable[[str], bool],
    delegated: Callable[[], tuple[str, ...]],
    issued: dict[str, Grant],
) -> Callable[[Mapping[str, str]], str]:
    """The kit token endpoint's grant for ``urn:ietf:params:oauth:grant-type:jwt-bearer``;
    remembers the grant under the assertion so the token can be tied to its subject."""

    def grant(form: Mapping[str, str]) -> str:
        assertion = form.get("assertion", "")
        claims = account.claims(assertion)
        now = time.time()
        iat, exp = float(claims.get("iat", 0)), float(claims.get("exp", 0))
        if not (iat - SKEW_S <= now < exp and exp - iat <= MAX_LIFETIME_S):
            raise OAuthRefusal(
                "invalid_grant",
                400,
                "Invalid JWT: Token must be a short-lived token (60 minutes) and in a "
                "reasonable timeframe. Check your iat and exp values in the JWT claim.",
            )
        subject = str(claims.get("sub") or "")
        if not subject or not is_admin(subject):
            raise OAuthRefusal("invalid_grant", 400, "Invalid email or User ID")
        scopes = frozenset(str(claims.get("scope", "")).split())
        if not scopes or not scopes <= set(delegated()):
            raise OAuthRefusal(
                "unauthorized_client",
                401,
                "Client is unauthorized to retrieve access tokens using this method, or client "
                "not authorized for any of the scopes requested.",
            )
        issued[assertion] = Grant(subject, scopes)
        return " ".join(sorted(scopes))

    return grant
