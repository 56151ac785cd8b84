"""The conformance suite: the contract every target (and source) passes, as plain async cases
over a harness that one fixture provides per target. No test framework is imported here;
tests/conformance/ wires the cases into pytest."""

from engine.testing.conformance.bench import Bench
from engine.testing.conformance.cases import CASES, Case, municipality, skip_reason
from engine.testing.conformance.harness import (
    ConformanceFailure,
    Drift,
    Fault,
    TargetHarness,
    TrueState,
    Wanted,
    capability_gaps,
    differences,
)

__all__ = [
    "CASES",
    "Bench",
    "Case",
    "ConformanceFailure",
    "Drift",
    "Fault",
    "TargetHarness",
    "TrueState",
    "Wanted",
    "capability_gaps",
    "differences",
    "municipality",
    "skip_reason",
]
