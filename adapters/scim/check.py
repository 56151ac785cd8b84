"""A SCIM service tested before the first run (``ess target check``): discovery, auth, the
schemas and resource types the profile needs, and a read of one page. It writes nothing and
names no secret."""

from __future__ import annotations

from dataclasses import dataclass

from adapters.kit.http import NoAnswer
from engine.secrets import SecretResolver
from engine.target import CheckResult, CheckStatus

from .client import Capabilities, ScimClient, ScimTenantError
from .config import ScimConfig
from .profiles import PROFILES
from .target import build_client


@dataclass(frozen=True)
class CheckItem:
    """One thing checked: what, whether it holds, and what was seen or what to do."""

    name: str
    ok: bool
    detail: str


async def check_service(config: ScimConfig, secrets: SecretResolver) -> list[CheckItem]:
    """Every check in order; a check that cannot run because an earlier one failed is left
    out (the failure says what to fix first)."""
    client = build_client(config, secrets)
    try:
        return await _checks(client, config)
    finally:
        await client.aclose()


async def check_results(client: ScimClient, config: ScimConfig) -> list[CheckResult]:
    """The checks as ``ess target check`` shows them: a failed one is missing, with what was
    seen as the fix to start from."""
    return [
        CheckResult(item.name, CheckStatus.OK, item.detail)
        if item.ok
        else CheckResult(item.name, CheckStatus.MISSING, fix=item.detail)
        for item in await _checks(client, config)
    ]


async def _checks(client: ScimClient, config: ScimConfig) -> list[CheckItem]:
    out: list[CheckItem] = []
    try:
        caps = await client.capabilities()
    except ScimTenantError as exc:
        auth = exc.reason in ("auth", "permission")
        name = "auth" if auth else "discovery"
        return [CheckItem(name, False, str(exc))]
    except NoAnswer as exc:
        return [CheckItem("discovery", False, f"{exc} (is base_url right and reachable?)")]
    out.append(CheckItem("discovery", True, _offers(caps)))
    out.append(_schemas(caps, config.profile))
    first = next(iter(PROFILES[config.profile].values()))
    try:
        answer = await client.request(
            "GET", first.endpoint, f"GET {first.endpoint}", params={"startIndex": "1", "count": "1"}
        )
    except ScimTenantError as exc:
        out.append(CheckItem("auth", False, str(exc)))
        return out
    except NoAnswer as exc:
        out.append(CheckItem("read", False, str(exc)))
        return out
    out.append(CheckItem("auth", True, "the credentials are accepted"))
    if answer.ok and isinstance(answer.body, dict):
        total = answer.body.get("totalResults")
        out.append(CheckItem("read", True, f"{first.endpoint}: {total} resource(s)"))
    else:
        detail = f"GET {first.endpoint} answered {answer.status} {answer.detail}".strip()
        out.append(CheckItem("read", False, detail))
    return out


def _offers(caps: Capabilities) -> str:
    parts = [
        f"PATCH {'yes' if caps.patch else 'no'}",
        f"Bulk {f'yes (up to {caps.bulk_max_operations})' if caps.bulk else 'no'}",
        f"ETags {'yes' if caps.etag else 'no'}",
        f"filter {'yes' if caps.filter else 'no'}",
    ]
    return ", ".join(parts)


def _schemas(caps: Capabilities, profile: str) -> CheckItem:
    """The profile's resource types at their endpoints, and their schemas."""
    missing = []
    for spec in PROFILES[profile].values():
        endpoint = caps.endpoints.get(spec.resource_type)
        if endpoint is None:
            missing.append(f"resource type {spec.resource_type}")
        elif endpoint.rstrip("/") != spec.endpoint:
            missing.append(f"{spec.resource_type} at {spec.endpoint} (it is at {endpoint})")
        for urn in spec.schemas:
            if urn not in caps.schemas and not urn.endswith("enterprise:2.0:User"):
                missing.append(f"schema {urn}")
    if missing:
        return CheckItem(
            "schemas",
            False,
            f"the {profile} profile needs what the service does not list: "
            + ", ".join(sorted(set(missing))),
        )
    return CheckItem("schemas", True, f"every resource type and schema of the {profile} profile")
