"""The memory target with faults that replay exactly (``type = "memory-replay"``).

The plain memory target draws its faults from one random stream in the order requests arrive,
so retries and concurrency change which write gets which fault from one run to the next. Here
each fault is a function of the seed and the attempt itself (kind, key, parent, action and
attempt number), so a failing example of a property test replays to the same faults. It adds
timeouts: the answer is lost, and the write may or may not have been applied.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any, ClassVar

from pydantic import Field

from engine.plan import Operation
from engine.secrets import SecretResolver
from engine.target import Outcome, TargetContext
from engine.testing.memory_target import MemoryTarget, MemoryTargetConfig


class ReplayMemoryTargetConfig(MemoryTargetConfig):
    type: str = "memory-replay"
    timeout_rate: float = Field(0.0, ge=0, le=1)  # no answer; applied or not, half and half


def roll(seed: int, op: Operation, salt: str) -> float:
    """A number in [0, 1) fixed by the seed, the attempt and ``salt``."""
    text = f"{seed}|{salt}|{op.kind}|{op.parent}|{op.key}|{op.action}|{op.attempts}"
    digest = hashlib.blake2b(text.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


class ReplayMemoryTarget(MemoryTarget):
    """Faults decided per attempt, not per arrival."""

    config_model: ClassVar[type[Any]] = ReplayMemoryTargetConfig
    cfg: ReplayMemoryTargetConfig

    @classmethod
    def from_config(
        cls, name: str, settings: Mapping[str, Any], policy: Any, secrets: SecretResolver
    ) -> ReplayMemoryTarget:
        cfg = ReplayMemoryTargetConfig.model_validate(dict(settings))
        return cls(name, cfg, policy, secrets.base_dir)

    def _apply_one(self, op: Operation, ctx: TargetContext) -> Outcome:
        cfg = self.cfg
        if cfg.fatal or op.key in cfg.reject_keys or op.key in cfg.flaky_keys:
            return super()._apply_one(op, ctx)
        if op.parent and op.parent in cfg.reject_keys:
            return super()._apply_one(op, ctx)
        r = roll(cfg.seed, op, "answer")
        if r < cfg.throttle_rate:
            return Outcome.retry("throttled", "429 Too Many Requests", cfg.retry_after_s)
        r -= cfg.throttle_rate
        if r < cfg.fault_rate:
            return Outcome.retry("server_error", "500 Internal Server Error")
        r -= cfg.fault_rate
        if r < cfg.timeout_rate:
            if roll(cfg.seed, op, "timeout applied") < 0.5:
                self._effect(op, ctx)
                self.state["writes"] += 1
            return Outcome.retry("timeout", "no answer within the client's timeout")
        outcome = self._effect(op, ctx)
        self.state["writes"] += 1
        if roll(cfg.seed, op, "applied fault") < cfg.applied_fault_rate:
            return Outcome.retry("server_error", "502 after the write was applied")
        return outcome
