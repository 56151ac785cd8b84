"""The target contract: a target that offers none of the optional hooks runs through the
executor and the runner on the base's defaults, and the tenant's drift policy is applied by the
runner alone ("report" leaves the mirror and the target as they are, "repair" puts it back)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar

import orjson
import pytest
from pydantic import BaseModel

from engine import plugins
from engine.config import TenantPolicy
from engine.model import Snapshot
from engine.ops import Ops
from engine.plan import Action
from engine.secrets import SecretResolver
from engine.target import (
    Batch,
    DesiredObject,
    DesiredState,
    KindSpec,
    Outcome,
    TargetBase,
    TargetContext,
    attrs_of,
)
from engine.testing.builder import tiny_snapshot
from engine.testing.snapshot_io import write_snapshot
from tests.conftest import Workdir


class MinimalSettings(BaseModel):
    type: str = "minimal"


class MinimalTarget(TargetBase):
    """One kind, a desired state and an apply: every other hook is the base's default."""

    config_model: ClassVar[type[Any]] = MinimalSettings
    held: ClassVar[dict[str, str]] = {}  # the "service": person id -> name
    kinds = (KindSpec("user", 1),)

    @classmethod
    def from_config(
        cls, name: str, settings: Mapping[str, Any], policy: TenantPolicy, secrets: SecretResolver
    ) -> MinimalTarget:
        MinimalSettings.model_validate(dict(settings))
        target = cls()
        target.name = name
        return target

    def desired(self, snapshot: Snapshot) -> DesiredState:
        users = {
            p.id: DesiredObject("user", p.id, attrs_of({"name": p.display_name}), p.id)
            for p in snapshot.persons.values()
        }
        return DesiredState({"user": users}, {})

    async def apply(self, batch: Batch, ctx: TargetContext) -> Sequence[Outcome]:
        out = []
        for op in batch.operations:
            if op.action is Action.DELETE:
                self.held.pop(op.key, None)
            else:
                self.held[op.key] = str(dict(op.attrs)["name"])
            out.append(Outcome.done(f"min-{op.key}"))
        return out


@pytest.fixture
def minimal_plugin(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """``type = "minimal"`` finds :class:`MinimalTarget`, as an installed entry point would."""
    real = plugins.load

    def load(group: str, name: str) -> Any:
        if (group, name) == ("ess.targets", "minimal"):
            return MinimalTarget
        return real(group, name)

    MinimalTarget.held.clear()
    monkeypatch.setattr(plugins, "load", load)
    yield
    MinimalTarget.held.clear()


MINIMAL_CONFIG = """\
[journal]
path = "ess.db"

[tenants.alpha]
source = { type = "memory", path = "snap.json" }

[tenants.alpha.policy]
retry_base_s = 0.01
retry_max_s = 0.05

[tenants.alpha.targets.mini]
type = "minimal"
"""


async def test_a_target_without_any_optional_hook_runs_through_the_runner(
    tmp_path: Path, minimal_plugin: None
) -> None:
    snap = tiny_snapshot(pupils=12, teachers=2)
    write_snapshot(snap, tmp_path / "snap.json")
    (tmp_path / "ess.toml").write_text(MINIMAL_CONFIG, encoding="utf-8")
    async with await Ops.open(tmp_path / "ess.toml", actor="test") as ops:
        first = await ops.sync("alpha")
        assert first.status == "succeeded", first.error
        assert first.counts["done"] == first.counts["planned"] == len(snap.persons)
        assert MinimalTarget.held == {p.id: p.display_name for p in snap.persons.values()}
        second = await ops.sync("alpha")
        assert second.status == "succeeded"
        assert second.counts["planned"] == 0  # the mirror is trusted: no refresh hook needed


def test_a_plugin_that_is_not_a_target_is_refused_with_its_name(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(plugins, "load", lambda group, name: object)
    with pytest.raises(plugins.PluginError, match=r"'odd' is not a target.*TargetBase"):
        plugins.target_class("odd")


# drift: the policy is the runner's ------------------------------------------------------


def _suspended_by_hand_undone(w: Workdir) -> str:
    """Re-enable, in the memory target's state, an account ESS suspended; returns its key."""
    state = orjson.loads(w.target_state.read_bytes())
    key = next(k for k, o in state["objects"]["user"].items() if o.get("suspended"))
    del state["objects"]["user"][key]["suspended"]
    w.target_state.write_bytes(orjson.dumps(state))
    return key


def _mirror_suspended(w: Workdir, key: str) -> bool:
    db = sqlite3.connect(w.journal)
    try:
        row = db.execute(
            "SELECT suspended_at FROM mirror WHERE kind='user' AND key=?", (key,)
        ).fetchone()
    finally:
        db.close()
    return row is not None and row[0] is not None


async def _suspend_one_then_undo_it_by_hand(w: Workdir) -> str:
    snap = tiny_snapshot()
    leaver = sorted(snap.persons)[0]
    async with await Ops.open(w.config, actor="test") as ops:
        assert (await ops.sync("alpha")).status == "succeeded"
        w.source(snap.without(persons={leaver}))
        assert (await ops.sync("alpha")).status == "succeeded"
    assert _mirror_suspended(w, leaver)
    assert _suspended_by_hand_undone(w) == leaver
    return leaver


async def test_drift_report_leaves_the_mirror_and_the_target_as_they_were(
    workdir: Workdir,
) -> None:
    workdir.write(policy='drift = "report"')
    key = await _suspend_one_then_undo_it_by_hand(workdir)
    async with await Ops.open(workdir.config, actor="test") as ops:
        run = await ops.sync("alpha")
        assert run.status == "succeeded"
        assert run.counts["planned"] == 0
        log = " ".join(e.message for e in await ops.events(run.id))
    assert "drift found in the target: user: 1 changed" in log
    assert 'policy drift = "report"' in log
    assert _mirror_suspended(workdir, key)  # the journal still holds what ESS wrote
    state = orjson.loads(workdir.target_state.read_bytes())
    assert not state["objects"]["user"][key].get("suspended")  # and nothing was written


async def test_drift_repair_suspends_again_an_account_re_enabled_by_hand(
    workdir: Workdir,
) -> None:
    key = await _suspend_one_then_undo_it_by_hand(workdir)
    async with await Ops.open(workdir.config, actor="test") as ops:
        run = await ops.sync("alpha")
        assert run.status == "succeeded"
        assert run.counts["planned"] == 1
        ops_done = await ops.operations(run.id)
    assert [(o.action, o.key) for o in ops_done] == [("suspend", key)]
    state = orjson.loads(workdir.target_state.read_bytes())
    assert state["objects"]["user"][key].get("suspended") is True
    assert _mirror_suspended(workdir, key)
