"""SS 12000's own rules run through the engine: a school unit without a skolenhetskod is one
finding, from the source's rule table."""

from __future__ import annotations

import copy
from pathlib import Path

from ss12000_helpers import context

from adapters.ss12000.config import SS12000Config
from adapters.ss12000.sample.dataset import Dataset, write_dataset
from adapters.ss12000.source import SS12000Source
from engine.validate import check_read


async def test_a_school_unit_without_a_code_is_one_finding(
    small_dataset: Dataset, tmp_path: Path
) -> None:
    ds = copy.deepcopy(small_dataset)
    unit = next(o for o in ds.entities["organisations"] if o.get("schoolUnitCode"))
    del unit["schoolUnitCode"]
    unit["organisationType"] = "Skolenhet"
    write_dataset(ds, tmp_path)
    source = SS12000Source(SS12000Config(path=str(tmp_path)))
    read = await source.read(context())
    _, findings = check_read(read.snapshot, read.findings, {}, source.rules)
    about = [f for f in findings if f.record_id == unit["id"]]
    assert [f.code for f in about] == ["ss12000.no_school_unit_code"]
    assert unit["id"] in read.snapshot.schools  # a warning: the school is still synced
