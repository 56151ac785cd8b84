"""A journal with realistic trouble, made by real runs of the engine, for front-end tests.

``build_scenario(workdir)`` writes ess.toml and runs three tenants against the memory doubles:

- alpha (bronze): a clean first run, then a run with items the target refuses (dead), items
  that keep failing (failed) and items waiting on those (blocked), plus data findings;
- beta (silver): a clean run, then a truncated source that the guard holds for approval;
- gamma (gold): never run.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from pathlib import Path

from engine.model import MemberRole, Membership
from engine.testing.builder import drop_persons, tiny_snapshot
from engine.testing.snapshot_io import write_snapshot

CONFIG = """\
# A scenario journal: real runs against in-memory doubles.
[journal]
path = "ess.db"

[tenants.alpha]
name = "Alpha kommun"
tier = "bronze"
schedule = "0 5 * * *"
source = {{ type = "memory", path = "alpha.json" }}

[tenants.alpha.policy]
max_attempts = 2
retry_base_s = 0.01
retry_max_s = 0.05

[tenants.alpha.targets.mem]
type = "memory"
state = "alpha-target.json"
{alpha_faults}

[tenants.beta]
name = "Beta skolor"
tier = "silver"
source = {{ type = "memory", path = "beta.json" }}

[tenants.beta.policy]
protected_identity = "mask"

[tenants.beta.targets.mem]
type = "memory"
state = "beta-target.json"

[tenants.gamma]
name = "Gamma gymnasium"
tier = "gold"
schedule = "30 4 * * 1-5"
source = {{ type = "memory", path = "gamma.json" }}

[tenants.gamma.targets.mem]
type = "memory"
state = "gamma-target.json"
"""


def _config(workdir: Path, alpha_faults: str = "") -> Path:
    path = workdir / "ess.toml"
    path.write_text(CONFIG.format(alpha_faults=alpha_faults), encoding="utf-8")
    return path


async def build_scenario_async(workdir: Path) -> Path:
    from engine.ops import Ops

    workdir.mkdir(parents=True, exist_ok=True)
    alpha = tiny_snapshot(seed=11, pupils=40, teachers=6)
    beta = tiny_snapshot(seed=12, pupils=60, teachers=6)
    gamma = tiny_snapshot(seed=13, pupils=20, teachers=3)
    write_snapshot(alpha, workdir / "alpha.json")
    write_snapshot(beta, workdir / "beta.json")
    write_snapshot(gamma, workdir / "gamma.json")
    path = _config(workdir)
    async with await Ops.open(path, actor="scenario:setup") as ops:
        await ops.sync("alpha", trigger="schedule")
        await ops.elevate("beta", reason="first sync of a new tenant", minutes=30)
        await ops.sync("beta")

    # alpha's second day: new pupils the target refuses, a flaky group, a membership to a
    # person the source does not deliver (a finding).
    pupils = sorted(
        p
        for p in alpha.persons
        if any(r.person_id == p and r.role.value == "student" for r in alpha.school_roles)
    )
    refused = pupils[:2]
    groups = dict(alpha.groups)
    model = groups[sorted(alpha.groups)[1]]
    flaky_group = "g-11-new-drama"
    groups[flaky_group] = replace(model, id=flaky_group, name="DR 9A", subject="DR")
    extra = (
        Membership(sorted(alpha.groups)[0], "p-missing-1", MemberRole.STUDENT),
        *(
            Membership(flaky_group, pid, MemberRole.STUDENT, model.start, model.end)
            for pid in pupils[2:5]
        ),
    )
    persons = dict(alpha.persons)
    for pid in refused:
        persons[pid] = replace(persons[pid], given_name=persons[pid].given_name + "-Marie")
    day2 = replace(alpha, persons=persons, groups=groups, memberships=alpha.memberships + extra)
    write_snapshot(day2, workdir / "alpha.json")
    faults = f"reject_keys = {list(refused)!r}\nflaky_keys = [{flaky_group!r}]\n"
    path = _config(workdir, faults.replace("'", '"'))
    write_snapshot(drop_persons(beta, 0.6), workdir / "beta.json")
    async with await Ops.open(path, actor="scenario:setup") as ops:
        await ops.sync("alpha", trigger="schedule")
        await ops.sync("beta")
    return path


def build_scenario(workdir: Path) -> Path:
    """Synchronous wrapper (runs its own event loop); returns the ess.toml path."""
    return asyncio.run(build_scenario_async(workdir))
