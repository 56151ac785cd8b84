"""``ess source rekey`` end to end: a municipality synced from an IMS export moves to the
SS 12000 API (here its folder form), whose ids all differ; after the rekey the next run plans
no create and no removal, and what could not be matched is held, never removed."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path

import orjson

from engine.ops import Ops
from tests.rekey.rekey_support import IMS, SS12000, ess, new_ids, write_config


def _target(tmp_path: Path) -> dict[str, dict[str, dict[str, object]]]:
    state: dict[str, dict[str, dict[str, object]]] = orjson.loads(
        (tmp_path / "target.json").read_bytes()
    )
    return state


def _planned(counts: dict[str, int], action: str) -> int:
    return counts.get(f"planned_{action}", 0)


async def test_after_a_rekey_the_next_run_creates_and_removes_nothing(
    tmp_path: Path, ims_sample: Path, ss12000_copy: Callable[..., Path]
) -> None:
    config = write_config(tmp_path, IMS.format(path=ims_sample))
    async with await Ops.open(config, actor="test:eva") as ops:
        first = await ops.sync("lovsta")
        assert first.status == "succeeded", first.error
    before = _target(tmp_path)
    users = len(before["objects"]["user"])
    assert users > 20

    new = ss12000_copy()
    write_config(tmp_path, SS12000.format(path=new), IMS.format(path=ims_sample))
    async with await Ops.open(config, actor="test:eva") as ops:
        # without the rekey the new ids would be new people: every account made again
        unmoved = await ops.sync("lovsta", dry_run=True)
        assert _planned(unmoved.counts, "create") >= users
        assert _planned(unmoved.counts, "suspend") >= users

        dry = await ops.source_rekey("lovsta", dry_run=True)
        assert dry.unmatched == ()
        counts = dry.old_counts
        assert dry.new_counts == counts
        assert dry.matched == {
            "school": counts["schools"],
            "person": counts["persons"],
            "group": counts["groups"],
        }
        assert counts["persons"] >= users
        assert dry.moving == dry.matched  # every id differs
        assert dry.new_only == {"school": 0, "person": 0, "group": 0}
        assert dry.moved == {}
        again = await ops.sync("lovsta", dry_run=True)  # the dry run changed nothing
        assert _planned(again.counts, "create") >= users

        done = await ops.source_rekey("lovsta")
        assert done.moved["mirror"] >= users
        assert done.moved["links"] > 0
        after = await ops.sync("lovsta")
        assert after.status == "succeeded", after.error
        for action in ("create", "suspend", "delete", "archive", "unlink"):
            assert _planned(after.counts, action) == 0, (action, after.counts)
        audit = [a for a in await ops.audit("lovsta") if a.action == "source_rekey"]
        assert any("rekey applied" in a.detail for a in audit)
    now = _target(tmp_path)
    # the same objects, each made once, now under the new source's ids
    assert {o["id"] for o in now["objects"]["user"].values()} == {
        o["id"] for o in before["objects"]["user"].values()
    }
    assert set(now["objects"]["user"]) == {new_ids(k) for k in before["objects"]["user"]}
    assert all(n == 1 for n in now["creations"].values())


def _strip_keys_of(name: str) -> Callable[[str], str]:
    """Leave one person of the new source without eppn, e-mail or personnummer."""

    def edit(text: str) -> str:
        doc = json.loads(text)
        for p in doc["data"]:
            if p["givenName"] == name:
                p["eduPersonPrincipalNames"] = []
                p["emails"] = []
                p.pop("civicNo", None)
                break
        else:
            raise AssertionError(f"no {name} in the sample")
        return json.dumps(doc)

    return edit


async def test_an_unmatched_person_is_held_until_released(
    tmp_path: Path, ims_sample: Path, ss12000_copy: Callable[..., Path]
) -> None:
    config = write_config(tmp_path, IMS.format(path=ims_sample))
    async with await Ops.open(config, actor="test:eva") as ops:
        assert (await ops.sync("lovsta")).status == "succeeded"
    persons = json.loads((ims_sample / ".ss12000" / "persons.json").read_text("utf-8"))["data"]
    name = persons[0]["givenName"]
    new = ss12000_copy(_strip_keys_of(name))
    write_config(tmp_path, SS12000.format(path=new), IMS.format(path=ims_sample))
    code, shown = await asyncio.to_thread(
        ess, "--config", str(config), "source", "rekey", "lovsta", "--dry-run"
    )
    assert code == 1, shown  # something is unmatched
    assert "dry run" in shown and "rekey.unmatched" not in shown and "unmatched" in shown
    async with await Ops.open(config, actor="test:eva") as ops:
        report = await ops.source_rekey("lovsta")
        held = [u for u in report.unmatched if u.record_type == "person"]
        assert len(held) == 1 and held[0].reason == "unmatched"
        old_id = held[0].old_id
        assert report.new_only["person"] == 1  # the same person, unknown to the new source
        holds = await ops.source_holds("lovsta")
        assert [(h.record_type, h.key) for h in holds] == [("person", old_id)]
        run = await ops.sync("lovsta")
        assert run.status == "succeeded", run.error
        assert _planned(run.counts, "suspend") == 0  # held: not removed
        assert _planned(run.counts, "create") == 1  # the keyless record, as a new person
        user = _target(tmp_path)["objects"]["user"][old_id]
        assert not user.get("suspended")
        released = await ops.source_release("lovsta", [("person", old_id)])
        assert released.affected == 1
        later = await ops.sync("lovsta")
        assert _planned(later.counts, "suspend") == 1  # released: retired as usual


def test_a_rekey_without_a_from_table_says_what_to_add(tmp_path: Path, ims_sample: Path) -> None:
    config = write_config(tmp_path, IMS.format(path=ims_sample))
    code, shown = ess("--config", str(config), "source", "rekey", "lovsta")
    assert code == 2, shown  # a configuration problem
    assert "[tenants.lovsta.rekey]" in shown
    assert "Traceback" not in shown
