"""Runs under faults, as an operator would meet them: both sandboxes started with `ess sandbox`
and a fault rate, then synced until the faults stop and the runs converge.

Prints each run's status and counts, then what the Microsoft sandbox holds: objects that share a
natural key (schools, classes and users by externalId, classes made again under a `-2`
nickname), class members the journal's mirror says are there but the service does not hold,
and how many operations a dry run plans once it is over (0 when the target is in step).

    .venv/bin/python benchmarks/fault_runs.py --fault-rate 0.1
    .venv/bin/python benchmarks/fault_runs.py --fault-rate 0.3 --fault-runs 6
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import ssl
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any
from urllib.request import Request, urlopen

from engine.ops import Ops

TENANT = "t1"


def start(*args: str) -> tuple[subprocess.Popen[str], dict[str, Any]]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "console.cli", "sandbox", *args, "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line:
        raise SystemExit(f"sandbox {args[0]} did not start")
    return proc, json.loads(line)


def call(url: str, ca: str | None, body: dict[str, Any] | None = None) -> Any:
    ctx = ssl.create_default_context(cafile=ca) if ca else None
    data = json.dumps(body).encode() if body is not None else None
    req = Request(url, data=data, headers={"Content-Type": "application/json"})
    with urlopen(req, context=ctx, timeout=30) as resp:
        return json.loads(resp.read())


def write_config(folder: Path, ss: dict[str, Any], ms: dict[str, Any]) -> Path:
    (folder / "ss-secret").write_text(ss["client_secret"])
    (folder / "ms-secret").write_text(ms["client_secret"])
    path = folder / "ess.toml"
    path.write_text(
        f"""[journal]
path = "ess.db"

[tenants.{TENANT}]
source = {{ type = "ss12000", base_url = "{ss["base_url"]}", token_url = "{ss["token_url"]}", \
client_id = "{ss["client_id"]}", client_secret = "file:ss-secret" }}

[tenants.{TENANT}.policy]
retry_base_s = 0.2
retry_max_s = 5.0

[tenants.{TENANT}.targets.microsoft]
type = "microsoft"
tenant_id = "{ms["tenant_id"]}"
client_id = "{ms["client_id"]}"
client_secret = "file:ms-secret"
authority = "{ms["authority"]}"
graph_url = "{ms["graph_url"]}"
verify = "{ms["ca_path"]}"
domain = "demo.skola.se"
team_poll_interval_s = 0.5
team_retry_s = 1.0
consistency_window_s = 5
""",
        encoding="utf-8",
    )
    return path


def duplicates(state: dict[str, Any]) -> dict[str, int]:
    schools = Counter(s.get("externalId") for s in state["schools"])
    classes = Counter(
        (g.get("education") or {}).get("externalId") for g in state["groups"] if g["isClass"]
    )
    users = Counter(u.get("userPrincipalName") for u in state["users"])
    nicknames = {g.get("mailNickname") for g in state["groups"]}
    variants = sum(
        1 for n in nicknames if isinstance(n, str) and n[-2:] == "-2" and n[:-2] in nicknames
    )
    return {
        "schools sharing an externalId": sum(n - 1 for n in schools.values() if n > 1),
        "classes sharing an externalId": sum(n - 1 for n in classes.values() if n > 1),
        "users sharing a userPrincipalName": sum(n - 1 for n in users.values() if n > 1),
        "classes made again as a -2 variant": variants,
    }


async def mirror_members(config: Path) -> set[tuple[str, str]]:
    """(class id, user id) pairs the journal's mirror says the service holds."""
    import sqlite3

    db = config.parent / "ess.db"
    with sqlite3.connect(db) as conn:
        ids = dict(conn.execute("SELECT kind || ':' || key, target_id FROM mirror").fetchall())
        rows = conn.execute(
            "SELECT kind, parent, child FROM mirror_links WHERE kind IN "
            "('class.member', 'class.teacher')"
        ).fetchall()
    out = set()
    for _kind, parent, child in rows:
        cid, uid = ids.get(f"class:{parent}"), ids.get(f"user:{child}")
        if cid and uid:
            out.add((cid, uid))
    return out


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--fault-rate", type=float, default=0.1)
    ap.add_argument("--fault-runs", type=int, default=2, help="runs while the faults are on")
    ap.add_argument("--settle-runs", type=int, default=3, help="runs allowed to converge after")
    ap.add_argument("--size", default="small")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    rate = str(args.fault_rate)
    ss_proc, ss = start(
        "ss12000", "--size", args.size, "--seed", str(args.seed), "--fault-rate", rate
    )
    ms_proc, ms = start(
        "microsoft",
        "--fault-rate",
        rate,
        "--set",
        "timeout_hang_s=3",
        "--set",
        "propagation_delay_s=1",
    )
    try:
        with tempfile.TemporaryDirectory() as tmp:
            config = write_config(Path(tmp), ss, ms)
            os.chdir(tmp)
            print(f"fault rate {args.fault_rate:.0%} on both sandboxes")
            async with await Ops.open(config, actor="bench:faults") as ops:
                for _ in range(args.fault_runs):
                    t = time.monotonic()
                    run = await ops.sync(TENANT)
                    took = time.monotonic() - t
                    print(
                        f"  run {run.id} (faults on): {run.status} in {took:.0f} s, "
                        + ", ".join(
                            f"{k} {v}"
                            for k, v in sorted(run.counts.items())
                            if k
                            in (
                                "planned",
                                "done",
                                "failed",
                                "dead",
                                "blocked",
                                "pending",
                                "in_flight",
                            )
                        )
                    )
                call(f"{ms['inspect_url']}/settings", ms["ca_path"], {"fault_rate": 0})
                call(
                    f"{ss['base_url'].rsplit('/', 1)[0]}/_sandbox/settings", None, {"fault_rate": 0}
                )
                print("faults off")
                settled = None
                for n in range(args.settle_runs):
                    run = await ops.sync(TENANT)
                    print(
                        f"  run {run.id}: {run.status}, "
                        + ", ".join(
                            f"{k} {v}"
                            for k, v in sorted(run.counts.items())
                            if k in ("planned", "done", "failed", "dead", "blocked")
                        )
                    )
                    if run.status == "succeeded":
                        settled = n + 1
                        break
                dry = await ops.sync(TENANT, dry_run=True)
                print(
                    f"converged after {settled} run(s) without faults"
                    if settled
                    else "did not converge"
                )
                print(f"a dry run now plans {dry.counts.get('planned', 0)} operation(s)")
            state = call(f"{ms['inspect_url']}/state", ms["ca_path"])
            for what, n in duplicates(state).items():
                print(f"{what}: {n}")
            held = {
                (g["id"], m)
                for g in state["groups"]
                if g["isClass"]
                for m in (*g["members"], *g["owners"])
            }
            claimed = await mirror_members(config)
            print(
                f"class members the journal says are there but the service lacks: "
                f"{len(claimed - held)} of {len(claimed)}"
            )
    finally:
        for proc in (ss_proc, ms_proc):
            proc.terminate()
            proc.wait(timeout=10)


if __name__ == "__main__":
    asyncio.run(main())
