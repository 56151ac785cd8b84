"""What ``ess target check`` reads of the tenant: the app registration's credentials and their
end dates, the app's service principal and its granted application permissions
(``appRoleAssignments``), Microsoft Graph's own service principal with
its ``appRoles``, the tenant's domains and its subscribed licence SKUs.

Shapes follow Graph v1.0's servicePrincipal, appRoleAssignment, domain and subscribedSku
resources. Each read needs the permission Graph's pages name (Application.Read.All for the
service principals, Domain.Read.All for domains, Organization.Read.All for SKUs, or a broader
Directory permission) and is otherwise refused with 403 ``Authorization_RequestDenied``
"Insufficient privileges to complete the operation." [memory for the exact message]. The
appRole ids here are derived from the permission names, not Graph's published GUIDs: a client
must map ids to names through Graph's ``appRoles``, as against the real service.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from .errors import GraphError, resource_missing
from .graph import Ctx, GraphRequest, GraphResponse, Router
from .odata import apply_select, evaluate, parse_filter, parse_select

GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000"
_NS = uuid.UUID("6c0d7f1e-5a51-4d7b-9e35-8f4c2a0b1d11")
CREATED = "2026-01-01T00:00:00Z"

# Graph's application permissions the sandbox knows (its appRoles)
GRAPH_APP_ROLES = (
    "Application.Read.All",
    "Directory.Read.All",
    "Directory.ReadWrite.All",
    "Domain.Read.All",
    "EduRoster.Read.All",
    "EduRoster.ReadWrite.All",
    "Group.ReadWrite.All",
    "GroupMember.ReadWrite.All",
    "LicenseAssignment.ReadWrite.All",
    "Organization.Read.All",
    "Team.Create",
    "TeamSettings.ReadWrite.All",
    "TeamMember.ReadWrite.All",
    "User.ReadWrite.All",
)
_READ = {
    "servicePrincipals": ("Application.Read.All", "Application.ReadWrite.All"),
    "domains": ("Domain.Read.All", "Domain.ReadWrite.All"),
    "subscribedSkus": ("Organization.Read.All", "LicenseAssignment.ReadWrite.All"),
}
_DIRECTORY = ("Directory.Read.All", "Directory.ReadWrite.All")


def _id(name: str) -> str:
    return str(uuid.uuid5(_NS, name))


def _require(ctx: Ctx, what: str) -> None:
    granted = set(ctx.settings.granted_permissions)
    if not granted & {*_READ[what], *_DIRECTORY}:
        raise GraphError(
            403, "Authorization_RequestDenied", "Insufficient privileges to complete the operation."
        )


def _graph_principal() -> dict[str, Any]:
    return {
        "id": _id("graph-service-principal"),
        "appId": GRAPH_APP_ID,
        "displayName": "Microsoft Graph",
        "servicePrincipalType": "Application",
        "appRoles": [
            {
                "id": _id(name),
                "value": name,
                "displayName": name,
                "description": name,
                "allowedMemberTypes": ["Application"],
                "isEnabled": True,
                "origin": "Application",
            }
            for name in GRAPH_APP_ROLES
        ],
    }


def _app_principal(client_id: str) -> dict[str, Any]:
    return {
        "id": _id(f"sp-{client_id}"),
        "appId": client_id,
        "displayName": "ESS school sync",
        "servicePrincipalType": "Application",
        "appRoles": [],
    }


def _principals(req: GraphRequest) -> list[dict[str, Any]]:
    return [_app_principal(req.caller.client_id), _graph_principal()]


def list_principals(ctx: Ctx, req: GraphRequest) -> GraphResponse:
    _require(ctx, "servicePrincipals")
    found = _principals(req)
    if text := req.option("$filter"):
        node = parse_filter(text).node
        found = [p for p in found if evaluate(node, p)]
    select = parse_select(req.option("$select"))
    return GraphResponse(
        200,
        {
            "@odata.context": f"{ctx.graph_url}/$metadata#servicePrincipals",
            "value": [apply_select(p, select) for p in found],
        },
    )


def _principal(req: GraphRequest, id: str) -> dict[str, Any]:
    for p in _principals(req):
        if p["id"] == id:
            return p
    raise resource_missing(id)


def get_principal(ctx: Ctx, req: GraphRequest, id: str) -> GraphResponse:
    _require(ctx, "servicePrincipals")
    select = parse_select(req.option("$select"))
    return GraphResponse(200, apply_select(_principal(req, id), select))


def list_assignments(ctx: Ctx, req: GraphRequest, id: str) -> GraphResponse:
    """The application permissions granted (with admin consent) to a service principal."""
    _require(ctx, "servicePrincipals")
    principal = _principal(req, id)
    graph = _graph_principal()
    names = set(GRAPH_APP_ROLES)
    granted = (
        [g for g in ctx.settings.granted_permissions if g in names]
        if principal["appId"] == req.caller.client_id
        else []
    )
    value = [
        {
            "id": _id(f"assignment-{id}-{name}"),
            "deletedDateTime": None,
            "appRoleId": _id(name),
            "createdDateTime": CREATED,
            "principalDisplayName": principal["displayName"],
            "principalId": id,
            "principalType": "ServicePrincipal",
            "resourceDisplayName": graph["displayName"],
            "resourceId": graph["id"],
        }
        for name in granted
    ]
    return GraphResponse(
        200,
        {
            "@odata.context": (
                f"{ctx.graph_url}/$metadata#servicePrincipals('{id}')/appRoleAssignments"
            ),
            "value": value,
        },
    )


def list_applications(ctx: Ctx, req: GraphRequest) -> GraphResponse:
    """The app registration with its credentials' end dates (``passwordCredentials`` and
    ``keyCredentials``): the client secret ends ``client_secret_days`` from now, the
    certificate ``certificate_days`` from now (settings)."""
    _require(ctx, "servicePrincipals")
    now = datetime.now(UTC)

    def end(days: float) -> str:
        return (now + timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%SZ")

    app = {
        "id": _id(f"app-{req.caller.client_id}"),
        "appId": req.caller.client_id,
        "displayName": "ESS school sync",
        "passwordCredentials": [
            {
                "keyId": _id(f"secret-{req.caller.client_id}"),
                "displayName": "ESS sync",
                "hint": "ess",
                "startDateTime": CREATED,
                "endDateTime": end(ctx.settings.client_secret_days),
                "secretText": None,
            }
        ],
        "keyCredentials": [
            {
                "keyId": _id(f"cert-{req.caller.client_id}"),
                "displayName": "CN=ESS sandbox client",
                "type": "AsymmetricX509Cert",
                "usage": "Verify",
                "startDateTime": CREATED,
                "endDateTime": end(ctx.settings.certificate_days),
            }
        ],
    }
    found = [app]
    if text := req.option("$filter"):
        node = parse_filter(text).node
        found = [a for a in found if evaluate(node, a)]
    select = parse_select(req.option("$select"))
    return GraphResponse(
        200,
        {
            "@odata.context": f"{ctx.graph_url}/$metadata#applications",
            "value": [apply_select(a, select) for a in found],
        },
    )


def _domains(ctx: Ctx) -> list[dict[str, Any]]:
    names = [(ctx.domain, True), *((d, True) for d in ctx.settings.verified_domains)]
    names += [(d, False) for d in ctx.settings.unverified_domains]
    return [
        {
            "id": name,
            "authenticationType": "Managed",
            "isAdminManaged": True,
            "isDefault": i == 0,
            "isInitial": name.endswith(".onmicrosoft.com"),
            "isRoot": True,
            "isVerified": verified,
            "supportedServices": ["Email", "OfficeCommunicationsOnline"] if verified else [],
        }
        for i, (name, verified) in enumerate(names)
    ]


def list_domains(ctx: Ctx, req: GraphRequest) -> GraphResponse:
    _require(ctx, "domains")
    return GraphResponse(
        200, {"@odata.context": f"{ctx.graph_url}/$metadata#domains", "value": _domains(ctx)}
    )


def get_domain(ctx: Ctx, req: GraphRequest, id: str) -> GraphResponse:
    _require(ctx, "domains")
    for d in _domains(ctx):
        if d["id"].lower() == id.lower():
            return GraphResponse(
                200, {"@odata.context": f"{ctx.graph_url}/$metadata#domains/$entity", **d}
            )
    raise resource_missing(id)


def list_skus(ctx: Ctx, req: GraphRequest) -> GraphResponse:
    """``settings.subscribed_skus`` holds ``skuId=PART_NUMBER`` entries; a skuId also in
    ``settings.exhausted_skus`` has every unit consumed."""
    _require(ctx, "subscribedSkus")
    value = []
    for entry in ctx.settings.subscribed_skus:
        sku_id, _, part = entry.partition("=")
        used = 1000 if sku_id in ctx.settings.exhausted_skus else 12
        value.append(
            {
                "accountId": req.caller.tenant_id,
                "accountName": "sandbox",
                "appliesTo": "User",
                "capabilityStatus": "Enabled",
                "consumedUnits": used,
                "id": f"{req.caller.tenant_id}_{sku_id}",
                "prepaidUnits": {"enabled": 1000, "suspended": 0, "warning": 0, "lockedOut": 0},
                "servicePlans": [],
                "skuId": sku_id,
                "skuPartNumber": part or "SKU",
                "subscriptionIds": [],
            }
        )
    return GraphResponse(
        200, {"@odata.context": f"{ctx.graph_url}/$metadata#subscribedSkus", "value": value}
    )


def register(router: Router) -> None:
    router.add("GET", "/servicePrincipals", list_principals)
    router.add("GET", "/servicePrincipals/{id}", get_principal)
    router.add("GET", "/servicePrincipals/{id}/appRoleAssignments", list_assignments)
    router.add("GET", "/applications", list_applications)
    router.add("GET", "/domains", list_domains)
    router.add("GET", "/domains/{id}", get_domain)
    router.add("GET", "/subscribedSkus", list_skus)
