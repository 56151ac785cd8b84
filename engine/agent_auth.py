"""How an on-site agent proves who it is to the ingest: an HMAC-SHA256 signature per request.

Each agent has its own key (a secret reference on both sides). The signature covers the
method, the path with its query, the agent, the tenant, the time and a SHA-256 of the body,
so a request cannot be altered, moved to another tenant or upload, or sent again outside the
time window; the upload's sequence number (in the signed body of the request that opens it)
refuses a whole upload sent again inside it.

A key rather than a client certificate: municipal networks often pass outbound HTTPS through
an inspecting proxy that ends TLS, which a client certificate cannot cross and a signature in
the request does; and a key is issued, rotated and revoked in the ingest's config without a
certificate authority. TLS still protects the traffic and proves the ingest to the agent.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping

AGENT = "x-ess-agent"
TENANT = "x-ess-tenant"
TIME = "x-ess-time"
SIGNATURE = "x-ess-signature"


def signature(
    key: str, method: str, target: str, agent: str, tenant: str, when: int, body: bytes
) -> str:
    """The hex HMAC of one request; ``target`` is the path with its query."""
    text = "\n".join(
        (method.upper(), target, agent, tenant, str(when), hashlib.sha256(body).hexdigest())
    )
    return hmac.new(key.encode(), text.encode(), hashlib.sha256).hexdigest()


def signed_headers(
    key: str, method: str, target: str, agent: str, tenant: str, when: int, body: bytes
) -> dict[str, str]:
    return {
        AGENT: agent,
        TENANT: tenant,
        TIME: str(when),
        SIGNATURE: signature(key, method, target, agent, tenant, when, body),
    }


def verify(key: str, method: str, target: str, headers: Mapping[str, str], body: bytes) -> bool:
    """Whether the request's signature is the one ``key`` makes (compared in constant time)."""
    try:
        when = int(headers.get(TIME, ""))
    except ValueError:
        return False
    expected = signature(
        key, method, target, headers.get(AGENT, ""), headers.get(TENANT, ""), when, body
    )
    return hmac.compare_digest(expected, headers.get(SIGNATURE, ""))
