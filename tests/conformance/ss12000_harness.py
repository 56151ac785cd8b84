"""SS 12000 source harnesses: the municipality served by the SS 12000 sandbox and read over
HTTP, and the same municipality dumped to a folder and read in folder mode."""

from __future__ import annotations

import sys
from collections.abc import Mapping
from pathlib import Path

from adapters.ss12000.config import SS12000Config
from adapters.ss12000.sample.dataset import write_dataset
from adapters.ss12000.sample.generate import generate
from adapters.ss12000.sandbox import SS12000Sandbox
from adapters.ss12000.source import SS12000Source
from engine.model import Snapshot
from engine.testing.conformance.sources import MunicipalitySpec

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "ss12000"))

from ss12000_helpers import context, source_for


class SS12000HttpHarness:
    name = "ss12000-http"
    inapplicable: Mapping[str, str] = {}

    async def read(self, spec: MunicipalitySpec) -> Snapshot:
        dataset = generate(spec.pupils, spec.seed, spec.as_of)
        async with SS12000Sandbox(dataset) as sandbox:
            source = source_for(sandbox.info)
            try:
                return (await source.read(context(today=spec.as_of))).snapshot
            finally:
                await source.aclose()


class SS12000FolderHarness:
    name = "ss12000-folder"
    inapplicable: Mapping[str, str] = {}

    def __init__(self, base: Path) -> None:
        self.folder = base / "ss12000-dump"

    async def read(self, spec: MunicipalitySpec) -> Snapshot:
        write_dataset(generate(spec.pupils, spec.seed, spec.as_of), self.folder)
        source = SS12000Source(SS12000Config(path=str(self.folder)))
        try:
            read = await source.read(context(today=spec.as_of))
        finally:
            await source.aclose()
        assert read.mode == "folder"
        return read.snapshot
