"""HTTP with bounded retries for the SS 12000 client and its token requests.

Retries transport errors, 429 and 5xx (Retry-After honoured, otherwise exponential backoff with
full jitter). Anything else is returned to the caller, which knows what it means.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Mapping, Sequence
from datetime import datetime
from email.utils import parsedate_to_datetime

import httpx

from adapters.ss12000.retry import RETRY_STATUS, RetryPolicy, parse_retry_after
from adapters.ss12000.tls import ClientCert, TLSConfigError, tls_context
from engine.source import SourceError


class Http:
    """An httpx client plus retry policy and counters for the read's stats."""

    def __init__(
        self,
        *,
        timeout_s: float,
        verify: bool | str = True,
        client_cert: ClientCert | None = None,
        policy: RetryPolicy | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.policy = policy or RetryPolicy()
        self._client_cert = client_cert
        self.client = httpx.AsyncClient(
            timeout=httpx.Timeout(timeout_s, connect=min(timeout_s, 15.0)),
            verify=_tls(verify, client_cert),
            headers={"Accept": "application/json", "User-Agent": "ess-ss12000/1"},
            transport=transport,
            follow_redirects=False,
        )
        self.requests = 0
        self.retries = 0
        self.throttled = 0

    def _hint(self, url: str, exc: httpx.TransportError) -> str:
        """What a dropped HTTPS connection most likely means, for the message."""
        dropped = (httpx.ReadError, httpx.WriteError, httpx.RemoteProtocolError)
        if url.startswith("https://") and self._client_cert is None and isinstance(exc, dropped):
            return (
                "; the server closed the connection at or right after the TLS handshake, "
                "which is what a server that requires a client certificate does (see "
                "client_cert in docs/sources/ss12000.md)"
            )
        return ""

    async def sleep(self, seconds: float) -> None:
        await (self.policy.sleep or asyncio.sleep)(seconds)

    async def request(
        self,
        method: str,
        url: str,
        where: str,
        *,
        params: Mapping[str, str] | Sequence[tuple[str, str]] | None = None,
        data: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        """Send with retries; the last transient failure becomes a :class:`SourceError`."""
        policy = self.policy
        for attempt in range(policy.attempts):
            last = attempt == policy.attempts - 1
            self.requests += 1
            try:
                resp = await self.client.request(
                    method,
                    url,
                    params=_query(params),
                    data=data,
                    headers=headers,
                )
            except httpx.TimeoutException:
                if last:
                    raise SourceError(
                        f"{where}: no answer within the timeout after {policy.attempts} attempts"
                    ) from None
                await self._wait(attempt, None)
                continue
            except httpx.TransportError as exc:
                if last:
                    raise SourceError(
                        f"{where}: cannot reach the server after {policy.attempts} attempts "
                        f"({type(exc).__name__}){self._hint(url, exc)}"
                    ) from None
                await self._wait(attempt, None)
                continue
            if resp.status_code not in RETRY_STATUS:
                return resp
            if resp.status_code == 429:
                self.throttled += 1
            retry_after = resp.headers.get("Retry-After")
            wait = parse_retry_after(retry_after)
            if wait is not None and wait > policy.retry_after_cap_s:
                raise SourceError(
                    f"{where}: the server asks to wait {wait:.0f} s before the next request "
                    f"(status {resp.status_code}); try the read later"
                )
            if last:
                raise SourceError(
                    f"{where}: the server answered {resp.status_code} "
                    f"{resp.reason_phrase} {policy.attempts} times; giving up"
                )
            await self._wait(attempt, retry_after)
        raise AssertionError("unreachable")  # pragma: no cover

    async def _wait(self, attempt: int, retry_after: str | None) -> None:
        self.retries += 1
        await self.sleep(self.policy.delay(attempt, retry_after))

    async def aclose(self) -> None:
        await self.client.aclose()


def date_header(resp: httpx.Response) -> datetime | None:
    value = resp.headers.get("Date")
    if not value:
        return None
    try:
        return parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None


def _query(
    params: Mapping[str, str] | Sequence[tuple[str, str]] | None,
) -> httpx.QueryParams | None:
    if params is None:
        return None
    return httpx.QueryParams(params if isinstance(params, Mapping) else tuple(params))


def _tls(verify: bool | str, client_cert: ClientCert | None) -> bool | ssl.SSLContext:
    try:
        return tls_context(verify, client_cert)
    except TLSConfigError as exc:
        raise SourceError(str(exc)) from None
