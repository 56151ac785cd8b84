"""The kit's throw-away CA: a client that trusts the CA file gets through, others do not."""

from __future__ import annotations

import ssl
from pathlib import Path

import httpx
import pytest
from kit_support import Counter, counter_app

from adapters.kit.sandbox import SandboxError, SandboxServer, make_tls


def test_an_httpx_client_trusting_the_ca_file_talks_https(tmp_path: Path) -> None:
    tls = make_tls(tmp_path)
    with SandboxServer(counter_app(Counter()), tls=tls) as server:
        assert server.base_url.startswith("https://127.0.0.1:")
        trusted = httpx.post(
            f"{server.base_url}/count", verify=ssl.create_default_context(cafile=tls.ca_path)
        )
        by_name = httpx.post(
            server.base_url.replace("127.0.0.1", "localhost") + "/count",
            verify=ssl.create_default_context(cafile=tls.ca_path),
        )
        with pytest.raises(httpx.ConnectError):
            httpx.post(f"{server.base_url}/count")  # the system's CAs do not know this one
    assert (trusted.status_code, by_name.status_code) == (200, 200)
    assert oct(tls.server_key_path.stat().st_mode & 0o777) == "0o600"


def test_a_required_client_certificate_is_checked_in_the_handshake(tmp_path: Path) -> None:
    tls = make_tls(tmp_path)
    client_pem = tls.issue_client_cert("ess-client.example")
    server = SandboxServer(counter_app(Counter()), tls=tls, require_client_cert=True)
    with server:
        with_cert = ssl.create_default_context(cafile=tls.ca_path)
        with_cert.load_cert_chain(client_pem)
        assert httpx.post(f"{server.base_url}/count", verify=with_cert).status_code == 200
        with pytest.raises((httpx.ConnectError, httpx.ReadError, httpx.RemoteProtocolError)):
            httpx.post(
                f"{server.base_url}/count", verify=ssl.create_default_context(cafile=tls.ca_path)
            )


def test_requiring_a_client_certificate_without_tls_is_refused() -> None:
    with pytest.raises(SandboxError, match="over TLS"):
        SandboxServer(counter_app(Counter()), require_client_cert=True)
