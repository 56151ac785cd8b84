"""Folder reads with a helper process: the largest entity is read in a second process and its
part taken in, with the same snapshot and findings as a read in one process, the same error for
a bad page, and a read that still succeeds when the helper itself fails."""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

import orjson
import pytest
from ss12000_helpers import AS_OF, MemoryCache, same_snapshot

from adapters.ss12000.config import SS12000Config
from adapters.ss12000.read_helper import HelperSettings, helper_entity
from adapters.ss12000.sample.dataset import Dataset, write_dataset
from adapters.ss12000.source import SS12000Source
from engine.source import SourceContext, SourceError, SourceRead

ALWAYS = HelperSettings(min_bytes=0, cpus=2)  # a helper even for a small folder


def source(path: Path, helper: HelperSettings | None, **settings: object) -> SS12000Source:
    if helper is None:
        return SS12000Source(SS12000Config(path=str(path), parallel_read=False, **settings))
    return SS12000Source(SS12000Config(path=str(path), **settings), helper=helper)


async def read(
    path: Path, helper: HelperSettings | None, events: list[tuple[str, str]] | None = None
) -> SourceRead:
    log = events if events is not None else []
    ctx = SourceContext(
        "test", MemoryCache(), AS_OF, emit=lambda level, msg: log.append((level, msg))
    )
    return await source(path, helper).read(ctx)


async def read_both(
    path: Path, helper: HelperSettings = ALWAYS, events: list[tuple[str, str]] | None = None
) -> tuple[SourceRead, SourceRead]:
    """The folder read in one process and with ``helper``: the same snapshot and the same
    findings, in the same order."""
    alone = await read(path, None)
    helped = await read(path, helper, events)
    same_snapshot(alone.snapshot, helped.snapshot)
    assert helped.findings == alone.findings
    return alone, helped


def test_the_largest_entity_goes_to_a_helper_only_when_worth_it(
    small_dataset: Dataset, tmp_path: Path
) -> None:
    write_dataset(small_dataset, tmp_path)
    sizes = {p.stem: p.stat().st_size for p in tmp_path.glob("*.json")}
    largest = max(("organisations", "persons", "duties", "groups", "activities"), key=sizes.get)
    assert helper_entity(tmp_path, ALWAYS) == largest
    assert helper_entity(tmp_path, HelperSettings(min_bytes=0, cpus=1)) is None
    assert helper_entity(tmp_path, HelperSettings(min_bytes=sizes[largest] + 1, cpus=8)) is None
    assert helper_entity(tmp_path, HelperSettings(min_bytes=sizes[largest], cpus=8)) == largest


@pytest.mark.parametrize(
    "entity", [None, "organisations", "persons", "duties", "groups", "activities"]
)
async def test_a_helper_read_gives_the_same_snapshot(
    small_dataset: Dataset, tmp_path: Path, entity: str | None
) -> None:
    """Whichever entity the helper reads (by default the largest), the snapshot is the same:
    what a read resolves ahead depends on which entity is still on its way."""
    write_dataset(small_dataset, tmp_path)
    alone, helped = await read_both(tmp_path, replace(ALWAYS, entity=entity))
    assert list(helped.snapshot.memberships) == list(alone.snapshot.memberships)
    assert helped.stats["helper_pages"] == 1
    assert helped.stats["helper_peak_mb"] > 0
    assert "helper_pages" not in alone.stats
    assert helped.stats["pages"] == alone.stats["pages"] == 5
    counts = {k: v for k, v in helped.stats.items() if not k.startswith(("helper", "pages"))}
    assert counts == {k: v for k, v in alone.stats.items() if k != "pages"}


def _broken_copy(dataset: Dataset, folder: Path) -> None:
    """The dataset with refused records in every entity, so findings come from both sides."""
    write_dataset(dataset, folder)
    for entity, spoil in (
        ("persons", {"givenName": ""}),
        ("groups", {"groupType": "Lunchlag"}),
        ("groups", {"displayName": None}),
        ("activities", {"organisation": {"id": ""}}),
    ):
        path = folder / f"{entity}.json"
        page = orjson.loads(path.read_bytes())
        index = 3 if spoil.get("displayName", 1) is None else 1
        page["data"][index].update(spoil)
        page["data"].append({"id": f"odd-{entity}-{len(page['data'])}", "displayName": 7})
        if entity == "groups":  # a member the source does not have
            page["data"][5]["groupMemberships"].append({"person": {"id": "nobody"}})
        if entity == "activities":  # a teacher whose duty is not there
            page["data"][5]["teachers"].append({"duty": {"id": "no-such-duty"}})
        path.write_bytes(orjson.dumps(page))


@pytest.mark.parametrize("entity", ["persons", "groups", "activities"])
async def test_findings_keep_their_order_with_a_helper(
    small_dataset: Dataset, tmp_path: Path, entity: str
) -> None:
    _broken_copy(small_dataset, tmp_path)
    # the same findings, in the same order, whichever entity the helper reads
    alone, _ = await read_both(tmp_path, replace(ALWAYS, entity=entity))
    kinds = [f.record_type for f in alone.findings]
    assert {"person", "group", "activity"} <= set(kinds)
    assert kinds.count("group") >= 3
    codes = {f.code for f in alone.findings}
    assert {"ss12000.unknown_member", "ss12000.unknown_teacher"} <= codes


async def test_a_bad_page_in_the_helper_is_the_same_error(
    small_dataset: Dataset, tmp_path: Path
) -> None:
    write_dataset(small_dataset, tmp_path)
    entity = helper_entity(tmp_path, ALWAYS)
    assert entity is not None
    path = tmp_path / f"{entity}.json"
    path.write_bytes(path.read_bytes()[:5000])
    with pytest.raises(SourceError) as alone:
        await read(tmp_path, None)
    with pytest.raises(SourceError) as helped:
        await read(tmp_path, ALWAYS)
    assert str(helped.value) == str(alone.value)
    assert f"{entity}.json" in str(helped.value)
    assert "not valid JSON" in str(helped.value)


@pytest.mark.parametrize(
    ("python", "said"),
    [
        ("/nonexistent/python3", "could not start"),
        ("/bin/false", "gave no usable answer (exit code 1"),
        (sys.executable + " -c", "could not start"),  # not a program: a path with a space
    ],
)
async def test_a_failing_helper_does_not_fail_the_read(
    small_dataset: Dataset, tmp_path: Path, python: str, said: str
) -> None:
    write_dataset(small_dataset, tmp_path)
    events: list[tuple[str, str]] = []
    settings = HelperSettings(min_bytes=0, cpus=2, python=python)
    alone, helped = await read_both(tmp_path, settings, events)
    assert "helper_pages" not in helped.stats
    assert helped.stats["pages"] == alone.stats["pages"]
    warnings = [msg for level, msg in events if level == "warning"]
    assert len(warnings) == 1
    assert said in warnings[0]
    assert "ss12000 folder read" in warnings[0]


async def test_a_helper_killed_mid_read_leaves_the_read_whole(
    small_dataset: Dataset, tmp_path: Path
) -> None:
    """A helper that dies by a signal (out of memory, killed by an operator) is read around."""
    write_dataset(small_dataset, tmp_path)
    killer = tmp_path / "killed-python"
    killer.write_text("#!/bin/sh\nkill -9 $$\n")
    killer.chmod(0o755)
    events: list[tuple[str, str]] = []
    await read_both(tmp_path, HelperSettings(min_bytes=0, cpus=2, python=str(killer)), events)
    assert any("exit code -9" in msg for level, msg in events if level == "warning")
