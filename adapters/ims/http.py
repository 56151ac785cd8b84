"""The IMS source's HTTPS form: the documents of one complete export fetched from Tieto's
Organization, Person and Personnel APIs.

Each address in ``urls`` answers one IMS Enterprise XML document; the API key goes in the
header ``api_key_header`` and the client certificate is presented for mutual TLS, as
Tieto's integration servers require. An answer ESS cannot use (a refused key or
certificate, a server error after the kit's retries, no answer) stops the read with one
:class:`SourceError` naming the address (never the key), so nothing of that read is used.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from adapters.kit.dates import http_date
from adapters.kit.http import HttpClient, NoAnswer
from engine.secrets import Secret
from engine.source import SourceError

XML_TYPES = ("xml", "octet-stream")  # text/xml, application/xml, a bare download


@dataclass
class Fetched:
    """Each address and the document it answered, in the order given, and the server's
    clock at the first answer (its ``Date`` header; None when it sent none)."""

    documents: list[tuple[str, bytes]] = field(default_factory=list)
    server_time: datetime | None = None


async def fetch_documents(
    client: HttpClient,
    urls: tuple[str, ...],
    header: str,
    key: Secret,
    params: Mapping[str, str] | None = None,
) -> Fetched:
    """Each address's document, in the order given (``params`` added to each request)."""
    out = Fetched()
    for url in urls:
        where = f"IMS API {url}"
        try:
            resp = await client.request(
                "GET",
                url,
                where,
                headers={header: key.reveal(), "Accept": "application/xml"},
                params=dict(params) if params else None,
            )
        except NoAnswer as exc:
            raise SourceError(
                f"{where}: no answer ({exc.kind} after {exc.attempts} attempt(s))"
            ) from None
        status = resp.status_code
        if status in (401, 403):
            raise SourceError(
                f"{where} refused the request ({status}): check api_key and that the client "
                "certificate is the one the vendor registered for this integration"
            )
        if status != 200:
            raise SourceError(f"{where} answered {status}; nothing of this read is used")
        kind = resp.headers.get("content-type", "").lower()
        if kind and not any(t in kind for t in XML_TYPES):
            raise SourceError(f"{where}: the answer is {kind[:60]}, not an XML document")
        if out.server_time is None:
            out.server_time = http_date(resp.headers.get("date"))
        out.documents.append((url, resp.content))
    return out
