"""Plan a municipality's sync and print where the time and memory go.

Phases: parse and map the SS 12000 pages into the model, validate, the Microsoft target's
desired state, and the diff against an empty mirror (the first sync) and against a mirror that
already holds everything (a run with no change, which must plan zero operations). Beside them
stands the floor: the time to merely parse the same JSON into plain Python values with the fastest
parser here (orjson or msgspec, whichever is quicker on this machine).

    python benchmarks/plan.py --size large          # generates into benchmarks/out/ once
    python benchmarks/plan.py --size medium --json  # one JSON line, for scripts
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import multiprocessing
import resource
import sys
import time
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import orjson

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from adapters.ss12000.sample.dataset import ENTITIES, write_dataset  # noqa: E402
from adapters.ss12000.sample.generate import generate  # noqa: E402
from engine.config import TenantPolicy  # noqa: E402
from engine.perf import gc_paused  # noqa: E402
from engine.planner import PlanInput, plan  # noqa: E402
from engine.secrets import SecretResolver  # noqa: E402
from engine.source import CachedSource, SourceContext  # noqa: E402
from engine.testing.mirror import mirror_of  # noqa: E402
from engine.validate import blocked_ids, validate  # noqa: E402

AS_OF = date(2026, 10, 5)


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class NoCache:
    async def load(self) -> CachedSource:
        return CachedSource({}, None, None)

    async def save(self, **_: Any) -> None:
        return None


def ensure_dataset(size: str, seed: int) -> Path:
    out = ROOT / "benchmarks" / "out" / f"municipality-{size}-{seed}"
    if not (out / "manifest.json").exists():
        t = time.perf_counter()
        write_dataset(generate(size, seed, AS_OF), out)
        print(f"generated {size} into {out} in {time.perf_counter() - t:.1f} s", file=sys.stderr)
        gc.collect()
    return out


def floor_parse(folder: Path) -> tuple[float, int, str]:
    """The fastest this machine merely parses the pages: orjson or msgspec into plain Python
    values (whichever is quicker), collector paused, best of three.

    Run in a child process (see :func:`floor_in_child`), so that the two gigabytes of dicts it
    makes do not count towards the plan's peak memory."""
    import msgspec

    parsers = {"orjson": orjson.loads, "msgspec": msgspec.json.Decoder().decode}
    best, fastest, total_bytes = float("inf"), "", 0
    for name, parse in parsers.items():
        for _ in range(3):
            total_bytes = 0
            with gc_paused():
                t = time.perf_counter()
                for entity in ENTITIES:
                    data = (folder / f"{entity}.json").read_bytes()
                    total_bytes += len(data)
                    parse(data)
                    del data
                took = time.perf_counter() - t
            gc.unfreeze()
            gc.collect()
            if took < best:
                best, fastest = took, name
    return best, total_bytes, fastest


def floor_in_child(folder: Path) -> tuple[float, int, str]:
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(1) as pool:
        return pool.apply(floor_parse, (folder,))


def microsoft_target() -> Any:
    from adapters.microsoft.target import MicrosoftTarget

    settings = {
        "type": "microsoft",
        "tenant_id": "bench",
        "client_id": "bench",
        "client_secret": "env:ESS_BENCH_UNUSED",
        "domain": "skola.example",
    }
    return MicrosoftTarget.from_config(
        "microsoft", settings, TenantPolicy(), SecretResolver(environ={"ESS_BENCH_UNUSED": "x"})
    )


def run(size: str, seed: int) -> dict[str, Any]:
    from adapters.ss12000.source import SS12000Source

    folder = ensure_dataset(size, seed)
    floor_s, nbytes, parser = floor_in_child(folder)
    figures: dict[str, Any] = {
        "size": size,
        "json_mb": round(nbytes / 2**20, 1),
        "floor_parse_s": round(floor_s, 2),
        "floor_parser": parser,
    }

    source = SS12000Source.from_config(
        {"type": "ss12000", "path": str(folder)}, SecretResolver(base_dir=folder)
    )
    ctx = SourceContext(tenant="bench", cache=NoCache(), today=AS_OF)
    t = time.perf_counter()
    read = asyncio.run(source.read(ctx, full=True))
    figures["parse_map_s"] = round(time.perf_counter() - t, 2)
    figures["peak_mb_after_parse"] = round(peak_mb())
    snap = read.snapshot
    figures["counts"] = snap.counts()

    t = time.perf_counter()
    with gc_paused():  # as the engine's runner does
        findings = list(read.findings) + validate(snap)
        s_ids, p_ids, g_ids = blocked_ids(findings)
        snap = snap.without(schools=s_ids, persons=p_ids, groups=g_ids)
    figures["validate_s"] = round(time.perf_counter() - t, 2)
    figures["findings"] = len(findings)

    target = microsoft_target()
    t = time.perf_counter()
    with gc_paused():
        desired = target.desired(snap)
    figures["desired_s"] = round(time.perf_counter() - t, 2)
    figures["desired"] = desired.count()
    figures["peak_mb_after_desired"] = round(peak_mb())

    from engine.target import ObservedState

    now = datetime.now(UTC)
    t = time.perf_counter()
    with gc_paused():
        first = plan(
            PlanInput("microsoft", target.kinds, target.links, desired, ObservedState({}, {}), now)
        )
    figures["diff_first_sync_s"] = round(time.perf_counter() - t, 2)
    figures["ops_first_sync"] = len(first)
    figures["link_runs_first_sync"] = len(first.links)
    figures["peak_mb_first_sync"] = round(peak_mb())
    # Not part of the plan: what storing it adds, writing every link operation out once.
    t = time.perf_counter()
    with gc_paused():
        written = sum(1 for _ in first.iter_operations(id_base=0))
    figures["write_out_s"] = round(time.perf_counter() - t, 2)
    assert written == figures["ops_first_sync"]
    del first
    gc.collect()
    full = mirror_of(desired)
    t = time.perf_counter()
    with gc_paused():
        again = plan(PlanInput("microsoft", target.kinds, target.links, desired, full, now))
    figures["diff_no_change_s"] = round(time.perf_counter() - t, 2)
    figures["ops_no_change"] = len(again)
    figures["peak_mb"] = round(peak_mb())
    whole = (
        figures["parse_map_s"]
        + figures["validate_s"]
        + figures["desired_s"]
        + figures["diff_first_sync_s"]
    )
    figures["plan_total_s"] = round(whole, 2)
    figures["plan_over_floor"] = round(whole / floor_s, 2)
    figures["no_change_total_s"] = round(
        whole - figures["diff_first_sync_s"] + figures["diff_no_change_s"], 2
    )
    return figures


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", default="large", help="small, medium, large or a pupil count")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--json", action="store_true", help="print one JSON line")
    args = ap.parse_args()
    figures = run(args.size, args.seed)
    if args.json:
        print(json.dumps(figures))
        return
    print(f"municipality {figures['size']}: {figures['counts']}")
    print(f"JSON on disk                {figures['json_mb']:>10} MB")
    print(
        f"floor: parse only           {figures['floor_parse_s']:>10} s   "
        f"({figures['floor_parser']}, the quicker of orjson and msgspec)"
    )
    print(f"parse and map to the model  {figures['parse_map_s']:>10} s")
    print(
        f"validate                    {figures['validate_s']:>10} s   "
        f"({figures['findings']} findings)"
    )
    print(f"desired state (Microsoft)   {figures['desired_s']:>10} s   {figures['desired']}")
    print(
        f"diff, first sync            {figures['diff_first_sync_s']:>10} s   "
        f"({figures['ops_first_sync']} operations)"
    )
    print(
        f"  then written out to store {figures['write_out_s']:>10} s   "
        f"(from {figures['link_runs_first_sync']} link runs; the journal does this, not the plan)"
    )
    print(
        f"diff, no change             {figures['diff_no_change_s']:>10} s   "
        f"({figures['ops_no_change']} operations)"
    )
    print(
        f"whole plan (first sync)     {figures['plan_total_s']:>10} s   "
        f"= {figures['plan_over_floor']} x the floor"
    )
    print(f"whole plan (no change)      {figures['no_change_total_s']:>10} s")
    print(f"peak memory, first sync     {figures['peak_mb_first_sync']:>10} MB")
    print(f"peak memory, with a mirror  {figures['peak_mb']:>10} MB   (max RSS; floor not counted)")


if __name__ == "__main__":
    main()
