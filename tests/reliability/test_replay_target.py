"""The memory-replay target: its faults depend on the seed and the attempt, not on the order in
which requests arrive, and a timeout leaves the write applied or not."""

from __future__ import annotations

from pathlib import Path

from engine.config import TenantPolicy
from engine.plan import Action, Operation
from engine.target import OutcomeKind, TargetContext
from engine.testing.replay_target import ReplayMemoryTarget, ReplayMemoryTargetConfig, roll


def ops(n: int) -> list[Operation]:
    return [
        Operation(i, "mem", Action.CREATE, "user", f"p{i}", attrs=(("name", f"P{i}"),))
        for i in range(n)
    ]


def target(path: Path, **knobs: float) -> ReplayMemoryTarget:
    cfg = ReplayMemoryTargetConfig(state=path / "t.json", seed=5, duplicate_creates=True, **knobs)
    return ReplayMemoryTarget("mem", cfg, TenantPolicy(), path)


CTX = TargetContext("alpha", 1, lambda kind, key: None, lambda level, message: None)


def outcomes(t: ReplayMemoryTarget, batch: list[Operation]) -> dict[str, OutcomeKind]:
    return {op.key: t._apply_one(op, CTX).kind for op in batch}


def test_faults_follow_the_attempt_not_the_order(tmp_path: Path) -> None:
    batch = ops(60)
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    forward = outcomes(target(tmp_path / "a", fault_rate=0.3), batch)
    backward = outcomes(target(tmp_path / "b", fault_rate=0.3), batch[::-1])
    assert forward == backward
    assert 5 < sum(k is OutcomeKind.RETRY for k in forward.values()) < 40
    retried = [op._replace(attempts=op.attempts + 1) for op in batch]
    assert [roll(5, op, "answer") for op in batch] != [roll(5, op, "answer") for op in retried]


def test_a_timeout_applies_some_writes_and_not_others(tmp_path: Path) -> None:
    t = target(tmp_path, timeout_rate=1.0)
    answers = outcomes(t, ops(40))
    assert set(answers.values()) == {OutcomeKind.RETRY}
    made = len(t.objects("user"))
    assert 5 < made < 35, made
