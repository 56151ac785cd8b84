"""Several sources per tenant, end to end into the memory target: the gymnasium from an IMS
export, the grundskolor from the SS 12000 API's folder form (with ids of its own), merged into
one snapshot; a source that cannot be read holds the removals of what it owned (the other
source's leavers go), or stops the run."""

from __future__ import annotations

import re
import shutil
import uuid
from pathlib import Path
from typing import Any

import orjson
import pytest
from typer.testing import CliRunner

from console.cli import app
from engine.ops import Ops

UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
GYMNASIUM = "19603464"  # Strandgårds gymnasium's skolenhetskod in the sample of this size and seed

CONFIG = """\
[journal]
path = "ess.db"

[privacy]
civic_key = "file:civic.key"

[tenants.lovsta]
name = "Lövsta kommun"

[tenants.lovsta.sources.gy]
type = "ims"
path = "{gy}"
schools = ["{code}"]
{on_error}
[tenants.lovsta.sources.grund]
type = "ss12000"
path = "{grund}"
parallel_read = false

[tenants.lovsta.policy]
max_attempts = 2
retry_base_s = 0.01
retry_max_s = 0.05

[tenants.lovsta.targets.mem]
type = "memory"
state = "target.json"
batch_size = 1000
"""


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("merge") / "ims"
    result = CliRunner().invoke(
        app, ["sample", "generate", "--format", "ims", "--size", "900", "--out", str(out)]
    )
    assert result.exit_code == 0, result.stdout
    return out


GRUND_IDS = uuid.UUID("0b7d2f5e-0000-4000-8000-000000000002")


def _setup(tmp_path: Path, sample: Path, on_error: str = "") -> Path:
    grund = tmp_path / "grund"
    shutil.copytree(sample / ".ss12000", grund)
    for f in grund.glob("*.json"):  # the other system's own ids
        text = f.read_text(encoding="utf-8")
        f.write_text(UUID.sub(lambda m: str(uuid.uuid5(GRUND_IDS, m.group(0))), text), "utf-8")
    gy = tmp_path / "gy"
    gy.mkdir()
    shutil.copy(sample / "0001-complete.xml", gy / "0001-complete.xml")
    (tmp_path / "civic.key").write_text("a-civic-key-of-the-test-1234", encoding="utf-8")
    config = tmp_path / "ess.toml"
    config.write_text(
        CONFIG.format(gy=gy, grund=grund, code=GYMNASIUM, on_error=on_error), encoding="utf-8"
    )
    return config


def _users(tmp_path: Path) -> dict[str, dict[str, object]]:
    state = orjson.loads((tmp_path / "target.json").read_bytes())
    users: dict[str, dict[str, object]] = state["objects"]["user"]
    return users


async def test_two_sources_make_one_municipality(tmp_path: Path, sample: Path) -> None:
    config = _setup(tmp_path, sample)
    async with await Ops.open(config, actor="test:eva") as ops:
        check = await ops.source_check("lovsta")
        assert check.counts["schools"] == 2  # the gymnasium from one, the rest from the other
        assert check.stats["gy.schools"] == 1 and check.stats["grund.schools"] == 1
        assert check.stats["gy.persons"] > 0 and check.stats["grund.persons"] > 0
        assert not [f for f in check.findings if f.code.startswith("merge.id")]
        run = await ops.sync("lovsta")
        assert run.status == "succeeded", run.error
        again = await ops.sync("lovsta")
        assert again.counts.get("planned", 0) == 0  # two reads merge the same way each time
    users = _users(tmp_path)
    logins = [dict(u["attrs"])["login"] for u in users.values()]  # type: ignore[call-overload]
    assert len(logins) == len(set(logins))  # a person in both sources is one account
    # every person of the one municipality once, though some are listed by both sources
    one = orjson.loads((sample / ".ss12000" / "persons.json").read_bytes())["data"]
    assert check.counts["persons"] == len(one)
    assert check.stats["gy.persons"] + check.stats["grund.persons"] > len(one)


async def test_a_source_that_fails_holds_its_part_while_the_other_goes_on(
    tmp_path: Path, sample: Path
) -> None:
    config = _setup(tmp_path, sample)
    async with await Ops.open(config, actor="test:eva") as ops:
        assert (await ops.sync("lovsta")).status == "succeeded"
        before = _users(tmp_path)
        (tmp_path / "gy" / "0001-complete.xml").write_bytes(b"<enterprise><person")  # cut off
        run = await ops.sync("lovsta")
        assert run.status == "succeeded", run.error
        assert run.counts.get("planned_suspend", 0) == 0  # the gymnasium's pupils stay
        assert run.counts.get("planned_delete", 0) == 0
        findings = await ops.findings("lovsta", run_id=run.id)
        assert any(f.code == "merge.source_failed" and f.record_id == "gy" for f in findings)
    after = _users(tmp_path)
    assert set(after) == set(before)
    assert not any(u.get("suspended") for u in after.values())


async def test_a_source_marked_stop_fails_the_run(tmp_path: Path, sample: Path) -> None:
    config = _setup(tmp_path, sample, on_error='on_error = "stop"')
    (tmp_path / "gy" / "0001-complete.xml").write_bytes(b"")
    async with await Ops.open(config, actor="test:eva") as ops:
        run = await ops.sync("lovsta")
        assert run.status == "failed"
        assert run.error is not None and run.error.startswith("gy: ")
        assert await ops.operations(run.id) == []
    assert not (tmp_path / "target.json").exists()  # nothing was sent


def _data(folder: Path, name: str) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = orjson.loads((folder / name).read_bytes())["data"]
    return rows


def _write(folder: Path, name: str, rows: list[dict[str, Any]]) -> None:
    (folder / name).write_bytes(orjson.dumps({"data": rows}))


def _schools_of(sample: Path) -> dict[str, set[str]]:
    """person id -> the skolenhetskoder of the schools they are placed or work at."""
    folder = sample / ".ss12000"
    code = {o["id"]: o.get("schoolUnitCode") for o in _data(folder, "organisations.json")}
    at: dict[str, set[str]] = {}
    for g in _data(folder, "groups.json"):
        for m in g.get("groupMemberships", []):
            at.setdefault(m["person"]["id"], set()).add(code[g["organisation"]["id"]])
    for d in _data(folder, "duties.json"):
        at.setdefault(d["person"]["id"], set()).add(code[d["dutyAt"]["id"]])
    return at


def _leave(folder: Path, pid: str) -> None:
    """The SS 12000 folder without the person: their record, memberships and duties."""
    _write(folder, "persons.json", [p for p in _data(folder, "persons.json") if p["id"] != pid])
    groups = _data(folder, "groups.json")
    for g in groups:
        g["groupMemberships"] = [
            m for m in g.get("groupMemberships", []) if m["person"]["id"] != pid
        ]
    _write(folder, "groups.json", groups)
    duties = _data(folder, "duties.json")
    gone = {d["id"] for d in duties if d["person"]["id"] == pid}
    _write(folder, "duties.json", [d for d in duties if d["id"] not in gone])
    activities = _data(folder, "activities.json")
    for a in activities:
        a["teachers"] = [t for t in a.get("teachers", []) if t["duty"]["id"] not in gone]
    _write(folder, "activities.json", activities)


async def test_a_failed_source_holds_only_what_it_owned(tmp_path: Path, sample: Path) -> None:
    """The gymnasium's export is cut off. A grundskola pupil who left is suspended all the
    same; a teacher at both schools whom the grundskola's system no longer lists is not (the
    gymnasium's may list them still); nothing of the gymnasium is removed."""
    config = _setup(tmp_path, sample)
    at = _schools_of(sample)
    grund_only = sorted(p for p, codes in at.items() if codes == {"78670059"})
    both = sorted(p for p, codes in at.items() if len(codes) == 2)
    assert grund_only and both
    leaver, moved, teacher = grund_only[0], grund_only[1], both[0]
    grund = tmp_path / "grund"
    async with await Ops.open(config, actor="test:eva") as ops:
        assert (await ops.sync("lovsta")).status == "succeeded"
        before = _users(tmp_path)
        state_before = orjson.loads((tmp_path / "target.json").read_bytes())
        groups_before, links_before = (
            state_before["objects"]["group"],
            state_before["links"]["group.member"],
        )
        (tmp_path / "gy" / "0001-complete.xml").write_bytes(b"<enterprise><person")  # cut off
        _leave(grund, str(uuid.uuid5(GRUND_IDS, leaver)))
        _leave(grund, str(uuid.uuid5(GRUND_IDS, teacher)))
        groups = _data(grund, "groups.json")  # a pupil moves out of one class, stays in others
        moved_id = str(uuid.uuid5(GRUND_IDS, moved))
        left_group = next(
            g for g in groups if any(m["person"]["id"] == moved_id for m in g["groupMemberships"])
        )
        left_group["groupMemberships"] = [
            m for m in left_group["groupMemberships"] if m["person"]["id"] != moved_id
        ]
        _write(grund, "groups.json", groups)
        run = await ops.sync("lovsta")
        assert run.status == "succeeded", run.error
        assert run.counts.get("planned_suspend", 0) == 1  # the grundskola's leaver, only
        assert run.counts.get("planned_delete", 0) == 0
        assert run.counts.get("planned_archive", 0) == 0
        assert run.counts.get("planned_unlink", 0) >= 1  # the grundskola's own change
        findings = await ops.findings("lovsta", run_id=run.id)
        held = [f for f in findings if f.code == "merge.removals_held"]
        assert held and held[0].record_id == "gy"
    after = _users(tmp_path)
    assert set(after) == set(before)
    suspended = {k for k, u in after.items() if u.get("suspended")}
    assert suspended == {str(uuid.uuid5(GRUND_IDS, leaver))}
    state = orjson.loads((tmp_path / "target.json").read_bytes())
    assert set(state["objects"]["group"]) == set(groups_before)
    assert not any(g.get("archived") for g in state["objects"]["group"].values())
    assert [left_group["id"], moved_id] in links_before
    assert [left_group["id"], moved_id] not in state["links"]["group.member"]
