"""OAuth2 client credentials with the token renewed shortly before it expires."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import orjson

from adapters.ss12000.pages import scrub
from adapters.ss12000.transport import Http
from engine.secrets import Secret
from engine.source import SourceError


class TokenSource:
    """Fetches and caches a bearer token; one fetch at a time however many pages wait."""

    def __init__(
        self,
        http: Http,
        token_url: str,
        client_id: str,
        secret: Secret,
        scope: str | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._http = http
        self._url = token_url
        self._client_id = client_id
        self._secret = secret
        self._scope = scope
        self._clock = clock
        self._token: str | None = None
        self._renew_at = 0.0
        self._lock = asyncio.Lock()
        self.issued = 0

    async def header(self) -> str:
        if self._token is None or self._clock() >= self._renew_at:
            async with self._lock:
                if self._token is None or self._clock() >= self._renew_at:
                    await self._fetch()
        assert self._token is not None
        return f"Bearer {self._token}"

    def invalidate(self) -> None:
        """Forget the token (the server refused it); the next call fetches a new one."""
        self._token = None

    async def _fetch(self) -> None:
        form = {
            "grant_type": "client_credentials",
            "client_id": self._client_id,
            "client_secret": self._secret.reveal(),
        }
        if self._scope:
            form["scope"] = self._scope
        where = f"token endpoint {self._url}"
        started = self._clock()
        resp = await self._http.request("POST", self._url, where, data=form)
        body: object = None
        try:
            body = orjson.loads(resp.content)
        except orjson.JSONDecodeError:
            body = None
        if resp.status_code != 200:
            code = body.get("error") if isinstance(body, dict) else None
            hint = (
                "check client_id and client_secret, and that the vendor has opened access for "
                "this integration"
                if resp.status_code in (400, 401, 403)
                else "the identity server is failing"
            )
            raise SourceError(
                f"{where} refused the client credentials ({resp.status_code}"
                + (f" {scrub(str(code), 60)}" if code else "")
                + f"): {hint}"
            )
        if not isinstance(body, dict) or not isinstance(body.get("access_token"), str):
            raise SourceError(f"{where}: the answer holds no access_token")
        expires = body.get("expires_in", 3600)
        lifetime = float(expires) if isinstance(expires, int | float) and expires > 0 else 3600.0
        self._token = body["access_token"]
        # renew a little before expiry: a fifth of the lifetime, at most a minute
        self._renew_at = started + lifetime - min(60.0, lifetime / 5)
        self.issued += 1
