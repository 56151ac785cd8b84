"""Access tokens for a service account with domain-wide delegation, one per admin subject.

google-auth signs the JWT assertion and exchanges it at the key's ``token_uri``; that call is
blocking, so it runs in a worker thread, one refresh at a time per subject. A refusal by the
token endpoint (an unknown subject, scopes not delegated, a wrong key) is a tenant-level error
that names what to fix in the Admin console.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Mapping, Sequence
from typing import Any

import httpx

from .errors import Kind, Verdict, classify

CLASSROOM_SCOPES = (
    "https://www.googleapis.com/auth/classroom.courses",
    "https://www.googleapis.com/auth/classroom.rosters",
    "https://www.googleapis.com/auth/classroom.profile.emails",
)
DIRECTORY_SCOPES = (
    "https://www.googleapis.com/auth/admin.directory.user",
    "https://www.googleapis.com/auth/admin.directory.orgunit",
)
SCOPES = DIRECTORY_SCOPES + CLASSROOM_SCOPES
GROUP_SCOPE = "https://www.googleapis.com/auth/admin.directory.group"  # with school_groups only


class GoogleTenantError(Exception):
    """The tenant is not set up for ESS; the message says what to turn on."""

    def __init__(self, verdict: Verdict) -> None:
        super().__init__(verdict.describe())
        self.verdict = verdict


class DelegatedToken:
    """The kit HTTP client's TokenSource for one admin subject."""

    def __init__(
        self,
        key: Mapping[str, Any],
        subject: str,
        *,
        scopes: Sequence[str] = SCOPES,
        ca_path: str | None = None,
        timeout_s: float = 30.0,
    ) -> None:
        from google.oauth2 import service_account

        self.subject = subject
        info: Any = service_account.Credentials.from_service_account_info  # untyped library
        self._creds: Any = info(dict(key), scopes=list(scopes)).with_subject(subject)
        self._ca_path = ca_path
        self._timeout_s = timeout_s
        self._lock = asyncio.Lock()
        self.refreshes = 0

    def _refresh(self) -> None:
        from google.auth.exceptions import RefreshError, TransportError

        with httpx.Client(verify=self._verify(), timeout=self._timeout_s, trust_env=False) as http:
            try:
                self._creds.refresh(_Transport(http))
            except RefreshError as exc:
                body = exc.args[1] if len(exc.args) > 1 and isinstance(exc.args[1], dict) else {}
                verdict = classify(400, body)
                if verdict.kind is not Kind.TENANT:
                    verdict = Verdict(Kind.TENANT, 400, "invalid_grant", str(exc.args[0]))
                raise GoogleTenantError(verdict) from None
            except TransportError as exc:
                raise ConnectionError(f"the token endpoint did not answer: {exc}") from None
        self.refreshes += 1

    def _verify(self) -> ssl.SSLContext | bool:
        if self._ca_path:
            return ssl.create_default_context(cafile=self._ca_path)
        return True

    async def header(self) -> str:
        async with self._lock:
            if not self._creds.valid:
                await asyncio.to_thread(self._refresh)
            return f"Bearer {self._creds.token}"

    def invalidate(self) -> None:
        self._creds.token = None


class _Response:
    """google-auth's transport Response over an httpx answer."""

    def __init__(self, resp: httpx.Response) -> None:
        self.status = resp.status_code
        self.headers = dict(resp.headers)
        self.data = resp.content


class _Transport:
    """google-auth's transport Request over httpx, with the TLS trust ESS was given (the
    token endpoint is reached with the same CA as the APIs, never an ambient CA bundle)."""

    def __init__(self, http: httpx.Client) -> None:
        self._http = http

    def __call__(
        self,
        url: str,
        method: str = "GET",
        body: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: float | None = None,
        **kwargs: Any,
    ) -> _Response:
        from google.auth.exceptions import TransportError

        try:
            resp = self._http.request(
                method,
                url,
                content=body,
                headers=dict(headers or {}),
                timeout=timeout if timeout is not None else httpx.USE_CLIENT_DEFAULT,
            )
        except httpx.HTTPError as exc:
            raise TransportError(str(exc)) from exc  # type: ignore[no-untyped-call]
        return _Response(resp)
