"""MSAL against the sandbox's token endpoint: client secret, PEM certificate, PFX certificate,
token reuse, and refusals that name the fix."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509 import load_pem_x509_certificate
from ms_support import SECRET_ENV, build_target, settings_for, small_snapshot

from adapters.microsoft.auth import AuthError, TokenProvider, load_certificate
from adapters.microsoft.sandbox import MicrosoftSandbox
from adapters.microsoft.target import MicrosoftTarget
from engine.config import TenantPolicy
from engine.plan import Action, Operation
from engine.secrets import Secret, SecretError, SecretResolver
from engine.target import OutcomeKind, TargetContext


def provider(sb: MicrosoftSandbox, **kw: object) -> TokenProvider:
    info = sb.info
    return TokenProvider(
        client_id=info.client_id,
        authority=info.authority,
        custom_authority=True,
        verify=info.ca_path,
        timeout_s=5.0,
        **kw,  # type: ignore[arg-type]
    )


async def test_client_secret_token_is_minted_once_and_reused(ms_sandbox: MicrosoftSandbox) -> None:
    tokens = provider(ms_sandbox, secret=Secret("env:X", ms_sandbox.info.client_secret))
    first = await tokens.token()
    assert first.count(".") == 2
    for _ in range(5):
        assert await tokens.token() == first
    assert tokens.minted == 1
    tokens.invalidate()
    await tokens.token()
    assert tokens.minted == 2


async def test_pem_certificate_signs_in(ms_sandbox: MicrosoftSandbox) -> None:
    info = ms_sandbox.info
    cert = load_certificate(Path(info.client_cert_path))
    assert cert.thumbprint == info.client_cert_thumbprint.upper()
    tokens = provider(ms_sandbox, certificate=cert)
    assert await tokens.token()


async def test_pfx_certificate_with_password_signs_in(
    ms_sandbox: MicrosoftSandbox, tmp_path: Path
) -> None:
    pfx = _write_pfx(Path(ms_sandbox.info.client_cert_path), tmp_path / "client.pfx")
    loaded = load_certificate(pfx, Secret("env:P", "pfx-pass"))
    assert await provider(ms_sandbox, certificate=loaded).token()
    with pytest.raises(AuthError, match="certificate_password"):
        load_certificate(pfx, Secret("env:P", "wrong"))


async def test_wrong_secret_names_the_fix_and_hides_the_secret(
    ms_sandbox: MicrosoftSandbox,
) -> None:
    tokens = provider(ms_sandbox, secret=Secret("env:X", "not-the-secret"))
    with pytest.raises(AuthError) as caught:
        await tokens.token()
    text = str(caught.value)
    assert "AADSTS7000215" in text
    assert "client_secret" in text
    assert "not-the-secret" not in text


async def test_target_with_certificate_config_syncs(ms_sandbox: MicrosoftSandbox) -> None:
    info = ms_sandbox.info
    target = build_target(info, client_secret=None, certificate_path=info.client_cert_path)
    try:
        ctx = TargetContext("t", 1, lambda kind, key: None)
        outcomes = await target.apply(target.batches(_school_creates(target))[0], ctx)
        assert all(o.kind is OutcomeKind.DONE for o in outcomes)
        assert len(ms_sandbox.state()["schools"]) == 2
    finally:
        await target.aclose()


async def test_refused_sign_in_is_fatal_for_the_batch(ms_sandbox: MicrosoftSandbox) -> None:
    info = ms_sandbox.info
    target = build_target(info)
    target.client.tokens._secret = Secret(f"env:{SECRET_ENV}", "wrong")  # a revoked secret
    try:
        batch = target.batches(_school_creates(target))[0]
        outcomes = await target.apply(batch, TargetContext("t", 1, lambda kind, key: None))
        assert {o.kind for o in outcomes} == {OutcomeKind.FATAL}
        assert "client secret" in outcomes[0].message
    finally:
        await target.aclose()


def test_secret_reference_must_resolve(ms_sandbox: MicrosoftSandbox) -> None:
    with pytest.raises(SecretError, match=SECRET_ENV):
        MicrosoftTarget.from_config(
            "m", settings_for(ms_sandbox.info), TenantPolicy(), SecretResolver(environ={})
        )


def _write_pfx(pem_path: Path, pfx: Path) -> Path:
    """The sandbox's PEM client certificate as a password-protected PFX."""
    pem = pem_path.read_bytes()
    key = serialization.load_pem_private_key(pem, None)
    cert = load_pem_x509_certificate(pem[pem.index(b"-----BEGIN CERTIFICATE") :])
    pfx.write_bytes(
        pkcs12.serialize_key_and_certificates(
            b"ess",
            key,
            cert,
            None,  # type: ignore[arg-type]
            serialization.BestAvailableEncryption(b"pfx-pass"),
        )
    )
    return pfx


def _school_creates(target: MicrosoftTarget) -> list[Operation]:
    state = target.desired(small_snapshot())
    return [
        Operation(
            seq=i,
            target="microsoft",
            action=Action.CREATE,
            kind="school",
            key=key,
            attrs=obj.attrs,
            fingerprint=obj.fingerprint,
            attempts=1,
        )
        for i, (key, obj) in enumerate(state.objects["school"].items(), start=1)
    ]
