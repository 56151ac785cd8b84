"""The same synthetic municipality, read through any source, gives the same snapshot: every
registered source harness against the reference (SS 12000 over HTTP)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from export_harness import ImsFileHarness, OneRosterCsvHarness
from ss12000_harness import SS12000FolderHarness, SS12000HttpHarness

from engine.testing.conformance.sources import MunicipalitySpec, SourceHarness, same_snapshot

SourceFactory = Callable[[Path], SourceHarness]

REFERENCE: SourceFactory = lambda base: SS12000HttpHarness()  # noqa: E731
SOURCES: dict[str, SourceFactory] = {
    "ss12000-folder": SS12000FolderHarness,
    "ims-file": ImsFileHarness,
    "ims-zip": lambda base: ImsFileHarness(base, as_zip=True),
    "ims-delta": lambda base: ImsFileHarness(base, delta=True),
    "oneroster-csv": OneRosterCsvHarness,
    "oneroster-zip": lambda base: OneRosterCsvHarness(base, as_zip=True),
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
