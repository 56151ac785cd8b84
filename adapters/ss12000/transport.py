"""HTTP for the SS 12000 client and its token requests, on the kit's client.

The kit retries (adapters/kit/http.py); this says in the source's words what a request that
kept failing means, as a :class:`SourceError` naming the endpoint and page.
"""

from __future__ import annotations

import ssl
from collections.abc import Mapping
from datetime import datetime
from email.utils import parsedate_to_datetime

import httpx

from adapters.kit.http import HttpClient, NoAnswer, Params, TokenSource
from adapters.kit.retry import TRANSIENT_STATUS, Backoff, parse_retry_after
from adapters.kit.tls import ClientCert, TLSConfigError, tls_context
from engine.source import SourceError


class Http:
    """The kit's client plus the source's messages and counters for the read's stats."""

    def __init__(
        self,
        *,
        timeout_s: float,
        verify: bool | str = True,
        client_cert: ClientCert | None = None,
        policy: Backoff | None = None,
        proxy: str | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._client_cert = client_cert
        self.kit = HttpClient(
            timeout_s=timeout_s,
            verify=_tls(verify, client_cert),
            backoff=policy,
            headers={"Accept": "application/json", "User-Agent": "ess-ss12000/1"},
            proxy=proxy,
            transport=transport,
        )
        self.policy = self.kit.backoff

    @property
    def requests(self) -> int:
        return self.kit.stats.requests

    @property
    def retries(self) -> int:
        return self.kit.stats.retries

    @retries.setter
    def retries(self, value: int) -> None:
        self.kit.stats.retries = value

    @property
    def throttled(self) -> int:
        return self.kit.stats.throttled

    async def sleep(self, seconds: float) -> None:
        await self.kit.sleep(seconds)

    def _hint(self, url: str, exc: BaseException) -> str:
        """What a dropped HTTPS connection most likely means, for the message."""
        dropped = (httpx.ReadError, httpx.WriteError, httpx.RemoteProtocolError)
        if url.startswith("https://") and self._client_cert is None and isinstance(exc, dropped):
            return (
                "; the server closed the connection at or right after the TLS handshake, "
                "which is what a server that requires a client certificate does (see "
                "client_cert in docs/sources/ss12000.md)"
            )
        return ""

    async def request(
        self,
        method: str,
        url: str,
        where: str,
        *,
        params: Params = None,
        data: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        auth: TokenSource | None = None,
    ) -> httpx.Response:
        """Send with the kit's retries (every SS 12000 request, the token's too, may be sent
        twice); the last transient failure becomes a :class:`SourceError`."""
        attempts = self.policy.attempts
        try:
            resp = await self.kit.request(
                method,
                url,
                where,
                params=params,
                data=data,
                headers=headers,
                idempotent=True,
                auth=auth,
            )
        except NoAnswer as exc:
            if exc.kind == "timeout":
                raise SourceError(
                    f"{where}: no answer within the timeout after {attempts} attempts"
                ) from None
            raise SourceError(
                f"{where}: cannot reach the server after {attempts} attempts "
                f"({type(exc.cause).__name__}){self._hint(url, exc.cause)}"
            ) from None
        if resp.status_code not in TRANSIENT_STATUS:
            return resp
        wait = parse_retry_after(resp.headers.get("Retry-After"))
        if wait is not None and wait > self.policy.retry_after_cap_s:
            raise SourceError(
                f"{where}: the server asks to wait {wait:.0f} s before the next request "
                f"(status {resp.status_code}); try the read later"
            )
        raise SourceError(
            f"{where}: the server answered {resp.status_code} "
            f"{resp.reason_phrase} {attempts} times; giving up"
        )

    async def aclose(self) -> None:
        await self.kit.aclose()


def date_header(resp: httpx.Response) -> datetime | None:
    value = resp.headers.get("Date")
    if not value:
        return None
    try:
        return parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None


def _tls(verify: bool | str, client_cert: ClientCert | None) -> bool | ssl.SSLContext:
    try:
        return tls_context(verify, client_cert)
    except TLSConfigError as exc:
        raise SourceError(str(exc)) from None
