"""The streamable HTTP transport's front door: named bearer tokens compared in constant time.

Each token has a name (``[mcp.tokens.NAME]``); the gate puts the name of the token a request
carried in the request's scope (:data:`TOKEN_SCOPE_KEY`), and the tools audit the request's
writes under it. The tokens are read again when ess.toml changes, so a token removed or
``revoked = true`` is refused from its next request on, without a restart; a configuration that
can no longer be read lets no token in until it is fixed.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import logging
from collections.abc import Callable, Mapping

from starlette.types import ASGIApp, Receive, Scope, Send

MIN_TOKEN_LENGTH = 16
TOKEN_SCOPE_KEY = "ess.mcp_token"
"""The ASGI scope key holding the name of the token a request was let in with."""

log = logging.getLogger(__name__)


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


def _digests(tokens: Mapping[str, str]) -> dict[str, bytes]:
    for name, token in tokens.items():
        if len(token) < MIN_TOKEN_LENGTH:
            raise ValueError(
                f"the bearer token {name!r} must be at least {MIN_TOKEN_LENGTH} characters"
            )
    return {name: _digest(token.encode()) for name, token in tokens.items()}


class TokenRing:
    """The named tokens the gate lets in: ``load()`` gives name -> token, and is called again
    whenever ``stamp()`` (ess.toml's modification time and size) changes."""

    def __init__(
        self,
        load: Callable[[], Mapping[str, str]],
        stamp: Callable[[], object] = lambda: None,
    ) -> None:
        self._load, self._stamp_of = load, stamp
        self._stamp = stamp()
        self._digests = _digests(load())  # at start a bad configuration is an error

    @classmethod
    def single(cls, token: str, name: str = "default") -> TokenRing:
        return cls(lambda: {name: token})

    def _refresh(self) -> None:
        stamp = self._stamp_of()
        if stamp == self._stamp:
            return
        self._stamp = stamp
        try:
            self._digests = _digests(self._load())
        except Exception as exc:  # any failure to read them must fail closed
            self._digests = {}
            log.warning("MCP tokens could not be read again, none is let in: %s", exc)

    def identify(self, header: bytes | None) -> str | None:
        """The name of the token ``header`` carries, or ``None``. Every token is compared (in
        constant time each), so the answer's timing does not say which one nearly matched."""
        if not header:
            return None
        scheme, _, value = header.partition(b" ")
        if scheme.lower() != b"bearer":
            return None
        self._refresh()
        presented = _digest(value.strip())
        found = None
        for name, expected in self._digests.items():
            if hmac.compare_digest(presented, expected) and found is None:
                found = name
        return found


class BearerGate:
    """Lets a request through only with ``Authorization: Bearer <token>`` of a named token,
    and records the token's name in the scope; 401 otherwise.

    The token never appears in a response or a log line.
    """

    def __init__(self, app: ASGIApp, tokens: TokenRing | str) -> None:
        self._app = app
        self._ring = TokenRing.single(tokens) if isinstance(tokens, str) else tokens

    def allows(self, header: bytes | None) -> bool:
        return self._ring.identify(header) is not None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        header = next((v for k, v in scope["headers"] if k == b"authorization"), None)
        name = self._ring.identify(header)
        if name is not None:
            scope[TOKEN_SCOPE_KEY] = name
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
