"""The suite is no rubber stamp: a target that misbehaves fails it, and a declared
inapplicability is reported with its reason.

Each test runs a case against a memory target set up to break the case's promise (a target
without natural-key idempotency asked to adopt, a target that cannot refuse at the tenant
level, a source that drops a
record) and expects the case to fail, naming the promise.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pytest

from engine.model import Snapshot
from engine.testing.conformance import (
    CASES,
    Bench,
    ConformanceFailure,
    Fault,
    capability_gaps,
    skip_reason,
)
from engine.testing.conformance.cases import adopt_existing, tenant_error_stops
from engine.testing.conformance.memory import STRICT_CANNOT_ADOPT, MemoryHarness
from engine.testing.conformance.sources import MunicipalitySpec, same_snapshot


async def test_a_target_that_duplicates_on_create_fails_adopt(tmp_path: Path) -> None:
    strict = MemoryHarness(tmp_path, strict=True)  # makes a second object for the same key
    with pytest.raises(ConformanceFailure, match="no duplicates: 1 natural key"):
        await adopt_existing(Bench(tmp_path, strict))


class NoTenantRefusal(MemoryHarness):
    """A target that keeps writing whatever happens to the tenant's consent."""

    def faults(self, mix: Mapping[Fault, float], *, seed: int = 0) -> None:
        super().faults({f: r for f, r in mix.items() if f is not Fault.TENANT}, seed=seed)


async def test_a_target_that_ignores_a_revoked_tenant_fails_the_tenant_case(
    tmp_path: Path,
) -> None:
    with pytest.raises(ConformanceFailure, match="a tenant-level error stops the run"):
        await tenant_error_stops(Bench(tmp_path, NoTenantRefusal(tmp_path)))


class ReadsOnlyAndDropsOne:
    """A source that loses one pupil on the way."""

    name = "drops-one"
    inapplicable: Mapping[str, str] = {}

    def __init__(self, inner: object, *, drop: bool) -> None:
        self.inner = inner
        self.drop = drop

    async def read(self, spec: MunicipalitySpec) -> Snapshot:
        snap: Snapshot = await self.inner.read(spec)  # type: ignore[attr-defined]
        if not self.drop:
            return snap
        return snap.without(persons={sorted(snap.persons)[0]})


class BuilderSource:
    """The engine's own builder standing in for a source: fast and deterministic."""

    name = "builder"
    inapplicable: Mapping[str, str] = {}

    async def read(self, spec: MunicipalitySpec) -> Snapshot:
        from engine.testing.builder import tiny_snapshot

        return tiny_snapshot(seed=spec.seed, pupils=20, as_of=spec.as_of)


async def test_a_source_that_loses_a_record_fails_the_source_case() -> None:
    spec = MunicipalitySpec()
    await same_snapshot(BuilderSource(), ReadsOnlyAndDropsOne(BuilderSource(), drop=False), spec)
    with pytest.raises(ConformanceFailure, match=r"drops-one differs from builder.*person"):
        await same_snapshot(BuilderSource(), ReadsOnlyAndDropsOne(BuilderSource(), drop=True), spec)


def test_a_declared_inapplicability_is_the_skip_reason() -> None:
    strict = MemoryHarness(Path("."), strict=True)
    adopt = next(c for c in CASES if c.id == "adopt_existing")
    crash = next(c for c in CASES if c.family == "crash")
    assert skip_reason(adopt, strict.inapplicable) == STRICT_CANNOT_ADOPT
    assert skip_reason(crash, strict.inapplicable) is None


def test_a_target_that_reads_no_drift_has_the_drift_case_ruled_out() -> None:
    class FileFeed:
        reads_drift = False

    class Service:
        reads_drift = True

    class Undeclared:
        pass

    drift = next(c for c in CASES if c.family == "drift")
    assert "reads_drift = False" in (skip_reason(drift, capability_gaps(FileFeed)) or "")
    assert skip_reason(drift, capability_gaps(Service)) is None
    assert skip_reason(drift, capability_gaps(Undeclared)) is None


def test_every_case_has_its_own_id_and_the_long_ones_are_marked() -> None:
    ids = [c.id for c in CASES]
    assert len(ids) == len(set(ids))
    assert {c.id for c in CASES if c.long} == {"fault_matrix_30pct"}
    assert {c.family for c in CASES} >= {
        "idempotent_create",
        "adopt_existing",
        "update",
        "link_unlink",
        "suspend_retire",
        "crash",
        "drift",
        "throttle",
        "tenant_error",
        "in_doubt",
        "fault_matrix",
    }


async def test_the_memory_target_records_a_write_sent_again_before_its_retry_after(
    tmp_path: Path,
) -> None:
    """What the throttle case reads: a client that comes back early is counted."""
    from engine.config import TenantPolicy
    from engine.plan import Action, Operation
    from engine.target import Batch, TargetContext
    from engine.testing.memory_target import MemoryTarget, MemoryTargetConfig

    harness = MemoryHarness(tmp_path)
    cfg = MemoryTargetConfig(state=harness.state_path, throttle_rate=1.0, retry_after_s=30.0)
    target = MemoryTarget("memory", cfg, TenantPolicy(), tmp_path)
    op = Operation(1, "memory", Action.CREATE, "school", "s-1", attrs=(("name", "Skolan"),))
    ctx = TargetContext("alpha", 1)
    first = await target.apply(Batch((op,)), ctx)
    assert first[0].reason == "throttled" and first[0].retry_after == 30.0
    assert harness.throttle_record() == (1, 0)
    await target.apply(Batch((op,)), ctx)  # at once, not 30 s later
    assert harness.throttle_record() == (2, 1)
