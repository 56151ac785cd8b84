"""The Entra side: OIDC discovery, the client-credentials token endpoint, access-token checks.

What MSAL needs (reference §5.2): ``GET /{tenant}/v2.0/.well-known/openid-configuration`` and
``POST /{tenant}/oauth2/v2.0/token`` with either ``client_secret`` or a ``client_assertion`` JWT
signed by a registered certificate (RS256 with ``x5t``, or PS256 with ``x5t#S256``). Errors use
Entra's OAuth2 JSON with an AADSTS code. Status and wording of AADSTS errors other than 7000215
and 90002 are [memory], not re-checked.

Access tokens are HS256 JWTs signed with a per-sandbox key; Graph checks signature, audience and
expiry and answers 401 InvalidAuthenticationToken otherwise.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from .errors import GraphError, utc_now_iso
from .settings import DEFAULT_PERMISSIONS

GRAPH_RESOURCES = ("https://graph.microsoft.com", "00000003-0000-0000-c000-000000000000")
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
CLOCK_SKEW_S = 300.0


@dataclass(frozen=True)
class AppRegistration:
    """The one app registered in the sandbox tenant."""

    tenant_id: str
    client_id: str
    client_secret: str
    certificate: x509.Certificate


@dataclass(frozen=True)
class Caller:
    """Who a Graph request comes from: throttling is per app + tenant."""

    client_id: str
    tenant_id: str


class OAuthError(Exception):
    """An Entra token-endpoint refusal."""

    def __init__(self, status: int, error: str, code: int, description: str) -> None:
        super().__init__(description)
        self.status = status
        self.error = error
        self.code = code
        self.description = description

    def body(self) -> dict[str, Any]:
        trace, correlation = str(uuid.uuid4()), str(uuid.uuid4())
        stamp = utc_now_iso() + "Z"
        return {
            "error": self.error,
            "error_description": f"AADSTS{self.code}: {self.description} Trace ID: {trace} "
            f"Correlation ID: {correlation} Timestamp: {stamp}",
            "error_codes": [self.code],
            "timestamp": stamp,
            "trace_id": trace,
            "correlation_id": correlation,
            "error_uri": f"https://login.microsoftonline.com/error?code={self.code}",
        }


def _b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class Entra:
    """Token issuing and checking for one tenant and one app."""

    def __init__(
        self,
        app: AppRegistration,
        base_url: str,
        key: bytes,
        roles: Callable[[], Sequence[str]] = lambda: DEFAULT_PERMISSIONS,
    ) -> None:
        self.app = app
        self._roles = roles  # the app's granted application permissions, read at each mint
        self.base_url = base_url  # "https://127.0.0.1:PORT"
        self._key = key
        cert = app.certificate
        self._x5t = _b64url(cert.fingerprint(hashes.SHA1()))  # x5t is a SHA-1 thumbprint
        self._x5t256 = _b64url(cert.fingerprint(hashes.SHA256()))
        self._der = cert.public_bytes(serialization.Encoding.DER)

    # discovery ----------------------------------------------------------------------------

    def _check_tenant(self, tenant: str) -> None:
        if tenant.lower() != self.app.tenant_id.lower():
            raise OAuthError(
                400,
                "invalid_request",
                90002,
                f"Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID "
                "and are signing into the correct cloud.",
            )

    def openid_configuration(self, tenant: str) -> dict[str, Any]:
        self._check_tenant(tenant)
        root = f"{self.base_url}/{self.app.tenant_id}"
        return {
            "issuer": f"{root}/v2.0",
            "authorization_endpoint": f"{root}/oauth2/v2.0/authorize",
            "token_endpoint": f"{root}/oauth2/v2.0/token",
            "device_authorization_endpoint": f"{root}/oauth2/v2.0/devicecode",
            "jwks_uri": f"{root}/discovery/v2.0/keys",
            "token_endpoint_auth_methods_supported": [
                "client_secret_post",
                "private_key_jwt",
                "client_secret_basic",
            ],
            "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
            "subject_types_supported": ["pairwise"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "scopes_supported": ["openid", "profile", "email", "offline_access"],
            "tenant_region_scope": "EU",
            "cloud_instance_name": "microsoftonline.com",
            "msgraph_host": "graph.microsoft.com",
        }

    def instance_discovery(self, authorization_endpoint: str) -> dict[str, Any]:
        """For a client that forgot ``instance_discovery=False`` (reference §5.2)."""
        tenant = self.app.tenant_id
        parts = [p for p in authorization_endpoint.split("/") if p]
        if len(parts) >= 3:
            tenant = parts[2]
        return {
            "tenant_discovery_endpoint": (
                f"{self.base_url}/{tenant}/v2.0/.well-known/openid-configuration"
            ),
            "api-version": "1.1",
            "metadata": [],
        }

    # token endpoint -----------------------------------------------------------------------

    def issue_token(self, tenant: str, form: dict[str, str], lifetime_s: float) -> dict[str, Any]:
        """Answer a token request or raise OAuthError the way Entra refuses it."""
        self._check_tenant(tenant)
        grant = form.get("grant_type", "")
        if not grant:
            raise self._missing("grant_type")
        if grant != "client_credentials":
            raise OAuthError(
                400,
                "unsupported_grant_type",
                70003,
                f"The app requested an unsupported grant type '{grant}'.",
            )
        client_id = form.get("client_id", "")
        if not client_id:
            raise self._missing("client_id")
        if client_id.lower() != self.app.client_id.lower():
            raise OAuthError(
                400,
                "unauthorized_client",
                700016,
                f"Application with identifier '{client_id}' was not found in the directory "
                f"'{self.app.tenant_id}'. This can happen if the application has not been "
                "installed by the administrator of the tenant or consented to by any user in "
                "the tenant.",
            )
        resource = self._check_scope(form.get("scope", ""))
        if form.get("client_secret"):
            if not hmac.compare_digest(form["client_secret"], self.app.client_secret):
                raise OAuthError(
                    401,
                    "invalid_client",
                    7000215,
                    "Invalid client secret provided. Ensure the secret being sent in the request "
                    "is the client secret value, not the client secret ID, for a secret added to "
                    f"app '{self.app.client_id}'.",
                )
        elif form.get("client_assertion"):
            if form.get("client_assertion_type") != ASSERTION_TYPE:
                raise OAuthError(
                    400,
                    "invalid_request",
                    50027,
                    f"Invalid client_assertion_type; expected '{ASSERTION_TYPE}'.",
                )
            self._check_assertion(form["client_assertion"], tenant)
        else:
            raise OAuthError(
                401,
                "invalid_client",
                7000218,
                "The request body must contain the following parameter: 'client_assertion' or "
                "'client_secret'.",
            )
        expires_in = max(1, int(lifetime_s))
        return {
            "token_type": "Bearer",
            "expires_in": expires_in,
            "ext_expires_in": expires_in,
            "access_token": self._mint(resource, lifetime_s),
        }

    @staticmethod
    def _missing(name: str) -> OAuthError:
        return OAuthError(
            400,
            "invalid_request",
            900144,
            f"The request body must contain the following parameter: '{name}'.",
        )

    def _check_scope(self, scope: str) -> str:
        if not scope:
            raise self._missing("scope")
        scopes = scope.split()
        if len(scopes) != 1 or not scopes[0].endswith("/.default"):
            raise OAuthError(
                400,
                "invalid_scope",
                1002012,
                f"The provided value for scope {scope} is not valid. Client credential flows "
                "must have a scope value with /.default suffixed to the resource identifier "
                "(application ID URI).",
            )
        resource = scopes[0][: -len("/.default")]
        if resource.rstrip("/") not in (*GRAPH_RESOURCES, self.base_url):
            raise OAuthError(
                400,
                "invalid_resource",
                500011,
                f"The resource principal named {resource} was not found in the tenant named "
                f"{self.app.tenant_id}.",
            )
        return "https://graph.microsoft.com"

    def _check_assertion(self, assertion: str, tenant: str) -> None:
        def refuse(code: int, text: str) -> OAuthError:
            return OAuthError(401, "invalid_client", code, text)

        try:
            head_b64, claims_b64, sig_b64 = assertion.split(".")
            header = orjson.loads(_b64url_decode(head_b64))
            claims = orjson.loads(_b64url_decode(claims_b64))
            signature = _b64url_decode(sig_b64)
        except (ValueError, orjson.JSONDecodeError) as exc:
            raise refuse(50027, "JWT token is invalid or malformed.") from exc
        if not isinstance(header, dict) or not isinstance(claims, dict):
            raise refuse(50027, "JWT token is invalid or malformed.")
        known = (
            str(header.get("x5t", "")).rstrip("=") == self._x5t
            or str(header.get("x5t#S256", "")).rstrip("=") == self._x5t256
            or self._x5c_matches(header.get("x5c"))
        )
        if not known:
            raise refuse(
                700027,
                "The certificate with identifier used to sign the client assertion is not "
                f"registered on application. [Reason - The key was not found., Thumbprint of key "
                f"used by client: '{header.get('x5t') or header.get('x5t#S256')}']",
            )
        public_key = self.app.certificate.public_key()
        if not isinstance(public_key, rsa.RSAPublicKey):
            raise refuse(700027, "Client assertion failed signature validation.")
        signed = f"{head_b64}.{claims_b64}".encode()
        alg = header.get("alg")
        try:
            if alg == "RS256":
                public_key.verify(signature, signed, padding.PKCS1v15(), hashes.SHA256())
            elif alg == "PS256":
                pss = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=padding.PSS.AUTO)
                public_key.verify(signature, signed, pss, hashes.SHA256())
            else:
                raise refuse(700027, f"Client assertion algorithm '{alg}' is not supported.")
        except InvalidSignature as exc:
            raise refuse(700027, "Client assertion failed signature validation.") from exc
        now = time.time()
        if claims.get("iss") != self.app.client_id or claims.get("sub") != self.app.client_id:
            raise refuse(
                700021, "Client assertion application identifier doesn't match 'client_id'."
            )
        aud = str(claims.get("aud", ""))
        if not aud.lower().endswith(f"/{tenant.lower()}/oauth2/v2.0/token"):
            raise refuse(
                700212, f"No matching federated identity record found for audience '{aud}'."
            )
        exp, nbf = claims.get("exp"), claims.get("nbf", claims.get("iat", 0))
        if (
            not isinstance(exp, int | float)
            or exp + CLOCK_SKEW_S < now
            or (isinstance(nbf, int | float) and nbf - CLOCK_SKEW_S > now)
        ):
            raise refuse(700024, "Client assertion is not within its valid time range.")

    def _x5c_matches(self, x5c: Any) -> bool:
        if isinstance(x5c, str):
            x5c = [x5c]
        if not isinstance(x5c, list) or not x5c:
            return False
        try:
            return base64.b64decode(str(x5c[0])) == self._der
        except ValueError:
            return False

    # access tokens ------------------------------------------------------------------------

    def _mint(self, audience: str, lifetime_s: float) -> str:
        now = int(time.time())
        header = {"typ": "JWT", "alg": "HS256", "kid": "ess-sandbox"}
        claims = {
            "aud": audience,
            "iss": f"https://sts.windows.net/{self.app.tenant_id}/",
            "iat": now,
            "nbf": now,
            "exp": time.time() + lifetime_s,
            "appid": self.app.client_id,
            "tid": self.app.tenant_id,
            "idtyp": "app",
            "roles": list(self._roles()),
            "uti": uuid.uuid4().hex,
        }
        signing_input = f"{_b64url(orjson.dumps(header))}.{_b64url(orjson.dumps(claims))}"
        mac = hmac.new(self._key, signing_input.encode(), hashlib.sha256).digest()
        return f"{signing_input}.{_b64url(mac)}"

    def authenticate(self, authorization: str | None) -> Caller:
        """The caller of a Graph request, or 401 InvalidAuthenticationToken.

        The three messages follow Graph's wording as remembered [memory]."""
        if not authorization or not authorization.lower().startswith("bearer "):
            raise GraphError(401, "InvalidAuthenticationToken", "Access token is empty.")
        token = authorization[7:].strip()
        try:
            head_b64, claims_b64, sig_b64 = token.split(".")
            expected = hmac.new(
                self._key, f"{head_b64}.{claims_b64}".encode(), hashlib.sha256
            ).digest()
            if not hmac.compare_digest(expected, _b64url_decode(sig_b64)):
                raise ValueError("signature")
            claims = orjson.loads(_b64url_decode(claims_b64))
        except (ValueError, orjson.JSONDecodeError) as exc:
            raise GraphError(
                401,
                "InvalidAuthenticationToken",
                "IDX14100: JWT is not well formed, there are no dots (.) or the signature is "
                "invalid.",
            ) from exc
        if claims.get("aud") not in GRAPH_RESOURCES:
            raise GraphError(401, "InvalidAuthenticationToken", "Invalid audience.")
        if float(claims.get("exp", 0)) <= time.time():
            raise GraphError(
                401,
                "InvalidAuthenticationToken",
                "Lifetime validation failed, the token is expired.",
            )
        return Caller(str(claims["appid"]), str(claims["tid"]))
