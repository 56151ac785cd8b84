"""Two customers in one journal, every table filled for each, and an engineer who serves one.

``alpha`` is served, ``beta`` is not: whatever beta's rows are, the scoped facade must neither
show them nor act on them."""

from __future__ import annotations

import os
import pwd
from dataclasses import dataclass
from pathlib import Path

from engine.journal import Journal
from engine.ops import Ops
from engine.plan import Action, OpStatus
from engine.tenant_scope import TenantScope
from tests.journal.journal_support import finish, new_run, op, stored_run
from tests.journal.test_journal_contract_tenant_rows import fill

SERVED, OTHER = "alpha", "beta"
ME = pwd.getpwuid(os.geteuid()).pw_name

TENANT = """
[tenants.{tid}]
name = "{tid} kommun"
tier = "bronze"
source = {{ type = "memory", path = "snap.json" }}

[tenants.{tid}.targets.mem]
type = "memory"
state = "{tid}-target.json"
"""


def config_text(head: str = "") -> str:
    """ess.toml with both tenants; ``head`` goes first (an [operators] or [mcp] table)."""
    body = '[journal]\npath = "ess.db"\n' + "".join(TENANT.format(tid=t) for t in (SERVED, OTHER))
    return head + "\n" + body


@dataclass(frozen=True)
class Rows:
    """Ids of the other tenant's rows, to ask for them by id."""

    run: int
    item: int
    elevation: int


async def fill_two(journal: Journal) -> Rows:
    """Every table for both tenants, plus an open failure and a held run each."""
    found: dict[str, Rows] = {}
    for tid in (SERVED, OTHER):
        await fill(journal, tid)
        bad = op(1, Action.CREATE, "user", f"{tid}-bad")
        run_id, stored = await stored_run(journal, [bad], tid)
        await finish(journal, stored, OpStatus.DEAD, tid, reason="refused", message="no")
        await journal.update_run(run_id, status="partial", finished=True)
        await new_run(journal, tid, status="held")
        elevation = await journal.list_elevations(tid)
        found[tid] = Rows(run_id, stored[0].id, elevation[0].id)
    return found[OTHER]


async def opened(config: Path, scope: TenantScope | None, actor: str = "test:eva") -> Ops:
    return await Ops.open(config, actor=actor, scope=scope)
