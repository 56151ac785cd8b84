"""``ess target check`` for Microsoft 365: sign in, then compare the application permissions
granted to the app with those the configuration needs, and check the domain and the licences.

The granted permissions are read as Graph serves them: the app's service principal
(``GET /servicePrincipals?$filter=appId eq '…'``), its ``appRoleAssignments``, and Graph's own
``appRoles`` to turn their ids into names. Reading them needs Application.Read.All; without it
the check falls back to the ``roles`` claim of the access token just issued, which lists the
same grants (Entra writes them into every app-only token). Every missing piece is one result
naming the fix. Nothing is written.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from engine.target import CheckResult, CheckStatus, credential_results

from .auth import AuthError
from .client import GraphClient, GraphUnavailable, PageError
from .config import MicrosoftConfig
from .errors import GraphResponse
from .expiry import app_expiries

GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000"
CONSENT = "grant the application permission {perm} to the app registration and give admin consent"


@dataclass(frozen=True)
class Need:
    """A permission the configuration needs, and the broader ones that also cover it."""

    permission: str
    why: str
    also: tuple[str, ...] = ()

    def met_by(self, granted: set[str]) -> bool:
        return bool(granted & {self.permission, *self.also})


def needs(config: MicrosoftConfig) -> list[Need]:
    """What docs/targets/microsoft.md asks the administrator to grant for this configuration."""
    wide = ("Directory.ReadWrite.All",)
    out = [
        Need("EduRoster.ReadWrite.All", "education schools, users and classes"),
        Need("User.ReadWrite.All", "create, disable and delete accounts", wide),
        Need("Group.ReadWrite.All", "class group members and owners", wide),
    ]
    if config.create_teams:
        out.append(Need("Team.Create", "class teams", ("Group.ReadWrite.All",)))
        if config.team_archive_on_end:
            out.append(Need("TeamSettings.ReadWrite.All", "archive a class's team", wide))
    if config.student_license_sku or config.teacher_license_sku:
        out.append(
            Need(
                "LicenseAssignment.ReadWrite.All",
                "assign licences",
                ("User.ReadWrite.All", *wide),
            )
        )
    return out


def _denied(resp: GraphResponse) -> bool:
    return resp.status == 403 or resp.error_code == "Authorization_RequestDenied"


def _problem(resp: GraphResponse) -> str:
    return f"Graph answered {resp.status} {resp.error_code}".strip()


def token_roles(token: str) -> set[str]:
    """The ``roles`` claim of an app-only access token (read, not verified: it is ours)."""
    try:
        payload = token.split(".")[1]
        claims = orjson.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (IndexError, ValueError, orjson.JSONDecodeError):
        return set()
    roles = claims.get("roles") if isinstance(claims, dict) else None
    return {str(r) for r in roles} if isinstance(roles, list) else set()


async def _granted(client: GraphClient, config: MicrosoftConfig) -> tuple[set[str] | None, str]:
    """The granted Graph application permissions and where they were read (``None``: could
    not be read, the second value says why)."""
    resp = await client.get_json(
        f"servicePrincipals?$filter=appId eq '{config.client_id}'&$select=id,appId"
    )
    if _denied(resp):
        return None, "denied"
    if not resp.ok:
        return None, _problem(resp)
    found = resp.body.get("value", []) if isinstance(resp.body, dict) else []
    if not found:
        return None, "no service principal"
    sp_id = str(found[0]["id"])
    assigned: list[dict[str, Any]] = []
    try:
        async for item in client.pages(f"servicePrincipals/{sp_id}/appRoleAssignments"):
            assigned.append(item)
    except PageError as exc:
        return None, "denied" if _denied(exc.resp) else _problem(exc.resp)
    roles: dict[str, str] = {}
    for resource in {str(a.get("resourceId")) for a in assigned}:
        r = await client.get_json(f"servicePrincipals/{resource}?$select=id,appId,appRoles")
        if r.ok and isinstance(r.body, dict) and r.body.get("appId") == GRAPH_APP_ID:
            roles.update({str(x["id"]): str(x["value"]) for x in r.body.get("appRoles", [])})
    return {roles[str(a.get("appRoleId"))] for a in assigned if str(a.get("appRoleId")) in roles}, (
        "appRoleAssignments"
    )


async def check(client: GraphClient, config: MicrosoftConfig) -> Sequence[CheckResult]:
    """Sign-in, permissions, domain, licence SKUs and the credentials' end dates."""
    try:
        token = await client.tokens.token()
    except AuthError as exc:
        return [CheckResult("sign-in", CheckStatus.MISSING, "refused", str(exc))]
    results = [
        CheckResult("sign-in", CheckStatus.OK, f"app {config.client_id} in {config.tenant_id}")
    ]
    try:
        results += await _permissions(client, config, token)
        results.append(await _domain(client, config))
        results += await _licences(client, config)
        expiries = await app_expiries(client, config)
        results += credential_results(expiries) or [
            CheckResult(
                "credential end dates",
                CheckStatus.SKIPPED,
                "not known: grant Application.Read.All to let the check read them",
            )
        ]
    except GraphUnavailable as exc:
        results.append(
            CheckResult("Graph", CheckStatus.MISSING, str(exc), "check graph_url and the network")
        )
    except AuthError as exc:
        results.append(CheckResult("sign-in", CheckStatus.MISSING, "refused", str(exc)))
    return results


async def _permissions(
    client: GraphClient, config: MicrosoftConfig, token: str
) -> list[CheckResult]:
    granted, source = await _granted(client, config)
    results: list[CheckResult] = []
    if granted is None:
        granted = token_roles(token)
        why = (
            "Application.Read.All is not granted"
            if source == "denied"
            else f"the app's service principal could not be read ({source})"
        )
        results.append(
            CheckResult(
                "granted permissions",
                CheckStatus.SKIPPED,
                f"read from the sign-in token's roles: {why} (grant it to let the check read "
                "the app's appRoleAssignments)",
            )
        )
    for need in needs(config):
        if need.met_by(granted):
            results.append(CheckResult(f"permission {need.permission}", CheckStatus.OK, need.why))
        else:
            results.append(
                CheckResult(
                    f"permission {need.permission}",
                    CheckStatus.MISSING,
                    f"not granted; needed for {need.why}",
                    CONSENT.format(perm=need.permission),
                )
            )
    return results


async def _domain(client: GraphClient, config: MicrosoftConfig) -> CheckResult:
    item = f"domain {config.domain}"
    resp = await client.get_json(f"domains/{config.domain}")
    if _denied(resp):
        return CheckResult(
            item, CheckStatus.SKIPPED, "not checked: grant Domain.Read.All to let the check read it"
        )
    if resp.status == 404:
        return CheckResult(
            item,
            CheckStatus.MISSING,
            "not a domain of this tenant",
            "add and verify the domain in the Microsoft 365 admin centre, or fix domain",
        )
    if not resp.ok or not isinstance(resp.body, dict):
        return CheckResult(item, CheckStatus.SKIPPED, f"not checked: {_problem(resp)}")
    if not resp.body.get("isVerified"):
        return CheckResult(
            item,
            CheckStatus.MISSING,
            "added but not verified",
            "verify the domain (its DNS TXT record) in the Microsoft 365 admin centre",
        )
    return CheckResult(item, CheckStatus.OK, "verified")


async def _licences(client: GraphClient, config: MicrosoftConfig) -> list[CheckResult]:
    named = [
        (key, sku)
        for key, sku in (
            ("student_license_sku", config.student_license_sku),
            ("teacher_license_sku", config.teacher_license_sku),
        )
        if sku
    ]
    if not named:
        return []
    resp = await client.get_json("subscribedSkus")
    if _denied(resp) or not resp.ok:
        why = "grant Organization.Read.All to let the check read them" if _denied(resp) else ""
        return [
            CheckResult(
                f"licence {key}", CheckStatus.SKIPPED, f"not checked: {why or _problem(resp)}"
            )
            for key, _ in named
        ]
    skus = {
        str(s.get("skuId", "")).lower(): s
        for s in (resp.body.get("value", []) if isinstance(resp.body, dict) else [])
    }
    out: list[CheckResult] = []
    for key, sku in named:
        item = f"licence {key}"
        found = skus.get(sku.lower())
        if found is None:
            out.append(
                CheckResult(
                    item,
                    CheckStatus.MISSING,
                    f"{sku} is not a licence this tenant subscribes to",
                    f"fix {key} (the skuId of a subscribed licence) or buy the licence",
                )
            )
            continue
        part = found.get("skuPartNumber", sku)
        units = found.get("prepaidUnits") or {}
        free = int(units.get("enabled", 0)) - int(found.get("consumedUnits", 0))
        if found.get("capabilityStatus") != "Enabled":
            out.append(
                CheckResult(
                    item,
                    CheckStatus.MISSING,
                    f"{part} is {found.get('capabilityStatus')}",
                    "renew the subscription",
                )
            )
        elif free <= 0:
            out.append(
                CheckResult(
                    item,
                    CheckStatus.MISSING,
                    f"{part}: no free licences",
                    "buy more licences or free some",
                )
            )
        else:
            out.append(CheckResult(item, CheckStatus.OK, f"{part}, {free} free"))
    return out
