"""Entra side: real MSAL logins (secret and certificate), Entra-style refusals, Graph 401s."""

from __future__ import annotations

import datetime as dt
import ssl
import time

import httpx
import jwt
import msal
import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from adapters.microsoft.sandbox import MicrosoftSandbox, SandboxInfo

SCOPES = ["https://graph.microsoft.com/.default"]


def _app(
    info: SandboxInfo, credential: object, session: requests.Session, client_id: str = ""
) -> msal.ConfidentialClientApplication:
    return msal.ConfidentialClientApplication(
        client_id or info.client_id,
        client_credential=credential,
        authority=info.authority,
        instance_discovery=False,
        validate_authority=False,
        http_client=session,
    )


def _other_certificate() -> tuple[str, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "not registered")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    return pem, cert.fingerprint(hashes.SHA1()).hex()


def _graph_get(info: SandboxInfo, tls: ssl.SSLContext, access_token: str) -> httpx.Response:
    return httpx.get(
        f"{info.graph_url}/users", headers={"Authorization": f"Bearer {access_token}"}, verify=tls
    )


def test_msal_client_secret_gets_a_token_graph_accepts(
    info: SandboxInfo, msal_session: requests.Session, tls: ssl.SSLContext
) -> None:
    result = _app(info, info.client_secret, msal_session).acquire_token_for_client(SCOPES)
    assert result.get("token_type") == "Bearer", result
    assert result["expires_in"] == 3599
    assert _graph_get(info, tls, result["access_token"]).status_code == 200


def test_msal_certificate_with_sha1_thumbprint(
    info: SandboxInfo, msal_session: requests.Session, tls: ssl.SSLContext
) -> None:
    with open(info.client_cert_path) as handle:
        pem = handle.read()
    credential = {"private_key": pem, "thumbprint": info.client_cert_thumbprint}
    result = _app(info, credential, msal_session).acquire_token_for_client(SCOPES)
    assert "access_token" in result, result
    assert _graph_get(info, tls, result["access_token"]).status_code == 200


def test_msal_certificate_with_public_certificate_signs_ps256(
    info: SandboxInfo, msal_session: requests.Session
) -> None:
    with open(info.client_cert_path) as handle:
        pem = handle.read()
    credential = {"private_key": pem, "public_certificate": pem}
    result = _app(info, credential, msal_session).acquire_token_for_client(SCOPES)
    assert "access_token" in result, result


def test_wrong_secret_is_refused_like_entra(
    info: SandboxInfo, msal_session: requests.Session, tls: ssl.SSLContext
) -> None:
    result = _app(info, "not-the-secret", msal_session).acquire_token_for_client(SCOPES)
    assert result["error"] == "invalid_client"
    assert result["error_codes"] == [7000215]
    assert result["error_description"].startswith("AADSTS7000215:")
    raw = httpx.post(
        f"{info.authority}/oauth2/v2.0/token",
        data={
            "grant_type": "client_credentials",
            "client_id": info.client_id,
            "client_secret": "nope",
            "scope": SCOPES[0],
        },
        verify=tls,
    )
    assert raw.status_code == 401


def test_unknown_client_id_is_refused(info: SandboxInfo, tls: ssl.SSLContext) -> None:
    raw = httpx.post(
        f"{info.authority}/oauth2/v2.0/token",
        data={
            "grant_type": "client_credentials",
            "client_id": "00000000-0000-0000-0000-0000000000aa",
            "client_secret": info.client_secret,
            "scope": SCOPES[0],
        },
        verify=tls,
    )
    assert raw.status_code == 400
    assert raw.json()["error_codes"] == [700016]


def test_scope_without_default_suffix_is_refused(info: SandboxInfo, tls: ssl.SSLContext) -> None:
    raw = httpx.post(
        f"{info.authority}/oauth2/v2.0/token",
        data={
            "grant_type": "client_credentials",
            "client_id": info.client_id,
            "client_secret": info.client_secret,
            "scope": "User.Read",
        },
        verify=tls,
    )
    assert raw.status_code == 400
    assert raw.json()["error"] == "invalid_scope"


def test_wrong_tenant_is_refused_with_90002(
    info: SandboxInfo, msal_session: requests.Session, tls: ssl.SSLContext
) -> None:
    base = info.authority.rsplit("/", 1)[0]
    wrong = "11111111-2222-4333-8444-555555555555"
    raw = httpx.post(
        f"{base}/{wrong}/oauth2/v2.0/token",
        data={
            "grant_type": "client_credentials",
            "client_id": info.client_id,
            "client_secret": info.client_secret,
            "scope": SCOPES[0],
        },
        verify=tls,
    )
    assert raw.status_code == 400
    assert raw.json()["error_codes"] == [90002]
    discovery = httpx.get(f"{base}/{wrong}/v2.0/.well-known/openid-configuration", verify=tls)
    assert discovery.status_code == 400
    assert "AADSTS90002" in discovery.json()["error_description"]
    with pytest.raises(ValueError, match="authority configuration"):
        msal.ConfidentialClientApplication(
            info.client_id,
            client_credential=info.client_secret,
            authority=f"{base}/{wrong}",
            instance_discovery=False,
            http_client=msal_session,
        )


def test_unregistered_certificate_is_refused(
    info: SandboxInfo, msal_session: requests.Session
) -> None:
    pem, thumbprint = _other_certificate()
    credential = {"private_key": pem, "thumbprint": thumbprint}
    result = _app(info, credential, msal_session).acquire_token_for_client(SCOPES)
    assert result["error"] == "invalid_client"
    assert result["error_codes"] == [700027]


def test_assertion_with_registered_thumbprint_but_foreign_key_fails_signature(
    info: SandboxInfo, tls: ssl.SSLContext
) -> None:
    foreign_pem, _ = _other_certificate()
    now = int(time.time())
    # The header names the registered certificate; the signature is made with another key.
    x5t = jwt.utils.base64url_encode(bytes.fromhex(info.client_cert_thumbprint)).decode()
    assertion = jwt.encode(
        {
            "aud": f"{info.authority}/oauth2/v2.0/token",
            "iss": info.client_id,
            "sub": info.client_id,
            "exp": now + 600,
            "nbf": now,
            "jti": "x",
        },
        foreign_pem,
        algorithm="RS256",
        headers={"x5t": x5t},
    )
    raw = httpx.post(
        f"{info.authority}/oauth2/v2.0/token",
        data={
            "grant_type": "client_credentials",
            "client_id": info.client_id,
            "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            "client_assertion": assertion,
            "scope": SCOPES[0],
        },
        verify=tls,
    )
    assert raw.status_code == 401
    assert "signature validation" in raw.json()["error_description"]


def test_graph_refuses_missing_bad_and_expired_tokens(
    info: SandboxInfo, tls: ssl.SSLContext, sandbox: MicrosoftSandbox
) -> None:
    missing = httpx.get(f"{info.graph_url}/users", verify=tls)
    assert missing.status_code == 401
    error = missing.json()["error"]
    assert error["code"] == "InvalidAuthenticationToken"
    assert set(error["innerError"]) == {"date", "request-id", "client-request-id"}
    assert _graph_get(info, tls, "not.a.token").status_code == 401
    sandbox.settings.token_lifetime_s = 0  # every new token is already expired
    issued = httpx.post(
        f"{info.authority}/oauth2/v2.0/token",
        data={
            "grant_type": "client_credentials",
            "client_id": info.client_id,
            "client_secret": info.client_secret,
            "scope": SCOPES[0],
        },
        verify=tls,
    ).json()
    expired = _graph_get(info, tls, issued["access_token"])
    assert expired.status_code == 401
    assert "expired" in expired.json()["error"]["message"]


def test_openid_configuration_names_the_token_endpoint(
    info: SandboxInfo, tls: ssl.SSLContext
) -> None:
    doc = httpx.get(f"{info.authority}/v2.0/.well-known/openid-configuration", verify=tls).json()
    assert doc["token_endpoint"] == f"{info.authority}/oauth2/v2.0/token"


def test_sandbox_accepts_a_given_workdir(tmp_path: object) -> None:
    from pathlib import Path

    workdir = Path(str(tmp_path)) / "ms"
    with MicrosoftSandbox(workdir=workdir) as sandbox:
        assert Path(sandbox.info.ca_path).parent == workdir
        assert Path(sandbox.info.client_cert_path).read_text().count("BEGIN") == 2
    assert workdir.exists()  # a given workdir is the caller's; it is left in place
