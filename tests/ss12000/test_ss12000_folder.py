"""Folder mode: a dump of SS 12000 pages (what the generator writes, or what a customer sends)
maps exactly like the same data read over HTTP."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest
from ss12000_helpers import context, same_snapshot, source_for

from adapters.ss12000.config import SS12000Config
from adapters.ss12000.sample.dataset import Dataset, write_dataset
from adapters.ss12000.sandbox import SS12000Sandbox
from adapters.ss12000.source import SS12000Source
from engine.source import SourceError


def folder_source(path: Path) -> SS12000Source:
    return SS12000Source(SS12000Config(path=str(path)))


async def test_the_generator_dump_reads_like_the_server(
    small_dataset: Dataset, tmp_path: Path
) -> None:
    write_dataset(small_dataset, tmp_path)
    folder = await folder_source(tmp_path).read(context())
    async with SS12000Sandbox(small_dataset) as sandbox:
        source = source_for(sandbox.info)
        served = await source.read(context())
        await source.aclose()
    assert folder.mode == "folder"
    same_snapshot(folder.snapshot, served.snapshot)
    assert folder.stats["persons"] == small_dataset.counts()["persons"]
    assert folder.findings == ()


async def test_pages_in_subfolders_and_bare_lists(small_dataset: Dataset, tmp_path: Path) -> None:
    whole = tmp_path / "whole"
    write_dataset(small_dataset, whole)
    split = tmp_path / "split"
    for entity, records in small_dataset.entities.items():
        (split / entity).mkdir(parents=True)
        for n in range(0, len(records), 37):
            chunk = records[n : n + 37]
            doc = chunk if n % 2 else {"data": chunk, "pageToken": f"t{n}"}
            (split / entity / f"page-{n:05d}.json").write_bytes(orjson.dumps(doc))
    a = await folder_source(whole).read(context())
    b = await folder_source(split).read(context())
    same_snapshot(a.snapshot, b.snapshot)


async def test_a_broken_or_incomplete_folder_is_named(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="not a folder"):
        await folder_source(tmp_path / "missing").read(context())
    with pytest.raises(SourceError, match="no pages for organisations, persons, groups"):
        await folder_source(tmp_path).read(context())
    for entity in ("organisations", "persons"):
        (tmp_path / f"{entity}.json").write_bytes(b'{"data": []}')
    (tmp_path / "groups.json").write_bytes(b'{"data": [{"id": "g1", ')
    with pytest.raises(SourceError) as err:
        await folder_source(tmp_path).read(context())
    assert "groups.json" in str(err.value)
    assert "not valid JSON" in str(err.value)
    (tmp_path / "groups.json").write_bytes(b"[]")
    read = await folder_source(tmp_path).read(context())
    missing = sorted(f.message for f in read.findings if f.code == "ss12000.missing_entity")
    assert len(missing) == 2
    assert "activities" in missing[0]
    assert "duties" in missing[1]
