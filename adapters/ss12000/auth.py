"""OAuth2 client credentials with the token renewed shortly before it expires."""

from __future__ import annotations

import time
from collections.abc import Callable

import orjson

from adapters.kit.token_cache import TokenCache
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
        self._cache = TokenCache(clock)

    @property
    def issued(self) -> int:
        return self._cache.fetched

    async def header(self) -> str:
        return f"Bearer {await self._cache.get(self._fetch)}"

    def invalidate(self) -> None:
        """Forget the token (the server refused it); the next call fetches a new one."""
        self._cache.forget()

    async def _fetch(self) -> tuple[str, float]:
        form = {
            "grant_type": "client_credentials",
            "client_id": self._client_id,
            "client_secret": self._secret.reveal(),
        }
        if self._scope:
            form["scope"] = self._scope
        where = f"token endpoint {self._url}"
        started = self._cache.clock()
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
        # renew a little before expiry: a fifth of the lifetime, at most a minute
        return body["access_token"], started + lifetime - min(60.0, lifetime / 5)
