"""The source's ``proxy`` key: every request of a read goes to the proxy named."""

from __future__ import annotations

import pytest
from ss12000_helpers import fast_retry

from adapters.kit.scripted import scripted_server
from adapters.ss12000.config import SS12000Config
from adapters.ss12000.source import SS12000Source
from engine.secrets import Secret
from engine.source import SourceError


async def test_the_source_sends_its_requests_through_its_proxy() -> None:
    async with scripted_server([(503, {}, 0.0)] * 2) as proxy:
        config = SS12000Config.model_validate(
            {
                "type": "ss12000",
                "base_url": "http://sis.example.invalid/v2.0",
                "token_url": "http://sis.example.invalid/token",
                "client_id": "ess",
                "client_secret": "env:ESS_TEST_PROXY_SECRET",
                "proxy": f"http://127.0.0.1:{proxy.port}",
            }
        )
        source = SS12000Source(config, Secret("env:X", "s"), retry=fast_retry(2))
        client = source.client()
        assert client.auth is not None
        with pytest.raises(SourceError, match="token endpoint"):
            await client.auth.header()
        await source.aclose()
    assert proxy.seen == ["POST http://sis.example.invalid/token HTTP/1.1"] * 2
