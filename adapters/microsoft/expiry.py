"""When the Microsoft target's credentials run out: the app registration's client secrets and
certificates as Graph reports them (``GET /applications?$filter=appId eq '…'``:
``passwordCredentials`` and ``keyCredentials`` with their ``endDateTime``). That read needs
Application.Read.All; without it nothing is known, and ``ess target check`` says so."""

from __future__ import annotations

from datetime import UTC, datetime

from engine.target import CredentialExpiry

from .auth import AuthError
from .client import GraphClient, GraphUnavailable
from .config import MicrosoftConfig

SECRET_FIX = (
    "create a new client secret for the app registration (Certificates & secrets), put it "
    "where client_secret points, and remove the old one"
)
CERT_FIX = "upload a new certificate to the app registration and point certificate_path at it"


def _when(text: object) -> datetime | None:
    if not isinstance(text, str) or not text:
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


async def app_expiries(client: GraphClient, config: MicrosoftConfig) -> list[CredentialExpiry]:
    """The app registration's secrets and certificates with their end dates, as Graph serves
    them; empty when Graph does not let the app read its registration."""
    try:
        resp = await client.get_json(
            f"applications?$filter=appId eq '{config.client_id}'"
            "&$select=id,appId,displayName,passwordCredentials,keyCredentials"
        )
    except (GraphUnavailable, AuthError):
        return []
    apps = resp.body.get("value", []) if resp.ok and isinstance(resp.body, dict) else []
    out: list[CredentialExpiry] = []
    for app in apps[:1]:
        for secret in app.get("passwordCredentials") or []:
            end = _when(secret.get("endDateTime"))
            if end is not None:
                name = secret.get("displayName") or secret.get("hint") or "client secret"
                out.append(CredentialExpiry(f"client secret '{name}' of the app", end, SECRET_FIX))
        for cert in app.get("keyCredentials") or []:
            end = _when(cert.get("endDateTime"))
            if end is not None:
                name = cert.get("displayName") or "certificate"
                out.append(CredentialExpiry(f"certificate '{name}' of the app", end, CERT_FIX))
    return out
