"""Plan a municipality's sync and print where the time and memory go.

Phases: parse and map the SS 12000 pages into the model, validate (control characters out,
field limits, the model's rules), the Microsoft target's desired state, and the diff against an
empty mirror (the first sync) and against a mirror that already holds everything (a run with no
change, which must plan zero operations). Beside them stands the floor: the time to merely
parse the same JSON into plain Python values with the fastest parser here (orjson or msgspec,
whichever is quicker on this machine).

A shared machine's speed drifts by a third from one second to the next, so the floor and the
plan are measured in rounds: each round parses the floor (orjson, then msgspec) and then plans,
each in a fresh process, so that all of them meet the machine as it is and start from an
empty heap. The summary sets the best plan against the best
floor (the floor has always been a best-of figure) and shows every round's own ratio beside it.

    python benchmarks/plan.py --size large              # generates into benchmarks/out/ once
    python benchmarks/plan.py --size medium --rounds 5
    python benchmarks/plan.py --size large --no-helper  # the folder read in one process
    python benchmarks/plan.py --size medium --json      # one JSON line, for scripts
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
from engine.limits import strictest  # noqa: E402
from engine.perf import gc_paused  # noqa: E402
from engine.planner import PlanInput, plan  # noqa: E402
from engine.secrets import SecretResolver  # noqa: E402
from engine.source import CachedSource, SourceContext  # noqa: E402
from engine.testing.mirror import mirror_of  # noqa: E402
from engine.validate import blocked_ids, check_read  # noqa: E402

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


def floor_parse(folder: Path, parser: str) -> tuple[float, int]:
    """The time ``parser`` (orjson or msgspec) takes to merely parse the pages into plain
    Python values, collector paused, and the bytes it parsed.

    Run in a fresh process of its own (see :func:`in_child`), as the plan is: a parse that
    follows another in the same process finds its heap already grown and is quicker than a
    plan can be. The two gigabytes of dicts count towards nobody's peak memory."""
    import msgspec

    parse = orjson.loads if parser == "orjson" else msgspec.json.Decoder().decode
    total_bytes = 0
    with gc_paused():
        t = time.perf_counter()
        for entity in ENTITIES:
            data = (folder / f"{entity}.json").read_bytes()
            total_bytes += len(data)
            parse(data)
            del data
        took = time.perf_counter() - t
    return took, total_bytes


def in_child(fn: Any, *args: Any) -> Any:
    """``fn(*args)`` in a fresh process."""
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(1) as pool:
        return pool.apply(fn, args)


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


def plan_round(size: str, seed: int, helper: bool = True) -> dict[str, Any]:
    """One plan of the municipality, phase by phase (run in a fresh process)."""
    from adapters.ss12000.source import SS12000Source

    folder = ensure_dataset(size, seed)
    figures: dict[str, Any] = {}
    source = SS12000Source.from_config(
        {"type": "ss12000", "path": str(folder), "parallel_read": helper},
        SecretResolver(base_dir=folder),
    )
    ctx = SourceContext(tenant="bench", cache=NoCache(), today=AS_OF)
    t = time.perf_counter()
    read = asyncio.run(source.read(ctx, full=True))
    figures["parse_map_s"] = round(time.perf_counter() - t, 2)
    figures["peak_mb_after_parse"] = round(peak_mb())
    figures["helper_peak_mb"] = read.stats.get("helper_peak_mb", 0)
    snap = read.snapshot
    figures["counts"] = snap.counts()

    target = microsoft_target()
    t = time.perf_counter()
    with gc_paused():  # as the engine's runner does
        limits = strictest([("microsoft", target.field_limits)])
        snap, findings = check_read(snap, read.findings, limits, source.rules)
        s_ids, p_ids, g_ids = blocked_ids(findings)
        snap = snap.refusing(schools=s_ids, persons=p_ids, groups=g_ids)
    figures["validate_s"] = round(time.perf_counter() - t, 2)
    figures["findings"] = len(findings)

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
    figures["no_change_total_s"] = round(
        whole - figures["diff_first_sync_s"] + figures["diff_no_change_s"], 2
    )
    return figures


def run(size: str, seed: int, rounds: int, helper: bool = True) -> dict[str, Any]:
    """``rounds`` rounds of the floor and then the plan, each in a fresh process."""
    folder = ensure_dataset(size, seed)
    done: list[dict[str, Any]] = []
    for n in range(1, rounds + 1):
        parses = {name: in_child(floor_parse, folder, name) for name in ("orjson", "msgspec")}
        parser = min(parses, key=lambda name: parses[name][0])
        floor_s, nbytes = parses[parser]
        figures = in_child(plan_round, size, seed, helper)
        figures.update(
            floor_parse_s=round(floor_s, 2),
            floor_parser=parser,
            json_mb=round(nbytes / 2**20, 1),
            plan_over_floor=round(figures["plan_total_s"] / floor_s, 2),
        )
        print(
            f"round {n}: floor {floor_s:.2f} s ({parser}), plan {figures['plan_total_s']} s"
            f" = {figures['plan_over_floor']} x",
            file=sys.stderr,
        )
        done.append(figures)
    best = min(done, key=lambda f: f["plan_total_s"])
    floor = min(done, key=lambda f: f["floor_parse_s"])
    summary = dict(best)
    summary.update(
        size=size,
        rounds=done,
        floor_parse_s=floor["floor_parse_s"],
        floor_parser=floor["floor_parser"],
        plan_over_floor=round(best["plan_total_s"] / floor["floor_parse_s"], 2),
        round_ratios=[f["plan_over_floor"] for f in done],
        peak_mb_both=max(f["peak_mb"] + f["helper_peak_mb"] for f in done),
    )
    return summary


def _span(figures: dict[str, Any], key: str) -> str:
    values = [f[key] for f in figures["rounds"]]
    return f"{min(values)}-{max(values)}" if len(values) > 1 else ""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", default="large", help="small, medium, large or a pupil count")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--json", action="store_true", help="print one JSON line")
    ap.add_argument("--rounds", type=int, default=3, help="floor-then-plan rounds (default 3)")
    ap.add_argument(
        "--no-helper",
        action="store_true",
        help="read the folder in one process (the source's parallel_read = false)",
    )
    args = ap.parse_args()
    figures = run(args.size, args.seed, max(1, args.rounds), not args.no_helper)
    if args.json:
        print(json.dumps(figures))
        return
    n = len(figures["rounds"])
    print(f"municipality {figures['size']}: {figures['counts']}")
    print(f"JSON on disk                {figures['json_mb']:>10} MB")
    print(f"{n} round(s): the best plan, and in brackets the range over the rounds")
    print(
        f"floor: parse only           {figures['floor_parse_s']:>10} s   "
        f"({figures['floor_parser']}, the quicker of orjson and msgspec; best round) "
        f"[{_span(figures, 'floor_parse_s')}]"
    )
    rows = [
        ("parse and map to the model", "parse_map_s", ""),
        ("validate", "validate_s", f"{figures['findings']} findings"),
        ("desired state (Microsoft)", "desired_s", str(figures["desired"])),
        ("diff, first sync", "diff_first_sync_s", f"{figures['ops_first_sync']} operations"),
        (
            "  then written out to store",
            "write_out_s",
            f"from {figures['link_runs_first_sync']} link runs; the journal does this, "
            "not the plan",
        ),
        ("diff, no change", "diff_no_change_s", f"{figures['ops_no_change']} operations"),
    ]
    for label, key, note in rows:
        print(f"{label:<28}{figures[key]:>10} s   [{_span(figures, key)}] {note}")
    print(
        f"whole plan (first sync)     {figures['plan_total_s']:>10} s   "
        f"= {figures['plan_over_floor']} x the best floor "
        f"[{_span(figures, 'plan_total_s')}; each round: "
        f"{', '.join(f'{r} x' for r in figures['round_ratios'])}]"
    )
    print(f"whole plan (no change)      {figures['no_change_total_s']:>10} s")
    print(f"peak memory, first sync     {figures['peak_mb_first_sync']:>10} MB")
    print(f"peak memory, with a mirror  {figures['peak_mb']:>10} MB   (max RSS of the plan)")
    print(
        f"peak memory, read helper    {figures['helper_peak_mb']:>10} MB   "
        f"(plan and helper together at most {figures['peak_mb_both']} MB)"
    )


if __name__ == "__main__":
    main()
