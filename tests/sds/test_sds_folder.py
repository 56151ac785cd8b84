"""The delivered set on disk: a swap stopped half-way is finished, a damaged set stops the run
with a message instead of a partial delivery, and only the newest sets are kept."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from sds_support import FolderFeed

from adapters.sds.files import write_set
from adapters.sds.folder import OLD, SetFolder
from engine.testing.conformance import Bench
from engine.testing.conformance.cases import municipality, renamed

ORG = {"o1": {"sourcedId": "o1", "name": "A", "type": "school", "parentSourcedId": ""}}


def test_a_swap_stopped_between_its_renames_is_finished(tmp_path: Path) -> None:
    folder = SetFolder(tmp_path)
    folder.write(write_set({"org": ORG}))
    # a copy-swap (no symlinks) that stopped after moving the current set aside
    os.replace(folder.current, tmp_path / OLD)
    assert folder.last() is not None
    assert (folder.last() or {})["org"] == ORG
    assert not (tmp_path / OLD).exists()


def test_only_the_newest_sets_are_kept(tmp_path: Path) -> None:
    folder = SetFolder(tmp_path)
    for n in range(5):
        org = {f"o{n}": {"sourcedId": f"o{n}", "name": "A", "type": "school"}}
        folder.write(write_set({"org": org}))
    assert len([p for p in (tmp_path / "sets").iterdir()]) == 3
    assert set((folder.last() or {})["org"]) == {"o4"}


async def test_a_damaged_set_stops_the_run_instead_of_a_partial_delivery(tmp_path: Path) -> None:
    feed = FolderFeed(tmp_path)
    bench = Bench(tmp_path, feed)
    snap = bench.source(municipality())
    assert (await bench.sync()).status == "succeeded"
    (feed.folder / "current" / "users.csv").unlink()
    bench.source(renamed(snap))
    run = await bench.sync()
    assert run.status == "failed"
    assert run.error and "users.csv is missing" in run.error and "restore it" in run.error
    assert len(feed.sets()) == 1  # nothing delivered


def test_without_symlinks_current_is_a_copy_swapped_in(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise OSError("symlinks are not allowed here")

    monkeypatch.setattr(Path, "symlink_to", refuse)  # a fault this machine cannot make
    folder = SetFolder(tmp_path)
    folder.write(write_set({"org": ORG}))
    assert folder.current.is_dir() and not folder.current.is_symlink()
    newer = {"o2": {"sourcedId": "o2", "name": "B", "type": "school", "parentSourcedId": ""}}
    folder.write(write_set({"org": newer}))
    assert (folder.last() or {})["org"] == newer
    assert not (tmp_path / OLD).exists()
