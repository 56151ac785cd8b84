"""A run of the SDS feed killed at each crash point (SIGKILL in a child process) is taken over
by the next: the set SDS holds is the desired one, delivered once, and the journal is intact.

The conformance suite's crash cases kill a run at a second or third pass of a point, which a
feed that delivers one set a run never reaches; these kill it at the first pass of each."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from engine.testing.conformance import Bench
from engine.testing.conformance.cases import crash_recovery

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "conformance"))

from sds_harness import SdsHarness, shared_sandbox, stop_shared


@pytest.fixture(scope="module", autouse=True)
def _sandbox() -> object:
    yield shared_sandbox()
    stop_shared()


@pytest.mark.parametrize(
    "point", ["after_mark:1", "after_apply:1", "before_record:1", "after_record:1"]
)
async def test_a_run_killed_once_is_taken_over_without_a_second_delivery(
    point: str, tmp_path: Path
) -> None:
    harness = SdsHarness(shared_sandbox(), tmp_path)
    await crash_recovery(Bench(tmp_path, harness), point)
    deliveries = harness.sb.state()["deliveries"]
    digests = [d["digest"] for d in deliveries]
    # the first sync's set once, then the next term's set once
    assert len(digests) == len(set(digests)) == 2, deliveries
