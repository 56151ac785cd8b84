"""Several sources per tenant, end to end into the memory target: the gymnasium from an IMS
export, the grundskolor from the SS 12000 API's folder form (with ids of its own), merged into
one snapshot; a source that cannot be read holds every removal, or stops the run."""

from __future__ import annotations

import re
import shutil
import uuid
from pathlib import Path

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


def _setup(tmp_path: Path, sample: Path, on_error: str = "") -> Path:
    grund = tmp_path / "grund"
    shutil.copytree(sample / ".ss12000", grund)
    ns = uuid.UUID("0b7d2f5e-0000-4000-8000-000000000002")
    for f in grund.glob("*.json"):  # the other system's own ids
        text = f.read_text(encoding="utf-8")
        f.write_text(UUID.sub(lambda m: str(uuid.uuid5(ns, m.group(0))), text), "utf-8")
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
