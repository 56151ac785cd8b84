"""The same synthetic municipality, read through any source, gives the same snapshot: every
registered source harness against the reference (SS 12000 over HTTP)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from export_harness import (
    ImsFileHarness,
    ImsHttpsHarness,
    OneRosterCsvHarness,
    OneRosterRestHarness,
)
from ss12000_harness import SS12000FolderHarness, SS12000HttpHarness

from engine.source import SourceError
from engine.testing.conformance.sources import (
    MunicipalitySpec,
    SourceHarness,
    same_snapshot,
    snapshot_differences,
)

SourceFactory = Callable[[Path], SourceHarness]

REFERENCE: SourceFactory = lambda base: SS12000HttpHarness()  # noqa: E731
SOURCES: dict[str, SourceFactory] = {
    "ss12000-folder": SS12000FolderHarness,
    "ims-file": ImsFileHarness,
    "ims-zip": lambda base: ImsFileHarness(base, as_zip=True),
    "ims-delta": lambda base: ImsFileHarness(base, delta=True),
    "oneroster-csv": OneRosterCsvHarness,
    "oneroster-zip": lambda base: OneRosterCsvHarness(base, as_zip=True),
    "ims-https": ImsHttpsHarness,
    "oneroster-rest": OneRosterRestHarness,
}


@pytest.mark.parametrize("name", sorted(SOURCES))
async def test_source_reads_the_municipality_as_the_reference_does(
    name: str, tmp_path: Path
) -> None:
    other = SOURCES[name](tmp_path)
    reason = other.inapplicable.get("same_snapshot")
    if reason:
        pytest.skip(f"{other.name} declares same_snapshot inapplicable: {reason}")
    await same_snapshot(REFERENCE(tmp_path), other, MunicipalitySpec())


FAULTY: dict[str, Callable[[Path, int], ImsHttpsHarness | OneRosterRestHarness]] = {
    "ims-https": lambda base, seed: ImsHttpsHarness(base, fault_rate=0.3, fault_seed=seed),
    "oneroster-rest": lambda base, seed: OneRosterRestHarness(
        base, fault_rate=0.3, fault_seed=seed
    ),
}


@pytest.mark.parametrize("name", sorted(FAULTY))
async def test_faults_a_sandbox_injects_fail_the_read_and_never_shrink_it(
    name: str, tmp_path: Path
) -> None:
    """Each of several reads with 30% of requests broken (5xx, an HTML page, a cut-off body)
    either fails with a SourceError or gives the whole municipality: a fault never becomes a
    smaller snapshot, which would remove what it left out."""
    spec = MunicipalitySpec()
    whole = await REFERENCE(tmp_path).read(spec)
    failed = 0
    for seed in range(1, 6):
        try:
            got = await FAULTY[name](tmp_path, seed).read(spec)
        except SourceError:
            failed += 1
            continue
        assert not snapshot_differences(whole, got), (seed, snapshot_differences(whole, got)[:5])
    assert failed, "no read met a fault that stopped it: the faults were not injected"
