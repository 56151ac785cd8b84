"""The streamable HTTP transport's front door: a bearer token compared in constant time."""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json

from starlette.types import ASGIApp, Receive, Scope, Send

MIN_TOKEN_LENGTH = 16


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _digest(value: bytes) -> bytes:
    # Hashing first makes the comparison independent of the tokens' lengths too.
    return hashlib.sha256(value).digest()


class BearerGate:
    """Lets a request through only with ``Authorization: Bearer <token>``; 401 otherwise.

    The token never appears in a response or a log line.
    """

    def __init__(self, app: ASGIApp, token: str) -> None:
        if len(token) < MIN_TOKEN_LENGTH:
            raise ValueError(f"the bearer token must be at least {MIN_TOKEN_LENGTH} characters")
        self._app = app
        self._expected = _digest(token.encode())

    def allows(self, header: bytes | None) -> bool:
        if not header:
            return False
        scheme, _, value = header.partition(b" ")
        if scheme.lower() != b"bearer":
            return False
        return hmac.compare_digest(_digest(value.strip()), self._expected)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        header = next((v for k, v in scope["headers"] if k == b"authorization"), None)
        if self.allows(header):
            await self._app(scope, receive, send)
            return
        body = json.dumps(
            {
                "error": "unauthorized",
                "message": "send the ESS MCP bearer token as 'Authorization: Bearer <token>'",
            }
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 401,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"www-authenticate", b'Bearer realm="ess-mcp"'),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
