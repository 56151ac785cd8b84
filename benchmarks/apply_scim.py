"""Apply benchmark of the SCIM target against scim2-server (the SCIM sandbox) over loopback.

A sample municipality (SS 12000 folder) is synced through the engine (``engine.ops``) into the
sandbox, for each profile (``core``, ``egil``), with Bulk (as the service offers it) and without
(a service offering no Bulk); then the sample advances one term and is synced again. For each
run it prints:

* requests issued (the service's own count, discovery and listings included) / the minimum the
  profile and the service's capabilities allow (goal <= 1.05): discovery (3 reads once per run),
  one listing page per ``page_size`` resources of each kind of the profile (the run's one read
  of the service: drift, and for ``core`` its create-if-absent index and ETag versions; an
  empty kind is one page), one write per object change, one PATCH per
  group per ``members_per_patch`` member changes (``core``); with Bulk, object writes of one
  kind and action in Bulk requests of the service's ``maxOperations``;
* the requests of the next-term sync;
* the wall time of a naive client (one request per change, in sequence, no look-ups) / ESS's.
  The naive client is measured on up to ``--naive-limit`` changes and extrapolated.

    .venv/bin/python benchmarks/apply_scim.py --size small
    .venv/bin/python benchmarks/apply_scim.py            # medium: 15,000 pupils (long)
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import ssl
import tempfile
import time
from collections import defaultdict
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import httpx

from adapters.scim.mapping import GROUP_MEMBER, resource_body
from adapters.scim.profiles import PROFILES
from adapters.scim.sandbox import SandboxSettings, ScimSandbox
from adapters.scim.target import ScimTarget
from adapters.ss12000.sample.command import SAMPLE
from engine.config import load
from engine.model import Snapshot
from engine.ops import Ops
from engine.plan import Action, Plan
from engine.planner import PlanInput, plan
from engine.plugins import SampleRequest
from engine.secrets import SecretResolver
from engine.target import DesiredState, ObservedState
from engine.testing.mirror import mirror_of

TOKEN_ENV = "ESS_BENCH_SCIM_TOKEN"
TENANT = "bench"
PAGE = 500
MEMBERS_PER_PATCH = 100


def write_config(
    workdir: Path, sb: ScimSandbox, data: Path, profile: str, bulk: int, timeout_s: float
) -> Path:
    info = sb.info
    text = f"""[journal]
path = "ess.db"

[tenants.{TENANT}]
source = {{ type = "ss12000", path = "{data}" }}

[tenants.{TENANT}.targets.scim]
type = "scim"
base_url = "{info.base_url}"
profile = "{profile}"
token = "env:{TOKEN_ENV}"
verify = "{info.ca_path}"
page_size = {PAGE}
members_per_patch = {MEMBERS_PER_PATCH}
bulk_size = {bulk}
timeout_s = {timeout_s}
max_concurrency = 8

[tenants.{TENANT}.policy.guard]
objects = {{ share = 1.0, count = 1000000 }}
links = {{ share = 1.0, count = 1000000 }}
"""
    path = workdir / "ess.toml"
    path.write_text(text, encoding="utf-8")
    return path


async def engine_sync(config: Path) -> float:
    started = time.monotonic()
    async with await Ops.open(config, actor="benchmark") as ops:
        summary = await ops.sync(TENANT)
        if summary.status == "held":
            summary = await ops.approve(summary.id, reason="benchmark")
    elapsed = time.monotonic() - started
    print(f"    run {summary.status}: {summary.counts}, wall time {elapsed:.1f} s")
    return elapsed


def the_plan(target: ScimTarget, desired: DesiredState, before: ObservedState) -> Plan:
    return plan(PlanInput("scim", target.kinds, target.links, desired, before, datetime.now(UTC)))


def minimum_requests(p: Plan, before: ObservedState, profile: str, bulk_max: int) -> int:
    """What the profile and the capabilities cannot avoid (see the module's docstring)."""
    reads = 3
    objects: dict[tuple[str, Action], int] = defaultdict(int)
    members: dict[str, int] = defaultdict(int)
    for op in p.operations:
        if op.kind == GROUP_MEMBER:
            members[op.parent or ""] += 1
        else:
            objects[(op.kind, op.action)] += 1
    for kind in PROFILES[profile]:  # the run's one listing: drift, index and versions
        held = len(before.objects.get(kind, {}))
        reads += max(1, math.ceil(held / PAGE))
    if bulk_max:
        writes = sum(math.ceil(n / bulk_max) for n in objects.values())
    else:
        writes = sum(objects.values())
    writes += sum(math.ceil(n / MEMBERS_PER_PATCH) for n in members.values())
    return reads + writes


async def naive(sb: ScimSandbox, target: ScimTarget, p: Plan, limit: int) -> float:
    """One request per change, in sequence, against an emptied service; extrapolated."""
    sb.clear()
    info = sb.info
    specs = PROFILES[target.profile]
    ids: dict[str, str] = {}
    work = [op for op in p.operations]
    async with httpx.AsyncClient(
        base_url=info.base_url,
        verify=ssl.create_default_context(cafile=info.ca_path),
        headers={"Authorization": f"Bearer {info.bearer_token}"},
    ) as client:
        started = time.monotonic()
        done = 0
        for op in work[:limit]:
            if op.kind == GROUP_MEMBER:
                group, user = ids.get(op.parent or ""), ids.get(op.key)
                body = {
                    "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                    "Operations": [{"op": "add", "path": "members", "value": [{"value": user}]}],
                }
                await client.patch(f"/Groups/{group}", json=body)
            else:
                spec = specs[op.kind]
                made = await client.post(spec.endpoint, json=resource_body(spec, dict(op.attrs)))
                if made.status_code == 201:
                    ids[op.key] = made.json()["id"]
            done += 1
        elapsed = time.monotonic() - started
    sb.clear()
    if done == 0:
        return 0.0
    return elapsed if done == len(work) else elapsed * len(work) / done


def by_request(sb: ScimSandbox) -> dict[str, int]:
    """Requests the service served, by method and endpoint."""
    out: dict[str, int] = defaultdict(int)
    for method, path, _ in sb.peer.counted.log:
        endpoint = "/" + path.strip("/").split("/")[0]
        out[f"{method} {endpoint}"] += 1
    return dict(sorted(out.items()))


def snapshot_of(data: Path, day: date) -> Snapshot:
    from adapters.ss12000.source import SS12000Source
    from engine.source import CachedSource, SourceContext

    source = SS12000Source.from_config({"type": "ss12000", "path": str(data)}, SecretResolver())

    class _Cache:
        async def load(self) -> Any:
            return CachedSource({}, None, None)

        async def save(self, **kw: Any) -> None:
            return None

    async def read() -> Snapshot:
        try:
            result = await source.read(SourceContext(TENANT, _Cache(), day), full=True)
        finally:
            await source.aclose()
        return result.snapshot

    return asyncio.run(read())


def one(profile: str, bulk: bool, args: argparse.Namespace) -> None:
    workdir = Path(tempfile.mkdtemp(prefix="ess-bench-scim-"))
    data = workdir / "data"
    day = date.today()
    SAMPLE.run(SampleRequest(out=data, size=args.size, seed=args.seed, as_of=day.isoformat()))
    settings = SandboxSettings(
        profile=profile, bulk=bulk, latency_ms=args.latency_ms, seed=args.seed
    )
    label = f"{profile}, {'with' if bulk else 'without'} Bulk"
    with ScimSandbox(settings=settings) as sb:
        os.environ[TOKEN_ENV] = sb.info.bearer_token
        bulk_max = settings.bulk_max_operations if bulk else 0
        # the minimum counts Bulk requests of the service's maxOperations; ESS sends them of
        # --bulk-size (its default, 100, unless told), within --timeout-s each
        config = write_config(workdir, sb, data, profile, args.bulk_size, args.timeout_s)
        cfg = load(config)
        tenant = cfg.tenant(TENANT)
        target = ScimTarget.from_config(
            "scim", dict(tenant.targets["scim"]), tenant.policy, cfg.secrets()
        )
        snap1 = snapshot_of(data, day)
        desired1 = target.desired(snap1)
        p1 = the_plan(target, desired1, ObservedState({}, {}))
        print(f"  {label}: first sync, {len(p1.operations)} changes")
        ess_s = asyncio.run(engine_sync(config))
        first = sb.stats().requests
        minimum = minimum_requests(p1, ObservedState({}, {}), profile, bulk_max)
        print(
            f"    requests {first} / minimum {minimum} = {first / minimum:.3f}"
            f"  (Bulk requests {sb.stats().bulk_requests})"
        )
        print(f"    by request: {by_request(sb)}; by status: {sb.stats().by_status}")
        SAMPLE.run(SampleRequest(out=data, advance="term"))
        snap2 = snapshot_of(data, day)
        before = mirror_of(desired1)
        p2 = the_plan(target, target.desired(snap2), before)
        sb.reset_stats()
        asyncio.run(engine_sync(config))
        second = sb.stats().requests
        minimum2 = minimum_requests(p2, before, profile, bulk_max)
        print(
            f"    next term: {len(p2.operations)} changes, requests {second} / minimum "
            f"{minimum2} = {second / max(1, minimum2):.3f}"
        )
        naive_s = asyncio.run(naive(sb, target, p1, args.naive_limit))
        print(f"    naive client {naive_s:.1f} s / ESS {ess_s:.1f} s = {naive_s / ess_s:.1f}x")
        asyncio.run(target.aclose())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", default="medium", help="small, medium, large or a pupil count")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--latency-ms", type=float, default=5.0)
    parser.add_argument("--naive-limit", type=int, default=3000)
    parser.add_argument("--profile", choices=("core", "egil"), action="append")
    parser.add_argument("--bulk", choices=("both", "on", "off"), default="both")
    parser.add_argument("--bulk-size", type=int, default=100, help="ESS's bulk_size")
    parser.add_argument("--timeout-s", type=float, default=30.0, help="ESS's timeout_s")
    args = parser.parse_args()
    print(f"sample {args.size}, latency {args.latency_ms} ms")
    variants = {"both": (True, False), "on": (True,), "off": (False,)}[args.bulk]
    for profile in args.profile or ("core", "egil"):
        for bulk in variants:
            one(profile, bulk, args)


if __name__ == "__main__":
    main()
