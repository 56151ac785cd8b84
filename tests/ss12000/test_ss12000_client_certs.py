"""Mutual TLS: a server that requires a client certificate (Edlevo's integration servers) is
read with the configured certificate, refused without it, and a certificate that cannot be
used is a configuration error naming the key, never showing the key's password."""

from __future__ import annotations

from pathlib import Path

import pytest
import trustme
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import load_pem_private_key
from ss12000_helpers import context, same_snapshot

from adapters.ss12000.sample.dataset import Dataset
from adapters.ss12000.sandbox import SandboxInfo, SandboxSettings, SS12000Sandbox
from adapters.ss12000.source import SS12000ConfigError, SS12000Source
from engine.secrets import SecretResolver
from engine.source import SourceError

PASSWORD = "kalle-anka-1934"


def settings(info: SandboxInfo, **more: str) -> dict[str, str]:
    return {
        "type": "ss12000",
        "base_url": info.base_url,
        "token_url": info.token_url,
        "client_id": info.client_id,
        "client_secret": "env:SS12000_TEST_SECRET",
        "verify": info.ca_cert or "",
        **more,
    }


def resolver(info: SandboxInfo, base_dir: Path) -> SecretResolver:
    return SecretResolver(
        environ={"SS12000_TEST_SECRET": info.client_secret, "KEY_PASSWORD": PASSWORD},
        base_dir=base_dir,
    )


async def test_a_server_that_requires_a_client_certificate_is_read_with_one(
    small_dataset: Dataset, tmp_path: Path
) -> None:
    async with SS12000Sandbox(small_dataset, settings=SandboxSettings(client_certs=True)) as sb:
        info = sb.info
        assert info.base_url.startswith("https://") and info.client_cert and info.ca_cert
        assert '"client_cert"' in info.to_json()

        # the certificate and its key in one PEM, as the sandbox hands it out
        source = SS12000Source.from_config(
            settings(info, client_cert=info.client_cert), resolver(info, tmp_path)
        )
        read = await source.read(context())
        await source.aclose()
        assert read.snapshot.counts()["persons"] == small_dataset.counts()["persons"]

        # apart, with the key encrypted, and paths relative to the configuration's folder
        pem = Path(info.client_cert).read_bytes()
        key = load_pem_private_key(pem, password=None)
        (tmp_path / "key.pem").write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.BestAvailableEncryption(PASSWORD.encode()),
            )
        )
        start = pem.index(b"-----BEGIN CERTIFICATE-----")
        (tmp_path / "cert.pem").write_bytes(pem[start:])
        apart = SS12000Source.from_config(
            settings(
                info,
                client_cert="cert.pem",
                client_key="key.pem",
                client_key_password="env:KEY_PASSWORD",
            ),
            resolver(info, tmp_path),
        )
        again = await apart.read(context())
        await apart.aclose()
        same_snapshot(read.snapshot, again.snapshot)

        # without a certificate the server refuses the handshake: one clear error
        bare = SS12000Source.from_config(settings(info), resolver(info, tmp_path))
        with pytest.raises(SourceError) as refused:
            await bare.read(context())
        await bare.aclose()
        assert "requires a client certificate" in str(refused.value)
        assert "client_cert" in str(refused.value)


def test_a_certificate_that_cannot_be_used_is_a_config_error(
    small_dataset: Dataset, tmp_path: Path
) -> None:
    ca = trustme.CA()
    leaf = ca.issue_cert("ess-client.example")
    leaf.private_key_and_cert_chain_pem.write_to_path(str(tmp_path / "both.pem"))
    leaf.cert_chain_pems[0].write_to_path(str(tmp_path / "cert-only.pem"))
    (tmp_path / "key.pem").write_bytes(
        load_pem_private_key(leaf.private_key_pem.bytes(), password=None).private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(PASSWORD.encode()),
        )
    )
    info = SandboxInfo("https://127.0.0.1:1/api", "https://127.0.0.1:1/token", "c", "s", "generic")

    def problem(**more: str) -> str:
        with pytest.raises(SS12000ConfigError) as err:
            SS12000Source.from_config(
                {**settings(info), "verify": True, **more},  # type: ignore[dict-item]
                SecretResolver(
                    environ={"SS12000_TEST_SECRET": "s", "WRONG": "not-it", "KEY_PASSWORD": ""},
                    base_dir=tmp_path,
                ),
            )
        text = str(err.value)
        assert PASSWORD not in text and "not-it" not in text
        return text

    assert "client_cert: no such file" in problem(client_cert="missing.pem")
    assert "client_key: no such file" in problem(client_cert="cert-only.pem", client_key="no.pem")
    assert "client_cert:" in problem(client_cert="cert-only.pem")  # no key anywhere
    assert "client_key_password" in problem(
        client_cert="cert-only.pem", client_key="key.pem", client_key_password="env:WRONG"
    )
    assert "client_key_password" in problem(
        client_cert="cert-only.pem", client_key="key.pem", client_key_password="env:NOT_SET"
    )
    assert "need client_cert" in problem(client_key="key.pem")
    # and the good one loads
    ok = SS12000Source.from_config(
        {**settings(info), "verify": True, "client_cert": "both.pem"},  # type: ignore[dict-item]
        SecretResolver(environ={"SS12000_TEST_SECRET": "s"}, base_dir=tmp_path),
    )
    assert ok._client_cert is not None
