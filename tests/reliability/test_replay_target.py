"""The memory-replay target: its faults depend on the seed and the attempt, not on the order in
which requests arrive."""

from __future__ import annotations

from pathlib import Path

from engine.config import TenantPolicy
from engine.plan import Action, Operation
from engine.target import Outcome, TargetContext
from engine.testing.memory_target import MemoryTargetConfig
from engine.testing.replay_target import ReplayMemoryTarget

CTX = TargetContext("alpha", 1)


def ops(n: int, attempts: int = 1) -> list[Operation]:
    return [
        Operation(i, "mem", Action.CREATE, "user", f"p{i}", attrs=(("name", f"P{i}"),))._replace(
            attempts=attempts
        )
        for i in range(n)
    ]


def answers(path: Path, batch: list[Operation]) -> dict[str, tuple[str, str]]:
    path.mkdir()
    cfg = MemoryTargetConfig(
        state=path / "t.json", seed=5, fault_rate=0.2, applied_fault_rate=0.2, throttle_rate=0.1
    )
    t = ReplayMemoryTarget("mem", cfg, TenantPolicy(), path)
    out: dict[str, Outcome] = {op.key: t._apply_one(op, CTX) for op in batch}
    return {k: (o.kind.value, o.reason) for k, o in out.items()}


def test_faults_follow_the_attempt_not_the_order(tmp_path: Path) -> None:
    batch = ops(80)
    forward = answers(tmp_path / "a", batch)
    backward = answers(tmp_path / "b", batch[::-1])
    assert forward == backward
    faulted = sum(kind != "done" for kind, _ in forward.values())
    assert 10 < faulted < 60, faulted
    again = answers(tmp_path / "c", ops(80, attempts=2))
    assert again != forward  # a retry is a new draw
