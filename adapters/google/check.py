"""``ess target check`` for Google Workspace: a token for each admin subject (which proves the
service account is delegated every scope ESS asks for: Google refuses a token when one is
missing), then one read of each API, which shows whether the Directory API answers and whether
Classroom data access is on. Every missing piece is one result naming the fix. Nothing is
written.
"""

from __future__ import annotations

from collections.abc import Sequence

from adapters.kit.http import NoAnswer
from engine.target import CheckResult, CheckStatus

from . import calls
from .auth import SCOPES, GoogleTenantError
from .client import GoogleClient
from .config import GoogleConfig
from .errors import Kind


def _scopes_fix() -> str:
    return (
        "delegate these scopes to the service account's client id (Admin console > Security > "
        "Access and data control > API controls > Domain-wide delegation): " + ",".join(SCOPES)
    )


async def check(client: GoogleClient, config: GoogleConfig) -> Sequence[CheckResult]:
    results: list[CheckResult] = []
    for token in client.tokens:
        item = f"token for {token.subject}"
        try:
            await token.header()
        except GoogleTenantError as exc:
            verdict = exc.verdict
            fix = _scopes_fix() if verdict.code == "unauthorized_client" else verdict.hint
            results.append(CheckResult(item, CheckStatus.MISSING, f"refused ({verdict.code})", fix))
            continue
        except ConnectionError as exc:
            results.append(
                CheckResult(item, CheckStatus.MISSING, str(exc), "check token_uri and the network")
            )
            continue
        results.append(CheckResult(item, CheckStatus.OK, f"{len(SCOPES)} scopes delegated"))
    if any(r.status is CheckStatus.MISSING for r in results):
        return results  # the APIs cannot be read as a subject that has no token
    probes = (
        ("Directory API", calls.list_users(page_size=1, fields="users(primaryEmail)")),
        ("Classroom API", calls.list_courses(fields="courses(id)")),
    )
    for item, call in probes:
        try:
            answer = await client.call(call)
        except NoAnswer as exc:
            results.append(
                CheckResult(item, CheckStatus.MISSING, f"no answer ({exc.kind})", "check root_url")
            )
            continue
        if answer.ok:
            results.append(CheckResult(item, CheckStatus.OK, "answers"))
        elif answer.verdict.kind is Kind.TENANT:
            fix = answer.verdict.hint or _scopes_fix()
            results.append(
                CheckResult(item, CheckStatus.MISSING, f"refused ({answer.verdict.code})", fix)
            )
        else:
            results.append(
                CheckResult(item, CheckStatus.SKIPPED, f"not checked: {answer.verdict.describe()}")
            )
    return results
