"""A municipality's life as a Hypothesis state machine: the source changes (pupils join and
leave, groups change, a term advances), records are corrupted and fixed, faults come and go,
runs crash at every named crash point, held plans are approved or rejected.

After every step: no natural key has two objects; nothing the source still lists was
suspended, unlinked or deleted; every item the journal calls done is in the target; a
succeeded run's dry-run successor plans nothing. At the end, with the faults stopped and the
corrupted records fixed, at most three runs converge on the desired state.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    precondition,
    rule,
    run_state_machine_as_test,
)

from tests.reliability import municipality as town
from tests.reliability.checks import (
    converge,
    done_items_present,
    dry_run_plans_nothing,
    no_duplicates,
    nothing_listed_removed,
)
from tests.reliability.targets import TargetKit, TrueState
from tests.reliability.world import CRASH_POINTS, World

FAULT_RATES = (0.0, 0.1, 0.3)


def life_settings(examples: int, steps: int) -> settings:
    """Derandomized (the same examples on every machine), no example database, and no
    shrinking unless ``ESS_LIFE_SHRINK=1``: shrinking a run of whole syncs can take many
    minutes, so CI reports the failing example as found and a developer shrinks it locally."""
    phases = [Phase.explicit, Phase.reuse, Phase.generate]
    if os.environ.get("ESS_LIFE_SHRINK") == "1":
        phases.append(Phase.shrink)
    return settings(
        derandomize=True,
        database=None,
        max_examples=examples,
        stateful_step_count=steps,
        deadline=None,
        phases=phases,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        print_blob=True,
    )


def run_life(machine: type[MunicipalityLife], examples: int, steps: int) -> None:
    """Run the machine and print what it did (examples, runs, seconds), pass or fail."""
    machine.tally.clear()
    started = time.monotonic()
    try:
        run_state_machine_as_test(machine, settings=life_settings(examples, steps))
    finally:
        t = machine.tally
        print(
            f"{machine.__name__}: {t['examples']} example(s), {t['runs']} run(s) and "
            f"{t['dry runs']} dry run(s) in {time.monotonic() - started:.0f} s"
        )


def run(coro: Any) -> Any:
    return asyncio.run(coro)


class MunicipalityLife(RuleBasedStateMachine):
    """Subclasses name the target through ``make_kit`` and the municipality's size."""

    make_kit: ClassVar[Callable[[Path], TargetKit]]
    pupils: ClassVar[int] = 30
    teachers: ClassVar[int] = 4
    tally: ClassVar[Counter[str]] = Counter()  # examples, steps and runs, for the figures

    def __init__(self) -> None:
        super().__init__()
        self.dir = Path(tempfile.mkdtemp(prefix="ess-life-"))
        self.world = World(self.dir, type(self).make_kit(self.dir))
        self.snap = town.first_snapshot(pupils=self.pupils, teachers=self.teachers)
        self.world.source(self.snap)
        self.world.faults(0.0)
        self.n = 0
        self.corruption: town.Corruption | None = None
        self.held: int | None = None

    def teardown(self) -> None:
        try:
            if self.corruption is not None:
                self._source(town.fix(self.snap, self.corruption))
                self.corruption = None
            run(converge(self.world, runs=3))
        finally:
            self.tally["examples"] += 1
            self.tally["runs"] += sum(1 for r in self.world.log if r.step != "dry run")
            self.tally["dry runs"] += sum(1 for r in self.world.log if r.step == "dry run")
            shutil.rmtree(self.dir, ignore_errors=True)

    # ------------------------------------------------------------------ the source
    def _source(self, snap: town.Snapshot) -> None:
        self.snap = snap
        self.world.source(snap)
        self.held = None  # a held plan is not approved once the source has moved on

    def _pupil(self, i: int) -> str | None:
        ps = town.pupils(self.snap)
        return ps[i % len(ps)] if ps else None

    @rule()
    def pupil_joins(self) -> None:
        self.n += 1
        self._source(town.join(self.snap, self.n))

    @rule(i=st.integers(0, 999))
    def pupil_leaves(self, i: int) -> None:
        pid = self._pupil(i)
        if pid is not None and len(town.pupils(self.snap)) > 5:
            self._source(town.leave(self.snap, pid))

    @rule(i=st.integers(0, 999))
    def pupil_changes_group(self, i: int) -> None:
        pid = self._pupil(i)
        if pid is not None:
            self.n += 1
            self._source(town.move(self.snap, pid, self.n))

    @rule(i=st.integers(0, 999))
    def group_renamed(self, i: int) -> None:
        gids = sorted(self.snap.groups)
        self.n += 1
        self._source(town.rename(self.snap, gids[i % len(gids)], self.n))

    @rule()
    def term_advances(self) -> None:
        self.n += 1
        self._source(town.advance_term(self.snap, self.n))

    @precondition(lambda self: self.corruption is None)
    @rule(i=st.integers(0, 999), j=st.integers(1, 999))
    def record_corrupted(self, i: int, j: int) -> None:
        ps = town.pupils(self.snap)
        pid, other = ps[i % len(ps)], ps[(i + j) % len(ps)]
        if pid != other:
            snap, self.corruption = town.corrupt(self.snap, pid, other)
            self._source(snap)

    @precondition(lambda self: self.corruption is not None)
    @rule()
    def record_fixed(self) -> None:
        assert self.corruption is not None
        self._source(town.fix(self.snap, self.corruption))
        self.corruption = None

    # ------------------------------------------------------------------ faults and runs
    @rule(rate=st.sampled_from(FAULT_RATES))
    def faults_change(self, rate: float) -> None:
        self.world.faults(rate)

    def _checked(self, before: TrueState) -> None:
        after = self.world.truth()
        no_duplicates(after)
        nothing_listed_removed(self.world, before, after, self.world.wanted())
        done_items_present(self.world, after)

    @rule()
    def sync(self) -> None:
        before = self.world.truth()
        summary = run(self.world.sync())
        self._checked(before)
        if summary.status == "held":
            self.held = summary.id
        elif summary.status == "succeeded":
            run(dry_run_plans_nothing(self.world))

    @rule(point=st.sampled_from(CRASH_POINTS), nth=st.integers(1, 3))
    def sync_crashes(self, point: str, nth: int) -> None:
        before = self.world.truth()
        self.world.crash_sync(point, nth)
        self._checked(before)
        self.held = None

    @precondition(lambda self: self.held is not None)
    @rule()
    def held_plan_approved(self) -> None:
        assert self.held is not None
        before = self.world.truth()
        run(self.world.approve(self.held))
        self.held = None
        self._checked(before)

    @precondition(lambda self: self.held is not None)
    @rule()
    def held_plan_rejected(self) -> None:
        assert self.held is not None
        run(self.world.reject(self.held))
        self.held = None
