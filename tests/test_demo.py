"""`ess demo` end to end in a real subprocess: both runs succeed, nothing fails, and what the
Microsoft, Google and SCIM sandboxes hold is what the journal's mirror says ESS made in each."""

from __future__ import annotations

import os
import signal
import sqlite3
import ssl
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import httpx
import pytest

ESS = Path(sys.executable).with_name("ess")


@pytest.mark.slow
def test_demo_syncs_twice_and_the_sandbox_matches_the_journal(tmp_path: Path) -> None:
    workdir = tmp_path / "demo"
    proc = subprocess.Popen(
        [str(ESS), "demo", "--no-console", "--keep-running", "--workdir", str(workdir)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "COLUMNS": "120"},
    )
    out: list[str] = []
    try:
        assert proc.stdout is not None
        deadline = time.monotonic() + 240
        for line in proc.stdout:
            out.append(line)
            if "Press Ctrl-C" in line:
                break
            assert time.monotonic() < deadline, "the demo took too long"
        text = "".join(out)
        assert "Press Ctrl-C" in text, text

        db = sqlite3.connect(workdir / "ess.db")
        runs = db.execute("SELECT status, trigger FROM runs ORDER BY id").fetchall()
        assert runs == [("succeeded", "demo"), ("succeeded", "demo")]
        trouble = db.execute(
            "SELECT COUNT(*) FROM operations WHERE status IN ('failed','dead','blocked')"
        ).fetchone()[0]
        assert trouble == 0
        mirror = dict(
            db.execute(
                "SELECT kind, COUNT(*) FROM mirror WHERE suspended_at IS NULL"
                " AND target = 'microsoft' GROUP BY kind"
            ).fetchall()
        )
        suspended = db.execute(
            "SELECT COUNT(*) FROM mirror WHERE kind='user' AND suspended_at IS NOT NULL"
            " AND target = 'microsoft'"
        ).fetchone()[0]
        scim = dict(
            db.execute(
                "SELECT kind, COUNT(*) FROM mirror WHERE target = 'scim'"
                " AND suspended_at IS NULL GROUP BY kind"
            ).fetchall()
        )
        google = {
            (kind, bool(archived), bool(gone)): n
            for kind, archived, gone, n in db.execute(
                "SELECT kind, archived, suspended_at IS NOT NULL, COUNT(*) FROM mirror"
                " WHERE target = 'google' GROUP BY kind, archived, suspended_at IS NOT NULL"
            ).fetchall()
        }
        google_links = dict(
            db.execute(
                "SELECT kind, COUNT(*) FROM mirror_links WHERE target = 'google' GROUP BY kind"
            ).fetchall()
        )
        db.close()

        cfg = tomllib.loads((workdir / "ess.toml").read_text())
        ms = cfg["tenants"]["demo"]["targets"]["microsoft"]
        base = ms["graph_url"].rsplit("/v1.0", 1)[0]
        ctx = ssl.create_default_context(cafile=ms["verify"])
        state = httpx.get(f"{base}/_sandbox/state", verify=ctx, timeout=30).json()
        users = state["users"]
        enabled = [u for u in users if u.get("accountEnabled") is not False]
        assert len(enabled) == mirror["user"]
        assert len(users) - len(enabled) == suspended > 0  # the term's leavers are disabled
        classes = [g for g in state["groups"] if g.get("isClass")]
        assert len(classes) == mirror["class"]
        assert len(state["teams"]) == mirror["team"]
        assert any(t["isArchived"] for t in state["teams"])  # the term ended some groups
        assert len(state["schools"]) == mirror["school"]
        # the SCIM service (scim2-server) holds what the journal says ESS made there
        sc = cfg["tenants"]["demo"]["targets"]["scim"]
        sctx = ssl.create_default_context(cafile=sc["verify"])
        inspect = sc["base_url"].rsplit("/v2", 1)[0] + "/_sandbox/state"
        scim_state = httpx.get(inspect, verify=sctx, timeout=30).json()["resources"]
        active = [u for u in scim_state.get("User", []) if u.get("active") is not False]
        assert len(active) == scim["user"] > 0
        assert len(scim_state.get("Group", [])) == scim["group"]
        blob = str(scim_state)
        assert not any(len(tok) == 12 and tok.isdigit() for tok in blob.replace('"', " ").split())
        # no personnummer went to the target
        blob = str(state)
        assert not any(len(tok) == 12 and tok.isdigit() for tok in blob.replace('"', " ").split())

        # the same tenant, side by side, in the Google sandbox
        gw = cfg["tenants"]["demo"]["targets"]["google"]
        gctx = ssl.create_default_context(cafile=gw["verify"])
        gstate = httpx.get(f"{gw['root_url']}_sandbox/state", verify=gctx, timeout=30).json()
        accounts = [u for u in gstate["users"] if not u["isAdmin"]]
        assert sum(1 for u in accounts if not u["suspended"]) == google[("user", False, False)]
        assert sum(1 for u in accounts if u["suspended"]) == google[("user", False, True)] > 0
        courses = gstate["courses"]
        active = [c for c in courses if c["courseState"] == "ACTIVE"]
        assert len(active) == google[("course", False, False)]
        assert len(courses) == mirror["class"]  # a Classroom course for each Class Team
        archived = [c for c in courses if c["courseState"] == "ARCHIVED"]
        assert len(archived) == google[("course", True, False)] > 0  # the term ended some
        assert all(c["aliases"][0].startswith("d:") for c in courses)
        # an archived course keeps its roster, in Classroom and in the mirror alike
        assert sum(len(c["students"]) for c in courses) == google_links["course.student"]
        assert sum(len(c["teachers"]) for c in courses) == google_links["course.teacher"]
        groups = gstate["groups"]  # a group of each school's students and one of its staff
        assert len(groups) == google[("student_group", False, False)] * 2 == mirror["school"] * 2
        assert sum(len(g["members"]) for g in groups) == (
            google_links["student_group.member"] + google_links["staff_group.member"]
        )
        gblob = str(gstate).replace('"', " ")
        assert not any(len(tok) == 12 and tok.isdigit() for tok in gblob.split())
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            code = proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise
    assert code == 0, "".join(out)
