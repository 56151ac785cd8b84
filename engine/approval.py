"""Gold-tier approvals the operator cannot forge: an Ed25519 signature by the customer's approver.

The approver's private key never touches the ESS host. ESS shows a challenge bound to the
elevation (its id, tenant, reason, creation and expiry); the approver signs it on their own
machine (``ess approver sign``, or any Ed25519 tool over the challenge's exact bytes) and the
signature is checked against the public key enrolled for them. The facade checks it again each
time it decides whether the elevation is active, so an ``approved_by`` written into the journal
by hand approves nothing. Enrolling a key is audited; whoever could enrol one of their own could
approve, which is why the customer is told of every enrolment.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from datetime import datetime

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from engine.display import visible


class ApprovalKeyError(ValueError):
    """A key or signature that cannot be read; the message says which and in what form."""


@dataclass(frozen=True)
class ElevationFacts:
    """What a challenge binds: enough that a signature fits one elevation only."""

    id: int
    tenant: str
    reason: str
    created_at: datetime
    expires_at: datetime


def challenge(e: ElevationFacts) -> str:
    """The text the approver signs (UTF-8 bytes, exactly as shown, final newline included);
    the operator's reason is written out printable, so what is shown is what is signed."""
    reason = visible(" ".join(e.reason.split()), newlines=False)
    return (
        "ESS elevation approval v1\n"
        f"elevation: {e.id}\n"
        f"tenant: {e.tenant}\n"
        f"reason: {reason}\n"
        f"created: {e.created_at.isoformat()}\n"
        f"expires: {e.expires_at.isoformat()}\n"
    )


def public_key(text: str) -> Ed25519PublicKey:
    """An Ed25519 public key: 32 raw bytes in base64 (as ``ess approver keygen`` prints it),
    or a PEM ``PUBLIC KEY`` block."""
    text = text.strip()
    if text.startswith("-----BEGIN"):
        try:
            key = serialization.load_pem_public_key(text.encode())
        except ValueError:
            raise ApprovalKeyError("the PEM block is not a public key") from None
        if not isinstance(key, Ed25519PublicKey):
            raise ApprovalKeyError(
                "the PEM block holds a key of another kind; an Ed25519 key is needed"
            )
        return key
    raw = _b64(text, "public key")
    if len(raw) != 32:
        raise ApprovalKeyError("an Ed25519 public key is 32 bytes (44 characters of base64)")
    return Ed25519PublicKey.from_public_bytes(raw)


def public_key_text(key: Ed25519PublicKey) -> str:
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return base64.b64encode(raw).decode()


def verified(public: str, challenge_text: str, signature: str) -> bool:
    """Whether ``signature`` (base64) is the enrolled key's signature of the challenge."""
    try:
        key = public_key(public)
        key.verify(_b64(signature, "signature"), challenge_text.encode())
    except (ApprovalKeyError, InvalidSignature):
        return False
    return True


def new_private_key() -> tuple[bytes, str]:
    """A new approver key: its PEM (PKCS#8, unencrypted: keep it on the approver's machine)
    and the public key to enrol."""
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return pem, public_key_text(key.public_key())


def sign(private_pem: bytes, challenge_text: str) -> str:
    """The approver's signature of a challenge, in base64."""
    try:
        key = serialization.load_pem_private_key(private_pem, password=None)
    except (ValueError, TypeError):
        raise ApprovalKeyError("the key file is not an unencrypted PEM private key") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise ApprovalKeyError("the key file holds a key of another kind; an Ed25519 key is needed")
    return base64.b64encode(key.sign(challenge_text.encode())).decode()


def _b64(text: str, what: str) -> bytes:
    try:
        return base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise ApprovalKeyError(f"the {what} is not base64") from None
