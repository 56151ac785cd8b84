"""Every conformance case against every registered target harness (tests/conformance/conftest.py).

A case the harness declares inapplicable, or the target's own capabilities rule out
(``reads_drift = False``), is skipped with that reason; the long variants (the fault matrix at
30%) carry the ``conformance`` marker, which the default run leaves out: ``pytest -m
conformance tests/conformance`` runs them.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from engine import plugins
from engine.testing.conformance import (
    CASES,
    Bench,
    Case,
    TargetHarness,
    capability_gaps,
    skip_reason,
)


def _param(case: Case) -> object:
    marks = [pytest.mark.conformance] if case.long else []
    return pytest.param(case, id=case.id, marks=marks)


@pytest.mark.parametrize("case", [_param(c) for c in CASES])
async def test_target_conforms(case: Case, harness: TargetHarness, tmp_path: Path) -> None:
    declared = {
        **capability_gaps(plugins.load("ess.targets", str(harness.table()["type"]))),
        **harness.inapplicable,
    }
    reason = skip_reason(case, declared)
    if reason:
        pytest.skip(f"{harness.name} declares {case.family} inapplicable: {reason}")
    await case.run(Bench(tmp_path, harness))


def test_the_default_run_keeps_the_10pct_matrix_and_leaves_30pct_to_the_marker() -> None:
    import tomllib

    pyproject = Path(__file__).resolve().parents[2] / "pyproject.toml"
    addopts = tomllib.loads(pyproject.read_text(encoding="utf-8"))["tool"]["pytest"]["ini_options"]
    assert "not conformance" in addopts["addopts"]
    assert {c.id for c in CASES if c.long} == {"fault_matrix_30pct"}
    assert any(c.id == "fault_matrix_10pct" and not c.long for c in CASES)
